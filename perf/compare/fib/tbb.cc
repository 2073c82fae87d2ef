// fib, tbb::task_group per call: run(fib(n-1)), fib(n-2) inline, wait().
#include <tbb/task_group.h>

#include "common/bench_main.h"
#include "common/tbb_support.h"
#include "fib/fib.h"

namespace {

std::uint64_t fib_tbb(int n) {
  if (n < 2) return n;
  std::uint64_t a = 0;
  tbb::task_group tg;
  tg.run([&] { a = fib_tbb(n - 1); });
  const std::uint64_t b = fib_tbb(n - 2);
  tg.wait();
  return a + b;
}

cmp::Outcome run(const cmp::Options& o) {
  cmp::TbbRuntime rt(o.threads);
  std::uint64_t r = 0;
  const double t =
      cmp::timed([&] { rt.arena().execute([&] { r = fib_tbb(static_cast<int>(o.n)); }); });
  return cmp::measured(t, fib::calls(o.n), r == fib::value(o.n));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"tbb", "fib", fib::kDefaultN}, run);
}
