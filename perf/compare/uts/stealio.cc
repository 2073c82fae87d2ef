// uts, stealio: one create_task()ed coroutine per child, awaited in order.
#include <vector>

#include "common/bench_main.h"
#include "common/stealio_support.h"
#include "uts/uts.h"

namespace {

// Counts the subtree of `parent`'s child `index` (of `parent` itself when index < 0). The child's
// state is derived here, inside the task, as the other variants do.
stealio::Coro<std::uint64_t> count_stealio(uts::Node parent, int index, long max_depth) {
  const uts::Node node = index < 0 ? parent : uts::child(parent, index);
  const int k = uts::num_children(node, max_depth);
  if (k == 0) co_return 1;
  std::vector<stealio::Task<std::uint64_t>> children;
  children.reserve(k);
  for (int i = 0; i < k; ++i) {
    children.push_back(stealio::create_task(count_stealio(node, i, max_depth)));
  }
  std::uint64_t nodes = 1;
  for (auto& c : children) nodes += co_await c;
  co_return nodes;
}

cmp::Outcome run(const cmp::Options& o) {
  const std::uint64_t expected = uts::expected_nodes(o.n);
  if (expected == 0) return cmp::skipped("depth_not_in_known_table");
  auto sched = cmp::make_scheduler(o.threads);
  std::uint64_t r = 0;
  const double t =
      cmp::timed([&] { r = cmp::run_on(*sched, count_stealio(uts::root(), -1, o.n)); });
  return cmp::measured(t, expected, r == expected);
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"stealio", "uts", uts::kDefaultN}, run);
}
