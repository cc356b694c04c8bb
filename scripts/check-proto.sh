#!/usr/bin/env bash
# Guards the v1 gRPC API (proto/), run by scripts/test.sh:
#   1. buf lint (STANDARD rules, proto/buf.yaml);
#   2. buf breaking (FILE rules) of the working tree against the previous
#      commit, so a renumbered, renamed or removed field fails CI.
# buf comes from the npm package @bufbuild/buf, installed under .tools/ once.
# The comparison needs the previous commit: CI clones with full history; in a
# shallow clone (or the first commit) the breaking check says so and is skipped.
# Against another base: BUF_AGAINST='.git#branch=main,subdir=proto' scripts/check-proto.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/ci-tools.sh
install_buf

"$BUF" lint proto
echo "buf lint: ok"

against=${BUF_AGAINST:-}
if [[ -z $against ]]; then
  if ! git rev-parse --verify --quiet HEAD~1 >/dev/null; then
    echo "buf breaking: skipped, no previous commit in this clone (shallow clone or first commit)" >&2
    exit 0
  fi
  # Only when the previous commit has the module (it is older than the API otherwise).
  if ! git cat-file -e HEAD~1:proto/productresearch 2>/dev/null; then
    echo "buf breaking: skipped, the previous commit has no proto/productresearch" >&2
    exit 0
  fi
  against=".git#ref=HEAD~1,subdir=proto"
fi
"$BUF" breaking proto --against "$against"
echo "buf breaking against $against: ok"
