// spawn: n tiny tasks submitted one by one from a thread that is not one of the runtime's
// workers, then one wait for all of them. Measures the injection path (the runtime's queue for
// outside submissions) and cross-thread wake-ups, not the worker-local deques. Task i writes
// i + 1 into its own slot, so there is no contention between tasks and the sum is checkable.
#ifndef STEALIO_PERF_COMPARE_SPAWN_SPAWN_H_
#define STEALIO_PERF_COMPARE_SPAWN_SPAWN_H_

#include <cstdint>
#include <numeric>
#include <vector>

namespace spawn {

constexpr long kDefaultN = 1000000;

inline void body(std::uint64_t* out, std::size_t i) { out[i] = i + 1; }

// Every slot written exactly once: the sum is 1 + 2 + ... + n.
inline bool check(const std::vector<std::uint64_t>& out) {
  const std::uint64_t n = out.size();
  return std::accumulate(out.begin(), out.end(), std::uint64_t{0}) == n * (n + 1) / 2;
}

}  // namespace spawn

#endif  // STEALIO_PERF_COMPARE_SPAWN_SPAWN_H_
