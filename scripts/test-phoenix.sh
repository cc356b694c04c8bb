#!/usr/bin/env bash
# Real OTLP backend: Arize Phoenix (PyPI `arize-phoenix`, in .venvs/phoenix) on
# 127.0.0.1 with a temporary working dir; a small simulated batch exports OTLP
# over gRPC to it; then Phoenix's own REST API must show each trajectory as one
# trace with the span tree of docs/telemetry.md and the GenAI attributes set.
# Clean install ~75 s (pip), re-run ~1 s; the batch and checks take seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/ci-tools.sh
install_phoenix

WORK="$(mktemp -d)"
PHOENIX_PID=""
cleanup() {
    if [ -n "$PHOENIX_PID" ]; then kill "$PHOENIX_PID" 2>/dev/null || true; wait "$PHOENIX_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { "$PHOENIX_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export PHOENIX_HOST=127.0.0.1 PHOENIX_PORT="$(free_port)" PHOENIX_GRPC_PORT="$(free_port)" PHOENIX_WORKING_DIR="$WORK/phoenix"
export PHOENIX_TELEMETRY_ENABLED=false   # no usage reporting: no network beyond loopback
"$PHOENIX_VENV/bin/phoenix" serve >"$WORK/phoenix.log" 2>&1 &
PHOENIX_PID=$!
for _ in $(seq 1 120); do
    if "$PHOENIX_VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PHOENIX_PORT/healthz', timeout=1)" 2>/dev/null; then break; fi
    if ! kill -0 "$PHOENIX_PID" 2>/dev/null; then cat "$WORK/phoenix.log"; echo "phoenix did not start" >&2; exit 1; fi
    sleep 0.5
done

build_binaries
BIN=$(realpath "${CARGO_TARGET_DIR:-target}")/debug/productresearch
head -n 2 demo/histories.jsonl >"$WORK/histories.jsonl"
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$PHOENIX_GRPC_PORT" "$BIN" run --simulated-llm \
    --histories "$WORK/histories.jsonl" --out "$WORK/out" --concurrency 2
"$PHOENIX_VENV/bin/python" scripts/check_phoenix_traces.py "http://127.0.0.1:$PHOENIX_PORT" "$WORK/out/trajectories.jsonl"
# `trace report` reads the same run back from the backend: the per-round table
# must equal the one from the run's own traces file.
"$BIN" trace report "http://127.0.0.1:$PHOENIX_PORT" --svg "$WORK/backend.svg" >"$WORK/backend.txt"
"$BIN" trace report "$WORK/out/traces.jsonl" --svg "$WORK/file.svg" >"$WORK/file.txt"
# Seconds columns aside (Phoenix keeps microseconds, the file nanoseconds).
counts() { awk -F'|' 'BEGIN { OFS = "|" } { $7 = $8 = $9 = ""; print }' "$1"; }
if ! diff <(counts "$WORK/file.txt") <(counts "$WORK/backend.txt"); then
    echo "trace report from the backend differs from the one from the traces file" >&2
    exit 1
fi
grep -q '^| 1 | 2 |' "$WORK/backend.txt" || { cat "$WORK/backend.txt"; echo "trace report from the backend has no round 1 of 2 trajectories" >&2; exit 1; }
echo "trace report: the backend's per-round table equals the traces file's"
