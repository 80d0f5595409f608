#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for SECONDS (default 60), starting
# from the committed seed corpora (new inputs go to a scratch copy, not into the repository).
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
# FUZZ_RUNS=N (with FUZZ_SEED, default 1) runs N inputs per target instead, from a fixed seed:
# the same exploration every time, as CI needs (a time budget explores differently on every
# run) — but never longer than FUZZ_MAX_SECONDS (default 45) per target: a target that became
# slower per input (bigger inputs, a slower parser) must not make CI take an hour.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SECONDS_EACH=${1:-60}
shift || true
BUILD=${FUZZ_BUILD:-$HERE/../../build/fuzz}
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(request_parser reply_parser watch_decoder procwatcher info)

CXX=${FUZZ_CXX:-clang++} cmake -S "$HERE" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j "${JOBS:-2}" >/dev/null
status=0
: > "$BUILD/failed"  # one line per failed target, for dev.sh's closing summary
for t in "${TARGETS[@]}"; do
  scratch=$(mktemp -d)
  cp -r "$HERE/corpus/$t/." "$scratch/"
  [ -n "${FUZZ_RUNS:-}" ] || echo "fuzz: $t for ${SECONDS_EACH}s"
  if [ -n "${FUZZ_RUNS:-}" ]; then
    budget=(-runs="$FUZZ_RUNS" -seed="${FUZZ_SEED:-1}" -max_total_time="${FUZZ_MAX_SECONDS:-45}")
    echo "fuzz: $t, $FUZZ_RUNS inputs from seed ${FUZZ_SEED:-1} (at most ${FUZZ_MAX_SECONDS:-45}s)"
  else
    budget=(-max_total_time="$SECONDS_EACH")
  fi
  if ! "$BUILD/fuzz_$t" "${budget[@]}" -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$BUILD/crash-$t-" "$scratch" > "$BUILD/$t.log" 2>&1; then
    echo "fuzz: $t FAILED; see $BUILD/$t.log and the crash-$t-* artifact" >&2
    tail -20 "$BUILD/$t.log" >&2
    echo "$t" >> "$BUILD/failed"
    status=1
  else
    grep -E "stat::number_of_executed_units" "$BUILD/$t.log" | sed "s/^/fuzz: $t /"
  fi
  rm -rf "$scratch"
done
exit $status
