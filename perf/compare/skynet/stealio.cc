// skynet, stealio: every child is a create_task()ed coroutine, awaited in order. The handles sit
// in an array in the coroutine's frame, as oneTBB's variant keeps its sums on the stack.

#include "common/bench_main.h"
#include "common/stealio_support.h"
#include "skynet/skynet.h"

namespace {

stealio::Coro<std::uint64_t> skynet_stealio(std::uint64_t id, long size) {
  if (size == 1) co_return id;
  const long child = size / skynet::kFanout;
  stealio::Task<std::uint64_t> children[skynet::kFanout];
  for (int i = 0; i < skynet::kFanout; ++i) {
    children[i] = stealio::create_task(skynet_stealio(id + i * child, child));
  }
  std::uint64_t sum = 0;
  for (auto& c : children) sum += co_await c;
  co_return sum;
}

cmp::Outcome run(const cmp::Options& o) {
  if (!skynet::valid_size(o.n)) return cmp::skipped("n_not_power_of_10");
  auto sched = cmp::make_scheduler(o.threads);
  std::uint64_t r = 0;
  const double t = cmp::timed([&] { r = cmp::run_on(*sched, skynet_stealio(0, o.n)); });
  return cmp::measured(t, skynet::nodes(o.n), r == skynet::expected(o.n));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"stealio", "skynet", skynet::kDefaultN}, run);
}
