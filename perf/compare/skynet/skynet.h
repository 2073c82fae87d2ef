// skynet: a 10-ary tree with `n` leaves (n a power of ten), one task per node; leaf i returns
// its id i and every inner node sums its ten children. 1,000,000 leaves -> 499999500000.
#ifndef STEALIO_PERF_COMPARE_SKYNET_SKYNET_H_
#define STEALIO_PERF_COMPARE_SKYNET_SKYNET_H_

#include <cstdint>

namespace skynet {

constexpr long kDefaultN = 1000000;
constexpr int kFanout = 10;

inline bool valid_size(long n) {
  while (n > 1 && n % kFanout == 0) n /= kFanout;
  return n == 1;
}

// Sum of the leaf ids 0..n-1.
inline std::uint64_t expected(long n) {
  return static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(n - 1) / 2;
}

// Nodes in the tree, root included: n + n/10 + ... + 1.
inline std::uint64_t nodes(long n) {
  std::uint64_t total = 0;
  for (long level = n; level >= 1; level /= kFanout) total += static_cast<std::uint64_t>(level);
  return total;
}

}  // namespace skynet

#endif  // STEALIO_PERF_COMPARE_SKYNET_SKYNET_H_
