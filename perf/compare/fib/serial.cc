// fib, plain recursion: the cost of the calls without any runtime.
#include "common/bench_main.h"
#include "fib/fib.h"

namespace {

std::uint64_t fib_serial(int n) {
  if (n < 2) return n;
  return fib_serial(n - 1) + fib_serial(n - 2);
}

cmp::Outcome run(const cmp::Options& o) {
  std::uint64_t r = 0;
  const double t = cmp::timed([&] { r = fib_serial(static_cast<int>(o.n)); });
  return cmp::measured(t, fib::calls(o.n), r == fib::value(o.n));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"serial", "fib", fib::kDefaultN}, run);
}
