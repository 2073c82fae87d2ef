// fib(n) with one task per recursive call and no serial cut-off: the runtime's per-task
// overhead, almost nothing else. Each call spawns fib(n-1) and runs fib(n-2) inline.
#ifndef STEALIO_PERF_COMPARE_FIB_FIB_H_
#define STEALIO_PERF_COMPARE_FIB_FIB_H_

#include <cstdint>

namespace fib {

constexpr long kDefaultN = 30;

// The expected result, computed iteratively.
inline std::uint64_t value(long n) {
  std::uint64_t a = 0, b = 1;
  for (long i = 0; i < n; ++i) {
    const std::uint64_t next = a + b;
    a = b;
    b = next;
  }
  return a;
}

// Calls made by the naive recursion for fib(n), root included: calls(n) = 2 fib(n+1) - 1.
inline std::uint64_t calls(long n) { return 2 * value(n + 1) - 1; }

}  // namespace fib

#endif  // STEALIO_PERF_COMPARE_FIB_FIB_H_
