#!/usr/bin/env bash
# What registering every task (all_tasks) costs: builds perf/compare's stealio variants twice,
# as usual and with -DSTEALIO_SKIP_REGISTRATION=ON (a measurement build in which stealio's own
# tasks skip the registry), runs the two side by side, alternating run by run, and prints the
# medians, the time per task, and the difference as a share of the registered time per task.
# Issue 5's target: under a quarter.
#
# Usage: scripts/registration-cost.sh
# Environment (all optional):
#   RUNS=9                      runs per (workload, threads, build)
#   THREADS="1 $(nproc)"        thread counts
#   WORKLOADS="fib:30 skynet:1000000 nqueens:12"   workload:n, as for scripts/compare.sh
#   JOBS=2                      build jobs
#   PIN=1                       each run on the first T CPUs (T+1 for spawn; scripts/pin.sh)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

runs=${RUNS:-9}
ncpu=$(nproc)
threads_list=${THREADS:-$( [ "$ncpu" -gt 1 ] && echo "1 $ncpu" || echo 1 )}
workloads=${WORKLOADS:-"fib:30 skynet:1000000 nqueens:12"}
jobs=${JOBS:-2}

log() { echo "registration-cost.sh: $*" >&2; }
# shellcheck source=scripts/pin.sh
. scripts/pin.sh
log "pinning: $(pin_description)"

# build <dir> <ON|OFF>: the stealio variants of the workloads asked for.
build() {
  local dir=$1 skip=$2 targets=() w
  for w in $workloads; do targets+=("cmp_${w%%:*}_stealio"); done
  log "building $dir (STEALIO_SKIP_REGISTRATION=$skip)"
  mkdir -p "$dir"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DSTEALIO_BUILD_COMPARE=ON \
    -DSTEALIO_BUILD_TESTS=OFF -DSTEALIO_BUILD_DEMO=OFF -DSTEALIO_SKIP_REGISTRATION="$skip" \
    > "$dir/configure.log" 2>&1 || { cat "$dir/configure.log" >&2; exit 1; }
  cmake --build "$dir" -j "$jobs" --target "${targets[@]}" >&2
}
with=build-regcost-registered
without=build-regcost-unregistered
build "$with" OFF
build "$without" ON

# One line per run: workload threads build time_s tasks
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for w in $workloads; do
  name=${w%%:*} n=${w#*:}
  for t in $threads_list; do
    log "$name n=$n threads=$t: $runs runs of each build"
    for ((r = 0; r < runs; r++)); do
      # Alternate which build goes first, so drift spreads evenly over both.
      if ((r % 2 == 0)); then order=("$with" "$without"); else order=("$without" "$with"); fi
      for dir in "${order[@]}"; do
        # shellcheck disable=SC2046  # pin_prefix's words are meant to split
        line=$($(pin_prefix "$(pin_cpus "$name" "$t")") "$dir/perf/compare/cmp_${name}_stealio" \
          --n="$n" --threads="$t")
        time_s=$(sed -n 's/.* time_s=\([^ ]*\).*/\1/p' <<< "$line")
        tasks=$(sed -n 's/.* tasks=\([^ ]*\).*/\1/p' <<< "$line")
        echo "$name $n $t $dir $time_s $tasks" >> "$results"
      done
    done
  done
done

python3 - "$results" "$with" "$without" << 'EOF'
import statistics, sys
path, with_dir, without_dir = sys.argv[1:]
cells = {}
for line in open(path):
    name, n, t, d, time_s, tasks = line.split()
    cells.setdefault((name, n, int(t)), {}).setdefault(d, []).append((float(time_s), int(tasks)))
print(f"{'workload':<10}{'n':>9}{'threads':>8}{'registered ns/task':>20}{'unregistered':>14}"
      f"{'difference':>12}{'share':>8}")
for (name, n, t), by in sorted(cells.items()):
    tasks = by[with_dir][0][1]
    reg = statistics.median(x for x, _ in by[with_dir]) / tasks * 1e9
    unreg = statistics.median(x for x, _ in by[without_dir]) / tasks * 1e9
    print(f"{name:<10}{n:>9}{t:>8}{reg:>20.1f}{unreg:>14.1f}{reg - unreg:>12.1f}"
          f"{(reg - unreg) / reg:>8.1%}")
print(f"(medians of {len(by[with_dir])} runs each, alternating; share = difference / registered)")
EOF
