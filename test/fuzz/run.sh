#!/usr/bin/env bash
# Builds the libFuzzer targets of test/fuzz/ with clang (ASan + UBSan) and
# runs each for a bounded time.
#
#   test/fuzz/run.sh [SECONDS] [TARGET ...]     default: 30 s, every target
#
# Each target starts from its seeds in test/fuzz/corpus/<target>/ (read
# only: inputs found on the way go to a scratch corpus under $FUZZ_WORK,
# default a temporary directory).  Exits non-zero when a target fails to
# build or finds a crash, a leak, a sanitizer report or a broken property;
# the input is left in $FUZZ_WORK/<target>/crash-* and printed, so that it
# can be added to the seeds as a regression input.  Installs clang from
# Debian when it is missing (needs root or sudo).
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=${1:-30}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(urlnorm listfile names disposition httphdr)
fi

have_fuzzer() {
  local t
  t=$(mktemp -d)
  printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\n%s\n' \
    'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return !d && n; }' \
    >"$t/probe.c"
  if command -v clang >/dev/null &&
    clang -fsanitize=fuzzer,address,undefined "$t/probe.c" -o "$t/probe" \
      2>/dev/null; then
    rm -rf "$t"
    return 0
  fi
  rm -rf "$t"
  return 1
}

if ! have_fuzzer; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y clang \
    libclang-rt-14-dev
  have_fuzzer || { echo "run.sh: clang cannot build fuzzers" >&2; exit 1; }
fi

work=${FUZZ_WORK:-$(mktemp -d /tmp/corral-fuzz.XXXXXX)}
mkdir -p "$work"
# shellcheck disable=SC2054
cflags=(-g -O1 -fsanitize=fuzzer,address,undefined
  -fno-sanitize-recover=all -std=c11 -D_POSIX_C_SOURCE=200809L
  -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
  -Wmissing-prototypes -Wformat=2 -Wvla -Werror -Iinclude -Isrc)
# shellcheck disable=SC2207
libs=($(pkg-config --cflags --libs libcurl libidn2))

sources_of() {
  case $1 in
  urlnorm) echo src/urlnorm.c src/names.c ;;
  listfile) echo src/listfile.c ;;
  names) echo src/names.c src/urlnorm.c ;;
  disposition) echo src/names.c ;;
  httphdr) echo src/httphdr.c ;;
  *) return 1 ;;
  esac
}

status=0
for t in "${targets[@]}"; do
  srcs=$(sources_of "$t") || { echo "run.sh: no target $t" >&2; exit 2; }
  bin=$work/fuzz_$t
  # shellcheck disable=SC2086
  clang "${cflags[@]}" "test/fuzz/fuzz_$t.c" $srcs "${libs[@]}" -o "$bin"
  mkdir -p "$work/$t/corpus"
  dict=()
  d=test/fuzz/$t.dict
  [ "$t" = names ] && d=test/fuzz/urlnorm.dict
  [ -f "$d" ] && dict=(-dict="$d")
  echo "== fuzz_$t: ${secs}s"
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/$t/" "${dict[@]}" \
    "$work/$t/corpus" "test/fuzz/corpus/$t" >"$work/$t/log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec)' \
      "$work/$t/log" || true
  else
    status=1
    tail -n 40 "$work/$t/log"
    for c in "$work/$t"/crash-* "$work/$t"/leak-* "$work/$t"/timeout-* \
      "$work/$t"/oom-*; do
      [ -e "$c" ] || continue
      echo "fuzz_$t: FAILED on $c (base64: $(base64 -w0 <"$c"))"
    done
  fi
done
echo "run.sh: logs and binaries in $work"
exit "$status"
