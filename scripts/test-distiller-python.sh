#!/usr/bin/env bash
# The distiller's exports as trainers read them, run by scripts/test.sh:
#   1. a venv in .venvs/distiller with datasets, jinja2 and gguf (once, ~75 s);
#   2. a simulated run (productresearch run --simulated-llm) and
#      `productresearch distill` into all three formats;
#   3. scripts/check_sft_formats.py loads each JSONL with datasets.load_dataset
#      and renders the OpenAI examples through the Qwen chat template embedded in
#      the local model's GGUF (.models/, set up by scripts/setup-model.sh), or
#      Qwen2.5's template when there is none; tool calls and responses must render,
#      the Hermes texts must be the template's rendering byte for byte, and the
#      ShareGPT conversations must render alike through LLaMA-Factory's qwen
#      template and the chat template (PR_MODELS_DIR relocates .models).
# Idempotent; a second run skips the venv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/ci-tools.sh
install_distiller_python

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
build_binaries
BIN=$(realpath "${CARGO_TARGET_DIR:-target}")/debug/productresearch
"$BIN" run --simulated-llm --out "$WORK/run" >/dev/null 2>"$WORK/run.log" || { cat "$WORK/run.log"; exit 1; }
# Reflections by the (simulated) model, as `productresearch run` has them.
"$BIN" distill "$WORK/run/trajectories.jsonl" --out "$WORK/distilled" --format openai --format sharegpt --format hermes --explain \
  --reflect-with-model --simulated-llm

GGUF=$(ls "${PR_MODELS_DIR:-.models}"/*.gguf 2>/dev/null | head -1 || true)
"$DISTILLER_VENV/bin/python" scripts/check_sft_formats.py "$WORK/distilled" "$GGUF"
