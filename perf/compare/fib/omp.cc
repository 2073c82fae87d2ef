// fib, `omp task` per call: task for fib(n-1), fib(n-2) inline, taskwait.
#include "common/bench_main.h"
#include "common/omp_support.h"
#include "fib/fib.h"

namespace {

std::uint64_t fib_omp(int n) {
  if (n < 2) return n;
  std::uint64_t a = 0;
#pragma omp task shared(a)
  a = fib_omp(n - 1);
  const std::uint64_t b = fib_omp(n - 2);
#pragma omp taskwait
  return a + b;
}

cmp::Outcome run(const cmp::Options& o) {
  cmp::omp_setup(o.threads);
  std::uint64_t r = 0;
  const double t =
      cmp::timed([&] { cmp::omp_run_single([&] { r = fib_omp(static_cast<int>(o.n)); }); });
  return cmp::measured(t, fib::calls(o.n), r == fib::value(o.n));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"omp", "fib", fib::kDefaultN}, run);
}
