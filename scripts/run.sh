#!/usr/bin/env bash
# The main job on a fresh clone (the README's first command): set up the local
# model when needed, build, and run the pipeline over the demo data into ./out.
# Extra arguments go to `productresearch run` (see `--help`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup-model.sh
cargo build --release --locked -p productresearch
exec "${CARGO_TARGET_DIR:-target}/release/productresearch" run "$@"
