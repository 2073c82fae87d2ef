// matmul, quadrant recursion with tbb::task_group: four product tasks per phase, wait per phase.
#include <tbb/task_group.h>

#include "common/bench_main.h"
#include "common/tbb_support.h"
#include "matmul/matmul.h"

namespace {

void multiply_tbb(matmul::View c, matmul::View a, matmul::View b, long n) {
  if (n <= matmul::kBase) return matmul::kernel(c, a, b, n);
  tbb::task_group tg;
  for (int phase = 0; phase < 2; ++phase) {
    for (const matmul::Product& p : matmul::quadrant_products(c, a, b, n / 2, phase)) {
      tg.run([p, n] { multiply_tbb(p.c, p.a, p.b, n / 2); });
    }
    tg.wait();
  }
}

cmp::Outcome run(const cmp::Options& o) {
  if (!matmul::valid_size(o.n)) return cmp::skipped("n_not_power_of_2");
  matmul::Matrices m = matmul::make_input(o.n);
  cmp::TbbRuntime rt(o.threads);
  const double t =
      cmp::timed([&] { rt.arena().execute([&] { multiply_tbb(m.vc(), m.va(), m.vb(), o.n); }); });
  return cmp::measured(t, matmul::tasks(o.n), matmul::check(m));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"tbb", "matmul", matmul::kDefaultN}, run);
}
