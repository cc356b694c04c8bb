#!/usr/bin/env bash
# Records survive a pod, run by scripts/test.sh: two supervisors share a bucket
# of a real S3-compatible server (moto in server mode, from PyPI, on
# 127.0.0.1); one is killed mid-trajectory and the other resumes it from the
# bucket (scripts/s3_records.py). The supervisor's S3 store is built by
# default (feature `s3`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$SECONDS

source scripts/ci-tools.sh
install_s3
install_pyclient_package   # the gRPC client
build_binaries
"$PYCLIENT_VENV/bin/python" scripts/s3_records.py --bin-dir "${CARGO_TARGET_DIR:-target}/debug" --moto "$S3_VENV/bin/moto_server" --s3-python "$S3_VENV/bin/python" \
  --histories demo/histories.jsonl
echo "test-s3: ok in $((SECONDS - start)) s"
