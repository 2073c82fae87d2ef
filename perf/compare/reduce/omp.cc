// reduce, recursive halving: right half as an `omp task`, left half inline, taskwait.
#include "common/bench_main.h"
#include "common/omp_support.h"
#include "reduce/reduce.h"

namespace {

std::uint64_t sum_omp(const std::uint32_t* data, std::size_t len) {
  if (len <= reduce::kGrain) return reduce::sum_leaf(data, len);
  const std::size_t half = len / 2;
  std::uint64_t right = 0;
#pragma omp task shared(right) firstprivate(data, half, len)
  right = sum_omp(data + half, len - half);
  const std::uint64_t left = sum_omp(data, half);
#pragma omp taskwait
  return left + right;
}

cmp::Outcome run(const cmp::Options& o) {
  const std::vector<std::uint32_t> data = reduce::make_input(o.n);
  cmp::omp_setup(o.threads);
  std::uint64_t r = 0;
  const double t =
      cmp::timed([&] { cmp::omp_run_single([&] { r = sum_omp(data.data(), data.size()); }); });
  return cmp::measured(t, reduce::tasks(data.size()), r == reduce::expected(o.n));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"omp", "reduce", reduce::kDefaultN}, run);
}
