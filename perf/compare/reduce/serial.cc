// reduce, the same recursive halving as the parallel variants, run serially.
#include "common/bench_main.h"
#include "reduce/reduce.h"

namespace {

std::uint64_t sum_serial(const std::uint32_t* data, std::size_t len) {
  if (len <= reduce::kGrain) return reduce::sum_leaf(data, len);
  const std::size_t half = len / 2;
  return sum_serial(data, half) + sum_serial(data + half, len - half);
}

cmp::Outcome run(const cmp::Options& o) {
  const std::vector<std::uint32_t> data = reduce::make_input(o.n);
  std::uint64_t r = 0;
  const double t = cmp::timed([&] { r = sum_serial(data.data(), data.size()); });
  return cmp::measured(t, reduce::tasks(data.size()), r == reduce::expected(o.n));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"serial", "reduce", reduce::kDefaultN}, run);
}
