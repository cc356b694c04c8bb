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

source scripts/ci-tools.sh
install_pyclient_package
install_buf   # for the README's buf curl examples

build_binaries
PR_BUF=$PWD/$BUF PR_BIN_DIR=$(realpath "${CARGO_TARGET_DIR:-target}")/debug "$PYCLIENT_VENV/bin/pytest" -q clients/python/tests "$@"
