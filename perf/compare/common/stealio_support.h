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
#include <vector>

namespace cmp {

namespace detail {

inline stealio::Coro<int> warm_step(int i) { co_return i; }

// 1000 tasks per worker, created by one task and awaited in rounds of 4 per worker, so that the
// others steal some in each round: every worker runs tasks, and no more are alive at once than a
// small fork-join step holds. (Creating all 1000 per worker before awaiting them, as this did
// first, held 1000 per worker alive: fib(2)'s peak RSS grew by 313 KiB per worker, 9.4 MiB at 16
// workers against oneTBB's 3.7 MiB, whose warm-up is a parallel_for of as many iterations.)
inline stealio::Coro<int> warm_up(int threads) {
  constexpr int kRounds = 250;
  std::vector<stealio::Task<int>> steps;
  int sum = 0;
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < 4 * threads; ++i) steps.push_back(stealio::create_task(warm_step(i)));
    for (stealio::Task<int>& s : steps) sum += co_await s;
    steps.clear();
  }
  co_return sum;
}

}  // namespace detail

// The scheduler's workers start in its constructor and each has run a task before it returns,
// as cmp::TbbRuntime and cmp::omp_setup warm theirs: the timed region pays for neither thread
// creation nor a worker's first allocations, nor for waking a CPU that sat idle all through the
// input's set-up (on our 2-core VMs that first wake took 7-12 ms after a 1 s set-up).
inline std::unique_ptr<stealio::Scheduler> make_scheduler(int threads) {
  auto sched = std::make_unique<stealio::Scheduler>(stealio::SchedulerOptions{.workers = threads});
  sched->run(detail::warm_up(threads));
  return sched;
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
