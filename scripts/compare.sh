#!/usr/bin/env bash
# Builds perf/compare in Release and runs every system x workload side by side, then summarises.
#
# Usage: scripts/compare.sh [SUMMARY_MD]      (default perf/compare/results/summary.md)
#
# Environment (all optional):
#   RUNS=5                 runs per (workload, threads, system)
#   THREADS="1 $(nproc)"   thread counts to run, e.g. THREADS="1 2 4 8 16"
#   WORKLOADS="fib:30 fib:35 skynet:1000000 nqueens:12 uts:10 matmul:1024 spawn:1000000
#              pingpong:100000 reduce:100000000"
#                          workload[:n]; without :n the variant's default size. reduce goes
#                          last: each of its runs takes and frees 400 MB, and on our VMs the
#                          memory touched next faulted in several times slower for a while
#                          (1,000,000 outside spawns right after reduce's runs: stealio 0.09 ->
#                          0.19 s, oneTBB 0.21 -> 0.82 s at one thread)
#   SYSTEMS="stealio tbb omp serial threads"   the variants looked for (missing ones are skipped)
#   BUILD_DIR=build-compare (standalone) or build-compare-stealio (top-level)
#   JOBS=1 (build jobs)  TIMEOUT=300 (seconds per run)  PYTHON=<interpreter for analyze.py>
#   STANDALONE=1           build perf/compare on its own even when the top-level project
#                          includes it (then no stealio variants)
#   CMAKE_ARGS="..."       extra arguments for the cmake configure step
#   PIN=1                  confine a run at T threads to the first T CPUs this script may use
#                          (taskset), for every system alike; PIN=0 lets the kernel place them
#                          (scripts/pin.sh says why)
#   BIN_DIR=<dir>          run the cmp_* executables already in DIR and build nothing (for a
#                          machine without the build dependencies: build here, copy the
#                          executables and their shared libraries there, set LD_LIBRARY_PATH)
#
# Runs are interleaved: for each workload and thread count, run r executes every system once
# before run r+1 starts, and the order of the systems rotates by one each run, so slow drift on a
# shared machine (other jobs, thermal state) is spread evenly over the systems. Runs never
# overlap. Every RESULT/SKIP/FAIL line goes to perf/compare/results/results-<time>.txt; the
# table, Markdown summary and chart come from perf/compare/analyze.py.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

