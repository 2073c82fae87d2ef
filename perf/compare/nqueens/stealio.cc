// nqueens, stealio: one create_task()ed coroutine per free square, awaited in order.
#include <vector>

#include "common/bench_main.h"
#include "common/stealio_support.h"
#include "nqueens/nqueens.h"

namespace {

stealio::Coro<std::uint64_t> solve_stealio(nqueens::Board b) {
  if (b.complete()) co_return 1;
  std::vector<stealio::Task<std::uint64_t>> children;
  children.reserve(nqueens::kMaxN);
  nqueens::for_each_placement(b, [&](const nqueens::Board& child) {
    children.push_back(stealio::create_task(solve_stealio(child)));
  });
  std::uint64_t solutions = 0;
  for (auto& c : children) solutions += co_await c;
  co_return solutions;
}

cmp::Outcome run(const cmp::Options& o) {
  if (!nqueens::valid_size(o.n)) return cmp::skipped("n_out_of_range");
  auto sched = cmp::make_scheduler(o.threads);
  std::uint64_t r = 0;
  const double t =
      cmp::timed([&] { r = cmp::run_on(*sched, solve_stealio(nqueens::Board::empty(o.n))); });
  return cmp::measured(t, nqueens::tasks(o.n), nqueens::ok(o.n, r));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"stealio", "nqueens", nqueens::kDefaultN}, run);
}
