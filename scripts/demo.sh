#!/usr/bin/env bash
# Sets up, builds (Release) and runs the demo on every core.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTEALIO_BUILD_TESTS=OFF
cmake --build build-release -j "$(nproc)" --target stealio_demo
./build-release/demo/stealio_demo "$@"
