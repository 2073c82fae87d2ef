// uts, one `omp task` per child, taskwait per node.
#include "common/bench_main.h"
#include "common/omp_support.h"
#include "uts/uts.h"

namespace {

std::uint64_t count_omp(const uts::Node& node, long max_depth) {
  const int k = uts::num_children(node, max_depth);
  if (k == 0) return 1;
  std::uint64_t counts[uts::kMaxChildren];
  for (int i = 0; i < k; ++i) {
#pragma omp task shared(counts, node) firstprivate(i, max_depth)
    counts[i] = count_omp(uts::child(node, i), max_depth);
  }
#pragma omp taskwait
  std::uint64_t nodes = 1;
  for (int i = 0; i < k; ++i) nodes += counts[i];
  return nodes;
}

cmp::Outcome run(const cmp::Options& o) {
  const std::uint64_t expected = uts::expected_nodes(o.n);
  if (expected == 0) return cmp::skipped("depth_not_in_known_table");
  cmp::omp_setup(o.threads);
  std::uint64_t r = 0;
  const double t =
      cmp::timed([&] { cmp::omp_run_single([&] { r = count_omp(uts::root(), o.n); }); });
  return cmp::measured(t, expected, r == expected);
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"omp", "uts", uts::kDefaultN}, run);
}
