// skynet, an `omp task` per child, taskwait per inner node.
#include "common/bench_main.h"
#include "common/omp_support.h"
#include "skynet/skynet.h"

namespace {

std::uint64_t skynet_omp(std::uint64_t id, long size) {
  if (size == 1) return id;
  const long child = size / skynet::kFanout;
  std::uint64_t sums[skynet::kFanout];
  for (int i = 0; i < skynet::kFanout; ++i) {
#pragma omp task shared(sums) firstprivate(i)
    sums[i] = skynet_omp(id + i * child, child);
  }
#pragma omp taskwait
  std::uint64_t sum = 0;
  for (std::uint64_t s : sums) sum += s;
  return sum;
}

cmp::Outcome run(const cmp::Options& o) {
  if (!skynet::valid_size(o.n)) return cmp::skipped("n_not_power_of_10");
  cmp::omp_setup(o.threads);
  std::uint64_t r = 0;
  const double t = cmp::timed([&] { cmp::omp_run_single([&] { r = skynet_omp(0, o.n); }); });
  return cmp::measured(t, skynet::nodes(o.n), r == skynet::expected(o.n));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"omp", "skynet", skynet::kDefaultN}, run);
}
