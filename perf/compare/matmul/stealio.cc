// matmul, stealio: four create_task()ed products per phase, all awaited before the next phase.
#include <vector>

#include "common/bench_main.h"
#include "common/stealio_support.h"
#include "matmul/matmul.h"

namespace {

stealio::Coro<void> multiply_stealio(matmul::View c, matmul::View a, matmul::View b, long n) {
  if (n <= matmul::kBase) {
    matmul::kernel(c, a, b, n);
    co_return;
  }
  for (int phase = 0; phase < 2; ++phase) {
    std::vector<stealio::Task<void>> products;
    products.reserve(4);
    for (const matmul::Product& p : matmul::quadrant_products(c, a, b, n / 2, phase)) {
      products.push_back(stealio::create_task(multiply_stealio(p.c, p.a, p.b, n / 2)));
    }
    for (auto& t : products) co_await t;
  }
}

cmp::Outcome run(const cmp::Options& o) {
  if (!matmul::valid_size(o.n)) return cmp::skipped("n_not_power_of_2");
  matmul::Matrices m = matmul::make_input(o.n);
  auto sched = cmp::make_scheduler(o.threads);
  const double t =
      cmp::timed([&] { cmp::run_on(*sched, multiply_stealio(m.vc(), m.va(), m.vb(), o.n)); });
  return cmp::measured(t, matmul::tasks(o.n), matmul::check(m));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"stealio", "matmul", matmul::kDefaultN}, run);
}
