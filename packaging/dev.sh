#!/usr/bin/env bash
# The two quick-start commands of the README:
#
#   packaging/dev.sh up     install what is missing, build (Release), start the local service
#   packaging/dev.sh bench  install what is missing (twemproxy, HAProxy, ioredis and
#                           node-redis too), build (Release), run the proxy and failover
#                           benchmarks, write their tables into docs/benchmarks.md
#                           (--predixy PATH: predixy too)
#   packaging/dev.sh test   install what is missing, build, run every test
#                           (with CI=true or --asan: also an ASan+UBSan build of every test
#                           but the chaos suite;
#                           with CI=true or --tsan: a TSan build of the proxy, its tests and
#                           the chaos suite (--threads 2 under load);
#                           with CI=true or --fuzz[=SECONDS]: every libFuzzer target, 60 s each)
#
# Idempotent: a second run touches no package manager and rebuilds incrementally.
# Packages are installed with apt-get as root (no sudo); as another user, the missing ones are
# listed and the script stops.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=${JOBS:-2}
BUILD_PACKAGES=(cmake make g++ pkg-config git libboost1.81-dev libboost-program-options1.81-dev
                libhiredis-dev rapidjson-dev catch2 libssl-dev)
TEST_PACKAGES=(redis-server redis-sentinel redis-tools curl python3-redis shellcheck clang-format haproxy
               iptables openssl)
FUZZ_PACKAGES=(clang libclang-rt-14-dev)

say() { printf 'dev.sh: %s\n' "$*" >&2; }

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}

# Debian starts redis-server and redis-sentinel as services on install; rsm's tests never use
# them, and a stray server on 6379/26379 would only confuse. Stop and disable them.
stop_system_redis() {
  local svc
  for svc in redis-server redis-sentinel; do
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      systemctl disable --now "$svc" >/dev/null 2>&1 || true
    elif command -v service >/dev/null 2>&1; then
      service "$svc" stop >/dev/null 2>&1 || true
    fi
  done
  local pidfile
  for pidfile in /run/redis/redis-server.pid /run/sentinel/redis-sentinel.pid; do
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
  done
}

ensure_packages() {
  local missing
  missing=$(missing_packages "$@" | tr '\n' ' ')
  [ -z "${missing// /}" ] && return 0
  if [ "$(id -u)" != 0 ]; then
    say "missing Debian packages: $missing"
    say "install them as root: apt-get install $missing"
    exit 1
  fi
  say "installing: $missing"
  # policy-rc.d keeps the redis services from starting while apt installs them.
  local policy=/usr/sbin/policy-rc.d created=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    created=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null; }; then
    [ "$created" = 1 ] && rm -f "$policy"
    say "apt-get failed"
    exit 1
  fi
  [ "$created" = 1 ] && rm -f "$policy"
  stop_system_redis
}

# The client tier (tests/clients) runs Node.js clients from npm: node and npm, from Debian
# when the machine has neither (a NodeSource nodejs brings its own npm).
ensure_node() {
  command -v node >/dev/null 2>&1 || ensure_packages nodejs
  command -v npm >/dev/null 2>&1 || ensure_packages npm
}

# build DIR BUILD_TYPE [cmake args...] [-- targets...]
build() {
  local dir=$1 type=$2
  shift 2
  local args=() targets=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
  [ $# -gt 0 ] && { shift; targets=(--target "$@"); }
  local werror=OFF
  if [ "${CI:-}" = true ]; then
    werror=ON
    # Line tables only (-g1): sanitizer reports and backtraces keep file:line, and the three
    # builds compile about a sixth faster than with full debug info (measured on the
    # Beast-heavy files).
    args+=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_CXX_FLAGS_DEBUG="-g1")
  fi
  cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DRSM_WERROR="$werror" "${args[@]}" >/dev/null
  cmake --build "$dir" -j "$JOBS" "${targets[@]}"
}

run_tests() {
  local dir=$1
  shift
  (cd "$dir" && ctest --output-on-failure -j "$JOBS" "$@")
}

