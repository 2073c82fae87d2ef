#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (unit and stress tests) three times: a normal
# build, a ThreadSanitizer build and an AddressSanitizer+UndefinedBehaviorSanitizer build; then
# builds and runs a consumer project against an installed stealio. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

JOBS="${JOBS:-$(nproc)}"
run_suite() {  # name, extra cmake args...
  local dir="build-ci-$1"; shift
  echo "=== $dir: configure and build"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTEALIO_WERROR=ON "$@"
  cmake --build "$dir" -j "$JOBS"
  echo "=== $dir: tests"
  ctest --test-dir "$dir" --output-on-failure --timeout 900
}

export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
export ASAN_OPTIONS="detect_leaks=1 halt_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1"

run_suite normal
bash tests/install_test/run.sh build-ci-normal
run_suite tsan -DSTEALIO_SANITIZE=thread -DSTEALIO_BUILD_DEMO=OFF
run_suite asan -DSTEALIO_SANITIZE=address -DSTEALIO_BUILD_DEMO=OFF
echo "=== all test suites passed"
