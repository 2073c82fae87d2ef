// reduce: sum of n uint32 values (value i = i % 1000) by recursive halving down to kGrain
// elements, one task per split. Memory-bound at the leaves; tests spawn/steal cost at a coarse
// grain. The input is filled before the timed region. Every variant spawns the right half and
// runs the left half inline, so one thread reads memory in ascending order as the serial loop
// does (descending order defeats the hardware prefetcher: up to 2.5x slower when measured).
#ifndef STEALIO_PERF_COMPARE_REDUCE_REDUCE_H_
#define STEALIO_PERF_COMPARE_REDUCE_REDUCE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace reduce {

constexpr long kDefaultN = 100000000;
constexpr std::size_t kGrain = 4096;

inline std::vector<std::uint32_t> make_input(long n) {
  std::vector<std::uint32_t> data(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint32_t>(i % 1000);
  return data;
}

// sum_{i<n} (i % 1000), in closed form.
inline std::uint64_t expected(long n) {
  const std::uint64_t full = static_cast<std::uint64_t>(n) / 1000, rest = n % 1000;
  return full * (999 * 1000 / 2) + rest * (rest - 1) / 2;
}

// The leaf: a plain loop the compiler vectorises.
inline std::uint64_t sum_leaf(const std::uint32_t* data, std::size_t len) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < len; ++i) sum += data[i];
  return sum;
}

// Calls in the split tree for `len` elements, root included (every variant splits the same way:
// len > kGrain -> len / 2 and len - len / 2).
inline std::uint64_t tasks(std::size_t len) {
  if (len <= kGrain) return 1;
  return 1 + tasks(len / 2) + tasks(len - len / 2);
}

}  // namespace reduce

#endif  // STEALIO_PERF_COMPARE_REDUCE_REDUCE_H_
