# Sourced by compare.sh and registration-cost.sh: confines a run at T threads to the first T
# CPUs this shell may use (taskset), the same CPUs for every system and build.
#
# Why: oneTBB and OpenMP run one-thread work on the main thread, stealio on a worker thread.
# Unpinned, the kernel kept the main thread on the CPU it started on and put stealio's new worker
# on the other one, and the two vCPUs of our VMs were not equal: reduce at one thread, each system
# pinned to CPU 0 then CPU 1, took stealio 0.020 / 0.029 s, oneTBB 0.020 / 0.030 s (2026-12-08).
#
#   PIN=0 turns it off. After sourcing: $pin (1 when pinning), ${allowed_cpus[@]}, and
#   pin_prefix N, which prints the command words that run a program on the first N CPUs
#   (nothing when not pinning): out=$(... $(pin_prefix "$(pin_cpus "$workload" "$threads")") "$exe")
#   pin_cpus WORKLOAD THREADS: the CPUs a run needs (one more for spawn, whose spawner is a
#   thread of its own beside the workers).

pin=${PIN:-1}
read -r -a allowed_cpus <<< "$(
  sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status | tr ',' '\n' |
    while IFS=- read -r lo hi; do seq "$lo" "${hi:-$lo}"; done | tr '\n' ' ')"
if [ "$pin" = 1 ] && { ! command -v taskset > /dev/null || [ ${#allowed_cpus[@]} -eq 0 ]; }; then
  echo "pin.sh: taskset or the CPU list is missing: runs are not pinned" >&2
  pin=0
fi

pin_prefix() {  # pin_prefix N
  local t=$1
  [ "$pin" = 1 ] || return 0
  [ "$t" -le ${#allowed_cpus[@]} ] || t=${#allowed_cpus[@]}
  local list=${allowed_cpus[*]:0:$t}
  echo taskset -c "${list// /,}"
}

pin_cpus() {  # pin_cpus WORKLOAD THREADS
  if [ "$1" = spawn ]; then echo $(($2 + 1)); else echo "$2"; fi
}

pin_description() {  # one line for a results file
  if [ "$pin" = 1 ]; then
    echo "a run at T threads is confined to the first T of CPUs ${allowed_cpus[*]} (taskset; T+1 for spawn, whose spawner is a thread of its own)"
  else
    echo "none (PIN=0)"
  fi
}