runs=${RUNS:-5}
ncpu=$(nproc)
threads_list=${THREADS:-$( [ "$ncpu" -gt 1 ] && echo "1 $ncpu" || echo 1 )}
workloads=${WORKLOADS:-"fib:30 fib:35 skynet:1000000 nqueens:12 uts:10 matmul:1024 spawn:1000000
  pingpong:100000 reduce:100000000"}
read -r -a systems <<< "${SYSTEMS:-stealio tbb omp serial threads}"
jobs=${JOBS:-1}
run_timeout=${TIMEOUT:-300}
summary=${1:-perf/compare/results/summary.md}
chart=${summary%.md}.png
mkdir -p perf/compare/results "$(dirname "$summary")"
results=perf/compare/results/results-$(date +%Y%m%d-%H%M%S).txt

log() { echo "compare.sh: $*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# --- build -------------------------------------------------------------------------------------
# From the top-level project when it adds perf/compare (that is where stealio::stealio exists;
# STEALIO_BUILD_COMPARE is the option it is expected to sit behind), otherwise perf/compare
# alone. Extra configure arguments can come in CMAKE_ARGS. With BIN_DIR set, nothing is built.
build() {
  local configure build_dir
  if [ -z "${STANDALONE:-}" ] && [ -f CMakeLists.txt ] && grep -q 'perf/compare' CMakeLists.txt; then
    configure=(-S . -DSTEALIO_BUILD_COMPARE=ON -DSTEALIO_BUILD_TESTS=OFF -DSTEALIO_BUILD_DEMO=OFF)
    build_dir=${BUILD_DIR:-build-compare-stealio}
  else
    configure=(-S perf/compare)
    build_dir=${BUILD_DIR:-build-compare}
  fi
  mkdir -p "$build_dir"
  log "configuring ${configure[1]} in $build_dir (Release)"
  # shellcheck disable=SC2086  # CMAKE_ARGS is a list of arguments
  cmake "${configure[@]}" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-} \
    > "$build_dir/configure.log" 2>&1 || { cat "$build_dir/configure.log" >&2; exit 1; }
  log "building cmp_all with $jobs job(s)"
  cmake --build "$build_dir" --target cmp_all -j "$jobs" >&2
  # The executables land in the build tree's perf/compare folder, or at its top when standalone.
  if [ -d "$build_dir/perf/compare" ]; then echo "$build_dir/perf/compare"; else echo "$build_dir"; fi
}
if [ -n "${BIN_DIR:-}" ]; then
  bin_dir=$BIN_DIR
  log "running the executables in $bin_dir (nothing built)"
else
  bin_dir=$(build)
fi

# --- python for the summary --------------------------------------------------------------------
# The table needs only the standard library; the chart needs matplotlib. Debian's
# python3-matplotlib belongs to /usr/bin/python3, which may not be the python3 on PATH.
pick_python() {
  local p
  for p in ${PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$p" > /dev/null && "$p" -c 'import matplotlib' 2> /dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}
if ! python=$(pick_python); then
  if command -v apt-get > /dev/null && [ "$(id -u)" -eq 0 ]; then
    log "installing python3-matplotlib for the chart"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-matplotlib > /dev/null ||
      log "apt-get install failed; the summary will have no chart"
  fi
  python=$(pick_python) || python=${PYTHON:-python3}
fi

# --- pinning -----------------------------------------------------------------------------------
# shellcheck source=scripts/pin.sh
. scripts/pin.sh

# --- runs --------------------------------------------------------------------------------------
{
  echo "# date: $(date -Is)"
  echo "# host: $(uname -srm), $ncpu hardware threads, load average $(loadavg)"
  if [ -n "${BIN_DIR:-}" ]; then
    echo "# compiler: executables prebuilt in $BIN_DIR ($(cat "$BIN_DIR/BUILT_WITH" 2> /dev/null || echo "compiler not recorded"))"
  else
    echo "# compiler: $(c++ --version | head -n 1)"
  fi
  echo "# runs: $runs per cell, threads: $threads_list"
  echo "# pinning: $(pin_description)"
} > "$results"

run_one() {  # run_one EXE WORKLOAD N THREADS SYSTEM RUN
  local exe=$1 workload=$2 n=$3 threads=$4 system=$5 run=$6 out rc=0
  local args=(--threads="$threads")
  [ -n "$n" ] && args+=(--n="$n")
  # shellcheck disable=SC2046  # pin_prefix's words are meant to split
  out=$(timeout "$run_timeout" $(pin_prefix "$(pin_cpus "$workload" "$threads")") \
    "$exe" "${args[@]}") || rc=$?
  if grep -qE '^(RESULT|SKIP) ' <<< "$out"; then
    grep -E '^(RESULT|SKIP) ' <<< "$out" | sed "s/\$/ run=$run/" | tee -a "$results" >&2
  else
    echo "FAIL system=$system workload=$workload n=${n:-default} threads=$threads rc=$rc run=$run" |
      tee -a "$results" >&2
  fi
}

start=$SECONDS
for spec in $workloads; do
  workload=${spec%%:*}
  n=
  [[ $spec == *:* ]] && n=${spec#*:}
  present=()
  for system in "${systems[@]}"; do
    [ -x "$bin_dir/cmp_${workload}_${system}" ] && present+=("$system")
  done
  if [ ${#present[@]} -eq 0 ]; then
    log "no executables for $workload; skipped"
    continue
  fi
  for threads in $threads_list; do
    for ((run = 1; run <= runs; run++)); do
      count=${#present[@]}
      for ((i = 0; i < count; i++)); do
        system=${present[$(((i + run - 1) % count))]}
        run_one "$bin_dir/cmp_${workload}_${system}" "$workload" "$n" "$threads" "$system" "$run"
      done
    done
  done
done
echo "# runs took $((SECONDS - start)) s; load average at the end $(loadavg)" >> "$results"
log "runs took $((SECONDS - start)) s; raw results in $results"

# --- summary -----------------------------------------------------------------------------------
"$python" perf/compare/analyze.py "$results" --markdown "$summary" --chart "$chart"