# Each step's outcome, printed again at the very end: CI shows only the tail of the output, and
# a failure in an early step must not scroll out of it.
SUMMARY=()
record() { # record STEP STATUS [BUILD_DIR]
  local step=$1 rc=$2 dir=${3:-}
  if [ "$rc" = 0 ]; then
    SUMMARY+=("ok      $step")
  else
    SUMMARY+=("FAILED  $step (exit $rc)")
    local failed="$dir/Testing/Temporary/LastTestsFailed.log"
    if [ -n "$dir" ] && [ -s "$failed" ]; then
      local line
      while IFS= read -r line; do SUMMARY+=("          failed test $line"); done <"$failed"
    fi
  fi
}
print_summary() {
  local line
  say "summary:"
  for line in "${SUMMARY[@]}"; do printf 'dev.sh:   %s\n' "$line" >&2; done
}

# Every C++ file under src/, include/ and tests/ is as clang-format (the committed .clang-format)
# writes it; the files it would change are listed.
check_format() {
  local files bad
  mapfile -t files < <(cd "$ROOT" && git ls-files 'src/*.cpp' 'src/*.hpp' 'include/*.hpp' 'tests/*.cpp' 'tests/*.hpp')
  [ ${#files[@]} -gt 0 ] || return 0
  bad=$(cd "$ROOT" && for f in "${files[@]}"; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"
  done)
  if [ -n "$bad" ]; then
    say "not formatted (run clang-format -i on them):"
    printf '%s\n' "$bad" | sed 's/^/  /' >&2
    return 1
  fi
}

cmd_up() {
  ensure_packages "${BUILD_PACKAGES[@]}" redis-server redis-sentinel redis-tools
  build "$ROOT/build/release" Release -DRSM_BUILD_TESTS=OFF
  # The whole local service in the foreground: Ctrl-C stops it and leaves nothing behind.
  # Arguments go to `rsm up` (e.g. --port 6380 --dir ./stack).
  exec "$ROOT/build/release/rsm" up "$@"
}

cmd_test() {
  local asan=false tsan=false fuzz=0
  if [ "${CI:-}" = true ]; then
    asan=true
    tsan=true
    fuzz=60
  fi
  local args=()
  for a in "$@"; do
    case "$a" in
      --asan) asan=true ;;
      --no-asan) asan=false ;;
      --tsan) tsan=true ;;
      --no-tsan) tsan=false ;;
      --fuzz) fuzz=60 ;;
      --fuzz=*) fuzz=${a#--fuzz=} ;;
      --no-fuzz) fuzz=0 ;;
      *) args+=("$a") ;;
    esac
  done
  if [ "$fuzz" != 0 ]; then
    ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${FUZZ_PACKAGES[@]}"
  else
    ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
  fi
  ensure_node
  local status=0 rc failed_dirs=()
  rc=0
  check_format || rc=$?
  record "clang-format (src, include, tests)" "$rc"
  [ "$rc" = 0 ] || status=$rc
  build "$ROOT/build/test" RelWithDebInfo
  rc=0
  run_tests "$ROOT/build/test" "${args[@]}" || rc=$?
  record "tests (RelWithDebInfo)" "$rc" "$ROOT/build/test"
  [ "$rc" = 0 ] || { status=$rc; failed_dirs+=("$ROOT/build/test"); }
  if [ "$fuzz" != 0 ]; then
    rc=0
    if [ "${CI:-}" = true ]; then
      # Bounded in CI: a fixed seed and input count, and at most FUZZ_MAX_SECONDS (45) per
      # target (1.5M inputs took 3 to 15 minutes per target on a 2-core machine: the input
      # count alone let fuzzing grow to half of CI). libFuzzer still explores a little
      # differently each run, so a failure here is a real bug.
      say "fuzzing every parser: ${FUZZ_RUNS:-1500000} inputs each"
      FUZZ_RUNS=${FUZZ_RUNS:-1500000} bash "$ROOT/tests/fuzz/run.sh" "$fuzz" || rc=$?
    else
      say "fuzzing every parser for ${fuzz}s each"
      bash "$ROOT/tests/fuzz/run.sh" "$fuzz" || rc=$?
    fi
    record "fuzzing" "$rc"
    if [ "$rc" != 0 ]; then
      status=$rc
      local t fuzz_build=${FUZZ_BUILD:-$ROOT/build/fuzz} line
      if [ -f "$fuzz_build/failed" ]; then
        while IFS= read -r t; do
          SUMMARY+=("          fuzz target $t failed; the end of its log:")
          while IFS= read -r line; do SUMMARY+=("            $line"); done \
            < <(tail -12 "$fuzz_build/$t.log")
        done <"$fuzz_build/failed"
      fi
    fi
  fi
  if [ "$asan" = true ]; then
    # Every test but the chaos and partition suites (minutes of fault scenarios that the
    # RelWithDebInfo run covers, chaos also under TSan below): ASan's subject is memory, and the
    # unit, integration, differential, hostile and client tiers reach the same code.
    say "ASan+UBSan build of every test (but the chaos and partition suites)"
    build "$ROOT/build/asan" Debug -DRSM_SANITIZE=address
    rc=0
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
      UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
      run_tests "$ROOT/build/asan" -LE "chaos|partition" "${args[@]}" || rc=$?
    record "tests (ASan+UBSan)" "$rc" "$ROOT/build/asan"
    [ "$rc" = 0 ] || { status=$rc; failed_dirs+=("$ROOT/build/asan"); }
  fi
  if [ "$tsan" = true ]; then
    # ThreadSanitizer on what runs on several threads: the proxy (--threads 2), under its
    # integration tests and the chaos suite's load. halt_on_error: a race kills the proxy, and
    # the test that drove it fails.
    say "TSan build of the proxy; its tests and the chaos suite"
    build "$ROOT/build/tsan" RelWithDebInfo -DRSM_SANITIZE=thread -- rsm rsm_integration_tests rsm_leak_check
    rc=0
    TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1} \
      run_tests "$ROOT/build/tsan" -R "proxy|chaos|no redis process" -LE partition || rc=$?
    record "proxy tests and chaos suite (TSan)" "$rc" "$ROOT/build/tsan"
    [ "$rc" = 0 ] || { status=$rc; failed_dirs+=("$ROOT/build/tsan"); }
  fi
  # A failed test's output scrolled away long ago: run the failed ones once more, here, so the
  # tail shows why (and whether the failure repeats). The status stays failed either way.
  local dir
  for dir in "${failed_dirs[@]}"; do
    say "re-running the failed tests of $dir for their output"
    rc=0
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
      UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
      TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1} \
      run_tests "$dir" --rerun-failed || rc=$?
    record "re-run of the failed tests in $dir" "$rc"
  done
  print_summary
  return "$status"
}

