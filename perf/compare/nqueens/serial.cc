// nqueens, plain recursion; also counts the placements so the kKnown table can be checked.
#include "common/bench_main.h"
#include "nqueens/nqueens.h"

namespace {

std::uint64_t placements = 0;

std::uint64_t solve_serial(const nqueens::Board& b) {
  if (b.complete()) return 1;
  std::uint64_t solutions = 0;
  nqueens::for_each_placement(b, [&](const nqueens::Board& child) {
    ++placements;
    solutions += solve_serial(child);
  });
  return solutions;
}

cmp::Outcome run(const cmp::Options& o) {
  if (!nqueens::valid_size(o.n)) return cmp::skipped("n_out_of_range");
  std::uint64_t r = 0;
  const double t = cmp::timed([&] { r = solve_serial(nqueens::Board::empty(o.n)); });
  const bool ok = nqueens::ok(o.n, r) && placements == nqueens::kKnown[o.n].placements;
  return cmp::measured(t, nqueens::tasks(o.n), ok);
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"serial", "nqueens", nqueens::kDefaultN}, run);
}
