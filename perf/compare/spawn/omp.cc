// spawn, omp: one thread of the team creates n tasks in a `single` region; the implicit barrier
// waits for them. libgomp runs a new task inline once more than 64 per thread are queued, so the
// creating thread ends up executing part of the work itself.
#include "common/bench_main.h"
#include "common/omp_support.h"
#include "spawn/spawn.h"

namespace {

cmp::Outcome run(const cmp::Options& o) {
  std::vector<std::uint64_t> out(static_cast<std::size_t>(o.n), 0);
  cmp::omp_setup(o.threads);
  std::uint64_t* slots = out.data();
  const std::size_t n = out.size();
  const double t = cmp::timed([&] {
    cmp::omp_run_single([&] {
      for (std::size_t i = 0; i < n; ++i) {
#pragma omp task firstprivate(slots, i)
        spawn::body(slots, i);
      }
    });
  });
  return cmp::measured(t, out.size(), spawn::check(out));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"omp", "spawn", spawn::kDefaultN}, run);
}