cmd_bench() {
  ensure_packages "${BUILD_PACKAGES[@]}" redis-server redis-sentinel redis-tools nutcracker haproxy python3 \
                  gnuplot-nox
  ensure_node
  build "$ROOT/build/release" Release -DRSM_BUILD_TESTS=OFF
  local rsm="$ROOT/build/release/rsm" doc="$ROOT/docs/benchmarks.md" img="$ROOT/docs/img"
  local node_dir="$ROOT/build/bench-clients"
  # The real-client rows: the newest ioredis and node-redis from npm, once.
  if [ ! -d "$node_dir/node_modules/ioredis" ] || [ ! -d "$node_dir/node_modules/redis" ]; then
    say "installing ioredis and redis from npm into $node_dir"
    npm install --prefix "$node_dir" --no-audit --no-fund --no-save --loglevel error \
      ioredis@latest redis@latest
  fi
  mkdir -p "$img"
  # predixy is not packaged: pass --predixy PATH (built from its public source outside this
  # repository) to add it and its targets.
  python3 "$ROOT/tests/bench/proxy_bench.py" --rsm "$rsm" --write "$doc" --data "$img" \
    --node-modules "$node_dir/node_modules" "$@"
  python3 "$ROOT/tests/bench/failover_bench.py" --rsm "$rsm" --write "$doc" --data "$img"
  python3 "$ROOT/tests/bench/memory_bench.py" --rsm "$rsm" --write "$doc" --data "$img"
  gnuplot -e "dir='$img'" "$ROOT/tests/bench/plots.gp"
  say "tables rewritten in docs/benchmarks.md, plots in docs/img/"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  bench) shift; cmd_bench "$@" ;;
  test) shift; cmd_test "$@" ;;
  *)
    echo "usage: packaging/dev.sh up|test|bench [args]" >&2
    echo "  up    install what is missing, build, start the local service" >&2
    echo "  test  install what is missing, build, run every test (--asan, --tsan, --fuzz[=S]: also those)" >&2
    echo "  bench install what is missing, build, benchmark the proxy against its peers" >&2
    exit 2
    ;;
esac
