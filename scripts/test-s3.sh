#!/usr/bin/env bash
# Records survive a pod, run by scripts/test.sh: two supervisors share a bucket
# of a real S3-compatible server (moto in server mode, from PyPI, on
# 127.0.0.1); one is killed mid-trajectory and the other resumes it from the
# bucket (scripts/s3_records.py). The supervisor's S3 store is built by
# default (feature `s3`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$SECONDS

VENV=.venvs/s3
if [[ ! -x $VENV/bin/moto_server ]]; then
  python3 -m venv "$VENV"
  # moto with its S3 backend and the server's own needs only (moto[server] pulls every AWS service's).
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[s3]==5.2.5" "flask==3.1.3" "flask-cors==6.0.5"
fi
# The gRPC client (scripts/test-python-client.sh made this venv).
PYVENV=.venvs/pyclient
# The same package set as test-python-client.sh: another set resolves other
# features and rebuilds shared crates (tantivy, jsonschema) for minutes.
cargo build --quiet --locked -p user-agent -p supervisor -p research-agent -p tool-gateway -p distiller -p productresearch-sim-llm
"$PYVENV/bin/python" scripts/s3_records.py --bin-dir "${CARGO_TARGET_DIR:-target}/debug" --moto "$VENV/bin/moto_server" --s3-python "$VENV/bin/python" \
  --histories demo/histories.jsonl
echo "test-s3: ok in $((SECONDS - start)) s"
