// nqueens, tbb::task_group per call running one task per free square.
#include <tbb/task_group.h>

#include "common/bench_main.h"
#include "common/tbb_support.h"
#include "nqueens/nqueens.h"

namespace {

std::uint64_t solve_tbb(const nqueens::Board& b) {
  if (b.complete()) return 1;
  std::uint64_t counts[nqueens::kMaxN] = {};
  int children = 0;
  tbb::task_group tg;
  nqueens::for_each_placement(b, [&](const nqueens::Board& child) {
    std::uint64_t* slot = &counts[children++];
    tg.run([slot, child] { *slot = solve_tbb(child); });
  });
  tg.wait();
  std::uint64_t solutions = 0;
  for (int i = 0; i < children; ++i) solutions += counts[i];
  return solutions;
}

cmp::Outcome run(const cmp::Options& o) {
  if (!nqueens::valid_size(o.n)) return cmp::skipped("n_out_of_range");
  cmp::TbbRuntime rt(o.threads);
  std::uint64_t r = 0;
  const double t =
      cmp::timed([&] { rt.arena().execute([&] { r = solve_tbb(nqueens::Board::empty(o.n)); }); });
  return cmp::measured(t, nqueens::tasks(o.n), nqueens::ok(o.n, r));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"tbb", "nqueens", nqueens::kDefaultN}, run);
}
