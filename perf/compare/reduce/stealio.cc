// reduce, stealio: right half create_task()ed, left half awaited inline.
#include "common/bench_main.h"
#include "common/stealio_support.h"
#include "reduce/reduce.h"

namespace {

stealio::Coro<std::uint64_t> sum_stealio(const std::uint32_t* data, std::size_t len) {
  if (len <= reduce::kGrain) co_return reduce::sum_leaf(data, len);
  const std::size_t half = len / 2;
  stealio::Task<std::uint64_t> right = stealio::create_task(sum_stealio(data + half, len - half));
  const std::uint64_t left = co_await sum_stealio(data, half);
  co_return left + co_await right;
}

cmp::Outcome run(const cmp::Options& o) {
  const std::vector<std::uint32_t> data = reduce::make_input(o.n);
  auto sched = cmp::make_scheduler(o.threads);
  std::uint64_t r = 0;
  const double t =
      cmp::timed([&] { r = cmp::run_on(*sched, sum_stealio(data.data(), data.size())); });
  return cmp::measured(t, reduce::tasks(data.size()), r == reduce::expected(o.n));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"stealio", "reduce", reduce::kDefaultN}, run);
}
