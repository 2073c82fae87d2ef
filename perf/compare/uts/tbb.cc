// uts, tbb::task_group per node running one task per child.
#include <tbb/task_group.h>

#include "common/bench_main.h"
#include "common/tbb_support.h"
#include "uts/uts.h"

namespace {

std::uint64_t count_tbb(const uts::Node& node, long max_depth) {
  const int k = uts::num_children(node, max_depth);
  if (k == 0) return 1;
  std::uint64_t counts[uts::kMaxChildren];
  tbb::task_group tg;
  for (int i = 0; i < k; ++i) {
    tg.run(
        [&counts, &node, i, max_depth] { counts[i] = count_tbb(uts::child(node, i), max_depth); });
  }
  tg.wait();
  std::uint64_t nodes = 1;
  for (int i = 0; i < k; ++i) nodes += counts[i];
  return nodes;
}

cmp::Outcome run(const cmp::Options& o) {
  const std::uint64_t expected = uts::expected_nodes(o.n);
  if (expected == 0) return cmp::skipped("depth_not_in_known_table");
  cmp::TbbRuntime rt(o.threads);
  std::uint64_t r = 0;
  const double t =
      cmp::timed([&] { rt.arena().execute([&] { r = count_tbb(uts::root(), o.n); }); });
  return cmp::measured(t, expected, r == expected);
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"tbb", "uts", uts::kDefaultN}, run);
}
