#!/usr/bin/env bash
# Every shell script of the project (by extension or by a bash/sh first line) passes shellcheck.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command -v shellcheck >/dev/null || { echo "shellcheck is not installed (Debian: shellcheck)" >&2; exit 1; }
scripts=()
while IFS= read -r -d '' f; do
  case "$f" in
    *.sh) scripts+=("$f") ;;
    *) if head -c 64 "$f" 2>/dev/null | head -1 | grep -qE '^#!.*\b(ba)?sh\b'; then scripts+=("$f"); fi ;;
  esac
done < <(find "$ROOT" -path "$ROOT/build" -prune -o -path "$ROOT/.git" -prune -o -type f -print0)
[ ${#scripts[@]} -gt 0 ] || { echo "no scripts found under $ROOT" >&2; exit 1; }
shellcheck -x "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"
