// fib, stealio coroutines: create_task(fib(n-1)) may be stolen, fib(n-2) is awaited inline.
#include "common/bench_main.h"
#include "common/stealio_support.h"
#include "fib/fib.h"

namespace {

stealio::Coro<std::uint64_t> fib_stealio(int n) {
  if (n < 2) co_return n;
  stealio::Task<std::uint64_t> a = stealio::create_task(fib_stealio(n - 1));
  const std::uint64_t b = co_await fib_stealio(n - 2);
  co_return co_await a + b;
}

cmp::Outcome run(const cmp::Options& o) {
  auto sched = cmp::make_scheduler(o.threads);
  std::uint64_t r = 0;
  const double t = cmp::timed([&] { r = cmp::run_on(*sched, fib_stealio(static_cast<int>(o.n))); });
  return cmp::measured(t, fib::calls(o.n), r == fib::value(o.n));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"stealio", "fib", fib::kDefaultN}, run);
}
