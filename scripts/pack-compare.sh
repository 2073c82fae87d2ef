#!/usr/bin/env bash
# Builds perf/compare in Release and packs its executables with the shared libraries they load
# (oneTBB, Abseil, libgomp, libstdc++), for a machine that has none of the build dependencies,
# such as the 16-core device:
#
#   scripts/pack-compare.sh DIR          # here: DIR/bin/cmp_*, DIR/lib/*.so*, DIR/bin/BUILT_WITH
#   LD_LIBRARY_PATH=DIR/lib BIN_DIR=DIR/bin THREADS="1 2 4 8 16" scripts/compare.sh   # there
#
# The C library and the dynamic loader are not packed: the other machine's must be as new as
# ours (glibc 2.36 on Debian 12). Environment: BUILD_DIR=build-compare-stealio, JOBS=2.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:?usage: scripts/pack-compare.sh DIR}
build_dir=${BUILD_DIR:-build-compare-stealio}
cd "$root"

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DSTEALIO_BUILD_COMPARE=ON \
  -DSTEALIO_BUILD_TESTS=OFF -DSTEALIO_BUILD_DEMO=OFF > /dev/null
cmake --build "$build_dir" --target cmp_all -j "${JOBS:-2}"

rm -rf "$out/bin" "$out/lib"
mkdir -p "$out/bin" "$out/lib"
cp "$build_dir"/perf/compare/cmp_* "$out/bin/"
echo "$(c++ --version | head -n 1), commit $(git rev-parse --short HEAD)" > "$out/bin/BUILT_WITH"
for exe in "$out"/bin/cmp_*; do ldd "$exe"; done |
  awk '/=> \// {print $3}' | sort -u |
  grep -vE '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' |
  while read -r lib; do cp -L "$lib" "$out/lib/"; done
echo "packed $(ls "$out/bin" | grep -c '^cmp_') executables and $(ls "$out/lib" | wc -l) libraries in $out" >&2
