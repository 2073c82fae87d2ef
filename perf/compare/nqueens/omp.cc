// nqueens, one `omp task` per free square, taskwait per call.
#include "common/bench_main.h"
#include "common/omp_support.h"
#include "nqueens/nqueens.h"

namespace {

std::uint64_t solve_omp(const nqueens::Board& b) {
  if (b.complete()) return 1;
  std::uint64_t counts[nqueens::kMaxN] = {};
  int children = 0;
  nqueens::for_each_placement(b, [&](const nqueens::Board& child) {
    std::uint64_t* slot = &counts[children++];
#pragma omp task firstprivate(slot, child)
    *slot = solve_omp(child);
  });
#pragma omp taskwait
  std::uint64_t solutions = 0;
  for (int i = 0; i < children; ++i) solutions += counts[i];
  return solutions;
}

cmp::Outcome run(const cmp::Options& o) {
  if (!nqueens::valid_size(o.n)) return cmp::skipped("n_out_of_range");
  cmp::omp_setup(o.threads);
  std::uint64_t r = 0;
  const double t =
      cmp::timed([&] { cmp::omp_run_single([&] { r = solve_omp(nqueens::Board::empty(o.n)); }); });
  return cmp::measured(t, nqueens::tasks(o.n), nqueens::ok(o.n, r));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"omp", "nqueens", nqueens::kDefaultN}, run);
}
