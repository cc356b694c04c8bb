#!/usr/bin/env bash
# The Python client (clients/python) against a running mesh, run by scripts/test.sh:
#   1. a venv in .venvs/pyclient with grpcio-tools and pytest (once);
#   2. generates the client's modules from proto/ and installs the package;
#   3. builds the five service binaries and the simulated model (debug);
#   4. pytest starts them on 127.0.0.1 (tests/conftest.py) and drives them,
#      from Python and with the README's buf curl examples.
# Idempotent; a second run only regenerates and re-runs the tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.venvs/pyclient
if [[ ! -x $VENV/bin/pytest ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "grpcio-tools==1.85.1" "grpcio-health-checking==1.85.1" "pytest==9.2.0" "setuptools>=69"
fi
"$VENV/bin/python" clients/python/generate.py
"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e clients/python

cargo build --quiet --locked -p user-agent -p supervisor -p research-agent -p tool-gateway -p distiller -p productresearch-sim-llm
# buf (for the README's buf curl examples) is installed by scripts/check-proto.sh.
PR_BUF=$PWD/.tools/node_modules/.bin/buf PR_BIN_DIR=$(realpath "${CARGO_TARGET_DIR:-target}")/debug "$VENV/bin/pytest" -q clients/python/tests "$@"
