// uts, plain recursion.
#include "common/bench_main.h"
#include "uts/uts.h"

namespace {

std::uint64_t count_serial(const uts::Node& node, long max_depth) {
  std::uint64_t nodes = 1;
  const int k = uts::num_children(node, max_depth);
  for (int i = 0; i < k; ++i) nodes += count_serial(uts::child(node, i), max_depth);
  return nodes;
}

cmp::Outcome run(const cmp::Options& o) {
  const std::uint64_t expected = uts::expected_nodes(o.n);
  if (expected == 0) return cmp::skipped("depth_not_in_known_table");
  std::uint64_t r = 0;
  const double t = cmp::timed([&] { r = count_serial(uts::root(), o.n); });
  return cmp::measured(t, expected, r == expected);
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"serial", "uts", uts::kDefaultN}, run);
}
