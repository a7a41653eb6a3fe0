#!/usr/bin/env bash
# The whole test suite, three ways: a normal build, a build with
# AddressSanitizer + UndefinedBehaviorSanitizer, and every test program
# (and the corral binary the end-to-end tests start) under valgrind; then
# every fuzz target for FUZZ_SECONDS (30) each.  Any failure, sanitizer
# report, valgrind error or fuzzer finding fails the run.
#   bash test/all.sh            all three
#   bash test/all.sh quick      the normal build only
set -euo pipefail
cd "$(dirname "$0")/.."
. test/deps.sh
corral_install_deps

mode=${1:-all}

echo "== normal build"
[ -d build ] || meson setup build
meson compile -C build
meson test -C build --print-errorlogs -v 2>&1 | tee build/test-normal.log |
  grep -E '^[0-9]+%: Checks|^ *[0-9]+/[0-9]+ |^(Ok|Fail|Timeout):'
[ "$mode" = quick ] && exit 0

echo "== address,undefined sanitizers"
[ -d build-asan ] || meson setup build-asan -Db_sanitize=address,undefined \
  -Db_lundef=false
meson compile -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs 2>&1 | tee build-asan/test.log |
  grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Timeout):'

echo "== valgrind"
# Markers around every error report, so that one in a forked child (which
# reports its verdict through a pipe, so valgrind's exit code there fails
# nothing) is found in the log; warnings carry none.
markers=--error-markers=VALGRIND-ERROR-BEGIN,VALGRIND-ERROR-END
wrapper=$PWD/build/corral-valgrind
cat > "$wrapper" <<WRAP
#!/bin/sh
exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
  --error-exitcode=99 $PWD/build/corral "\$@"
WRAP
chmod +x "$wrapper"
CK_FORK=no CORRAL_BIN=$wrapper meson test -C build --print-errorlogs \
  --timeout-multiplier 4 \
  --wrap="valgrind -q --leak-check=full --error-exitcode=99 $markers" 2>&1 |
  tee build/test-valgrind.log | grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Timeout):'
# (The log also holds each test's command line, markers option included.)
if grep -Eq '^==[0-9]+== VALGRIND-ERROR-BEGIN' \
  build/meson-logs/testlog-valgrind.txt; then
  echo "valgrind reported errors:" >&2
  sed -En '/^==[0-9]+== VALGRIND-ERROR-BEGIN/,/^==[0-9]+== VALGRIND-ERROR-END/p' \
    build/meson-logs/testlog-valgrind.txt | head -60 >&2
  exit 1
fi
echo "== fuzzing, ${FUZZ_SECONDS:-30} s per target"
bash test/fuzz/run.sh "${FUZZ_SECONDS:-30}"
echo "== all runs passed"
