#!/usr/bin/env bash
# Installs stealio from an existing build dir into a staging prefix, then builds and runs the
# consumer project against it. Usage: tests/install_test/run.sh BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "$1" && pwd)"
prefix="$build/install-stage"
rm -rf "$prefix" "$build/consumer"
cmake --install "$build" --prefix "$prefix" > /dev/null
cmake -S "$here" -B "$build/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" > /dev/null
cmake --build "$build/consumer" > /dev/null
"$build/consumer/consumer"
