// TBB setup shared by the tbb variants: a task_arena of exactly `threads` threads, capped
// process-wide by global_control so TBB starts no more workers than asked, and warmed up so the
// timed region does not pay for thread creation.
//
// Caller::kJoins (the default): the calling thread enters the arena with execute() and is one of
// the `threads`, with threads-1 TBB workers, like an OpenMP team.
// Caller::kStaysOutside: `threads` TBB workers and no slot kept for the caller, which submits
// from outside with enqueue(); what a stealio Scheduler with `threads` workers looks like.
//
// Example:
//   cmp::TbbRuntime rt(opts.threads);
//   std::uint64_t r = 0;
//   double t = cmp::timed([&] { rt.arena().execute([&] { r = fib(opts.n); }); });
#ifndef STEALIO_PERF_COMPARE_COMMON_TBB_SUPPORT_H_
#define STEALIO_PERF_COMPARE_COMMON_TBB_SUPPORT_H_

#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <atomic>

namespace cmp {

class TbbRuntime {
 public:
  enum class Caller { kJoins, kStaysOutside };

  explicit TbbRuntime(int threads, Caller caller = Caller::kJoins)
      // max_allowed_parallelism counts the caller: it allows that many threads minus one workers.
      : control_(tbb::global_control::max_allowed_parallelism,
                 static_cast<std::size_t>(caller == Caller::kJoins ? threads : threads + 1)),
        arena_(threads, caller == Caller::kJoins ? 1 : 0) {
    arena_.initialize();
    // Touch every worker once: a parallel_for with enough chunks that each thread takes some.
    std::atomic<long> sink{0};
    arena_.execute([&] {
      tbb::parallel_for(0, 1000 * threads,
                        [&](int i) { sink.fetch_add(i, std::memory_order_relaxed); });
    });
  }

  tbb::task_arena& arena() { return arena_; }

 private:
  tbb::global_control control_;
  tbb::task_arena arena_;
};

}  // namespace cmp

#endif  // STEALIO_PERF_COMPARE_COMMON_TBB_SUPPORT_H_
