#!/usr/bin/env bash
# Instructions per task on the fork-join path, counted by callgrind at one thread: each
# workload runs twice, at a small and at a larger size, and the difference in instructions over
# the difference in tasks leaves out start-up and shutdown. Unlike a time, the count is the same
# from run to run and from machine to machine (for one compiler and one set of libraries), so a
# change of a few instructions per task shows; `perf/compare/README.md` says where they go.
#
# Usage: scripts/instructions-per-task.sh
# Environment (all optional):
#   BUILD_DIR=build-compare-stealio   where perf/compare's variants are built (Release)
#   WORKLOADS="skynet:10:100000 fib:2:22 uts:0:8"   workload:small:large, sizes as --n takes them
#   SYSTEMS="stealio tbb"             perf/compare's variants to count
#   JOBS=2                            build jobs
#
# Example output:
#   skynet stealio: 808 instructions per task (111100 tasks)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

build_dir=${BUILD_DIR:-build-compare-stealio}
workloads=${WORKLOADS:-"skynet:10:100000 fib:2:22 uts:0:8"}
systems=${SYSTEMS:-"stealio tbb"}
jobs=${JOBS:-2}

log() { echo "instructions-per-task.sh: $*" >&2; }
command -v valgrind > /dev/null || { log "valgrind is missing (apt-get install valgrind)"; exit 1; }

targets=()
for w in $workloads; do
  for s in $systems; do targets+=("cmp_${w%%:*}_$s"); done
done
log "building ${targets[*]} in $build_dir (Release)"
mkdir -p "$build_dir"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DSTEALIO_BUILD_COMPARE=ON \
  -DSTEALIO_BUILD_TESTS=OFF -DSTEALIO_BUILD_DEMO=OFF > "$build_dir/configure.log" 2>&1 ||
  { cat "$build_dir/configure.log" >&2; exit 1; }
cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}" >&2

# count <exe> <n>: prints "<instructions> <tasks>" for one run at one worker.
count() {
  local out
  out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" --threads=1 --n="$2" 2>&1)
  grep -q ' ok=1' <<< "$out" || { log "$1 --n=$2 did not check out: $out"; exit 1; }
  echo "$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' <<< "$out")" \
    "$(sed -n 's/.* tasks=\([0-9]*\).*/\1/p' <<< "$out")"
}

for w in $workloads; do
  IFS=: read -r name small large <<< "$w"
  for s in $systems; do
    exe="$build_dir/perf/compare/cmp_${name}_$s"
    read -r i0 t0 <<< "$(count "$exe" "$small")"
    read -r i1 t1 <<< "$(count "$exe" "$large")"
    echo "$name $s: $(((i1 - i0) / (t1 - t0))) instructions per task ($((t1 - t0)) tasks)"
  done
done
