// reduce, recursive halving with tbb::task_group: right half as a task, left half inline.
#include <tbb/task_group.h>

#include "common/bench_main.h"
#include "common/tbb_support.h"
#include "reduce/reduce.h"

namespace {

std::uint64_t sum_tbb(const std::uint32_t* data, std::size_t len) {
  if (len <= reduce::kGrain) return reduce::sum_leaf(data, len);
  const std::size_t half = len / 2;
  std::uint64_t right = 0;
  tbb::task_group tg;
  tg.run([&] { right = sum_tbb(data + half, len - half); });
  const std::uint64_t left = sum_tbb(data, half);
  tg.wait();
  return left + right;
}

cmp::Outcome run(const cmp::Options& o) {
  const std::vector<std::uint32_t> data = reduce::make_input(o.n);
  cmp::TbbRuntime rt(o.threads);
  std::uint64_t r = 0;
  const double t =
      cmp::timed([&] { rt.arena().execute([&] { r = sum_tbb(data.data(), data.size()); }); });
  return cmp::measured(t, reduce::tasks(data.size()), r == reduce::expected(o.n));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"tbb", "reduce", reduce::kDefaultN}, run);
}
