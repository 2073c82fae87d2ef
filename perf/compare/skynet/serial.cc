// skynet, plain recursion.
#include "common/bench_main.h"
#include "skynet/skynet.h"

namespace {

std::uint64_t skynet_serial(std::uint64_t id, long size) {
  if (size == 1) return id;
  const long child = size / skynet::kFanout;
  std::uint64_t sum = 0;
  for (int i = 0; i < skynet::kFanout; ++i) sum += skynet_serial(id + i * child, child);
  return sum;
}

cmp::Outcome run(const cmp::Options& o) {
  if (!skynet::valid_size(o.n)) return cmp::skipped("n_not_power_of_10");
  std::uint64_t r = 0;
  const double t = cmp::timed([&] { r = skynet_serial(0, o.n); });
  return cmp::measured(t, skynet::nodes(o.n), r == skynet::expected(o.n));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"serial", "skynet", skynet::kDefaultN}, run);
}
