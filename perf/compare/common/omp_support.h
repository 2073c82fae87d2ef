// OpenMP setup shared by the omp variants: a team of exactly `threads` threads (no dynamic
// adjustment), started once before the timed region, and the usual "one thread builds the task
// tree inside a parallel region" entry point.
//
// Example:
//   cmp::omp_setup(opts.threads);
//   std::uint64_t r = 0;
//   double t = cmp::timed([&] { cmp::omp_run_single([&] { r = fib(opts.n); }); });
#ifndef STEALIO_PERF_COMPARE_COMMON_OMP_SUPPORT_H_
#define STEALIO_PERF_COMPARE_COMMON_OMP_SUPPORT_H_

#include <omp.h>

namespace cmp {

inline void omp_setup(int threads) {
  omp_set_dynamic(0);
  omp_set_num_threads(threads);
  // libgomp creates the pool's threads at the first parallel region; pay for that here.
#pragma omp parallel
  {}
}

// Runs `fn` on one thread of a full team; the team's other threads execute the tasks `fn`
// creates. The implicit barrier at the end of `single` waits for every task.
template <class F>
void omp_run_single(F&& fn) {
#pragma omp parallel
#pragma omp single
  fn();
}

}  // namespace cmp

#endif  // STEALIO_PERF_COMPARE_COMMON_OMP_SUPPORT_H_
