// matmul, the same quadrant recursion as the parallel variants, run serially.
#include "common/bench_main.h"
#include "matmul/matmul.h"

namespace {

void multiply_serial(matmul::View c, matmul::View a, matmul::View b, long n) {
  if (n <= matmul::kBase) return matmul::kernel(c, a, b, n);
  for (int phase = 0; phase < 2; ++phase) {
    for (const matmul::Product& p : matmul::quadrant_products(c, a, b, n / 2, phase)) {
      multiply_serial(p.c, p.a, p.b, n / 2);
    }
  }
}

cmp::Outcome run(const cmp::Options& o) {
  if (!matmul::valid_size(o.n)) return cmp::skipped("n_not_power_of_2");
  matmul::Matrices m = matmul::make_input(o.n);
  const double t = cmp::timed([&] { multiply_serial(m.vc(), m.va(), m.vb(), o.n); });
  return cmp::measured(t, matmul::tasks(o.n), matmul::check(m));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"serial", "matmul", matmul::kDefaultN}, run);
}
