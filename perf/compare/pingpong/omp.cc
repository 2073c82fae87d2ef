// pingpong, omp: two tasks spinning on an atomic turn counter. OpenMP has no way to block a task
// on an event (libgomp's taskyield does nothing), so a waiting side holds its thread: the
// variant needs two threads and reports SKIP with one.
#include <atomic>

#include "common/bench_main.h"
#include "common/omp_support.h"
#include "pingpong/pingpong.h"

namespace {

long play(std::atomic<long>& passes, long n, int side) {
  long made = 0;
  while (true) {
    long p = passes.load(std::memory_order_acquire);
    while (p < n && !pingpong::my_turn(p, side)) {
#pragma omp taskyield
      p = passes.load(std::memory_order_acquire);
    }
    if (p >= n) return made;
    passes.store(p + 1, std::memory_order_release);
    ++made;
  }
}

cmp::Outcome run(const cmp::Options& o) {
  if (o.threads < 2) return cmp::skipped("needs_2_threads");
  cmp::omp_setup(o.threads);
  std::atomic<long> passes{0};
  long made[2] = {0, 0};
  const double t = cmp::timed([&] {
    cmp::omp_run_single([&] {
#pragma omp task shared(passes, made)
      made[1] = play(passes, o.n, 1);
#pragma omp task shared(passes, made)
      made[0] = play(passes, o.n, 0);
    });
  });
  return cmp::measured(t, o.n, pingpong::check(o.n, passes.load(), made));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"omp", "pingpong", pingpong::kDefaultN}, run);
}
