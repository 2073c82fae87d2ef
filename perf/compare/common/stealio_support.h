// stealio setup shared by the stealio variants. The stealio calls the variants rely on beyond
// Coro/Task/create_task/co_await are gathered here, so a rename in the tasks/ API is a one-line
// change in this file:
//   stealio::Scheduler(SchedulerOptions{.workers = n})  a scheduler with n worker threads
//   Scheduler::run(coro)      runs a coroutine to completion from outside, returns its value
//   Scheduler::spawn(coro)    submits a coroutine from any thread, returns Task<T>
//   Task<T>::wait(), result() blocking wait from a non-worker thread, then the value (or the
//                             task's exception, rethrown)
//
// Example:
//   auto sched = cmp::make_scheduler(opts.threads);
//   std::uint64_t r = 0;
//   double t = cmp::timed([&] { r = sched->run(fib(opts.n)); });
#ifndef STEALIO_PERF_COMPARE_COMMON_STEALIO_SUPPORT_H_
#define STEALIO_PERF_COMPARE_COMMON_STEALIO_SUPPORT_H_

#include <stealio/stealio.h>

#include <memory>
#include <utility>

namespace cmp {

// The scheduler's workers start in its constructor, outside the timed region.
inline std::unique_ptr<stealio::Scheduler> make_scheduler(int threads) {
  return std::make_unique<stealio::Scheduler>(stealio::SchedulerOptions{.workers = threads});
}

// Runs `coro` to completion on `sched` from this (non-worker) thread and returns its value.
template <class Coro>
auto run_on(stealio::Scheduler& sched, Coro coro) {
  return sched.run(std::move(coro));
}

// Submits `coro` from this (non-worker) thread; returns the Task handle.
template <class Coro>
auto spawn_on(stealio::Scheduler& sched, Coro coro) {
  return sched.spawn(std::move(coro));
}

// Blocks this (non-worker) thread until `task` is done; returns its value.
template <class Task>
decltype(auto) wait_outside(Task& task) {
  task.wait();
  return task.result();
}

}  // namespace cmp

#endif  // STEALIO_PERF_COMPARE_COMMON_STEALIO_SUPPORT_H_
