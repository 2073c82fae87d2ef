// matmul, quadrant recursion: four `omp task` products per phase, taskwait per phase.
#include "common/bench_main.h"
#include "common/omp_support.h"
#include "matmul/matmul.h"

namespace {

void multiply_omp(matmul::View c, matmul::View a, matmul::View b, long n) {
  if (n <= matmul::kBase) return matmul::kernel(c, a, b, n);
  for (int phase = 0; phase < 2; ++phase) {
    for (const matmul::Product& p : matmul::quadrant_products(c, a, b, n / 2, phase)) {
#pragma omp task firstprivate(p, n)
      multiply_omp(p.c, p.a, p.b, n / 2);
    }
#pragma omp taskwait
  }
}

cmp::Outcome run(const cmp::Options& o) {
  if (!matmul::valid_size(o.n)) return cmp::skipped("n_not_power_of_2");
  matmul::Matrices m = matmul::make_input(o.n);
  cmp::omp_setup(o.threads);
  const double t =
      cmp::timed([&] { cmp::omp_run_single([&] { multiply_omp(m.vc(), m.va(), m.vb(), o.n); }); });
  return cmp::measured(t, matmul::tasks(o.n), matmul::check(m));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"omp", "matmul", matmul::kDefaultN}, run);
}
