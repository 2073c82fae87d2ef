// skynet, tbb::task_group per inner node running its ten children as tasks.
#include <tbb/task_group.h>

#include "common/bench_main.h"
#include "common/tbb_support.h"
#include "skynet/skynet.h"

namespace {

std::uint64_t skynet_tbb(std::uint64_t id, long size) {
  if (size == 1) return id;
  const long child = size / skynet::kFanout;
  std::uint64_t sums[skynet::kFanout];
  tbb::task_group tg;
  for (int i = 0; i < skynet::kFanout; ++i) {
    tg.run([&sums, i, id, child] { sums[i] = skynet_tbb(id + i * child, child); });
  }
  tg.wait();
  std::uint64_t sum = 0;
  for (std::uint64_t s : sums) sum += s;
  return sum;
}

cmp::Outcome run(const cmp::Options& o) {
  if (!skynet::valid_size(o.n)) return cmp::skipped("n_not_power_of_10");
  cmp::TbbRuntime rt(o.threads);
  std::uint64_t r = 0;
  const double t = cmp::timed([&] { rt.arena().execute([&] { r = skynet_tbb(0, o.n); }); });
  return cmp::measured(t, skynet::nodes(o.n), r == skynet::expected(o.n));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"tbb", "skynet", skynet::kDefaultN}, run);
}
