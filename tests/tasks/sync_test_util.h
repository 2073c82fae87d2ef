// Helpers for the tests of the synchronization primitives (lock, event, condition, semaphore,
// barrier, queue): deterministic interleavings on a one-worker scheduler.
//
// A test body is a coroutine run as the main task (`run_test(body)`) on one worker with eager
// task start, so `create_task(c)` runs `c` at once, up to its first suspension, in creation
// order: a task that has to wait is queued on the primitive when create_task returns, as after
// CPython's `await asyncio.sleep(0)`. `run_briefly()` then lets every ready task run until all
// are blocked again (CPython's test_utils.run_briefly / a few `sleep(0)`).
//
// Cross-worker tests use `run_workers(n, body)` and place tasks on given workers with
// `spawn_pinned(loop, coro)`, so that contending tasks really sit on different threads.
#ifndef STEALIO_TESTS_TASKS_SYNC_TEST_UTIL_H_
#define STEALIO_TESTS_TASKS_SYNC_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>

#include "stealio/coro.h"
#include "stealio/errors.h"
#include "stealio/loop.h"
#include "stealio/scheduler.h"
#include "stealio/sleep.h"
#include "stealio/task.h"

namespace sync_test {

// Runs `body` (a Coro<void>) as the main task on a one-worker, eager-start scheduler and waits
// for it; its exceptions surface here. (Inside a coroutine use EXPECT_*: ASSERT_* `return`s.)
inline void run_test(stealio::Coro<void> body) {
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = 1, .eager_start = true});
  sched.run(std::move(body));
}

// Runs `body` as the main task on `workers` workers (lazy start: child tasks are stealable).
inline void run_workers(int workers, stealio::Coro<void> body) {
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = workers});
  sched.run(std::move(body));
}

// A task on `loop` whose steps all run there (never stolen). From any worker or thread.
template <class T>
stealio::Task<T> spawn_pinned(stealio::Loop& loop, stealio::Coro<T> coro) {
  return loop.create_task(std::move(coro), stealio::TaskOptions().with_pinned(true));
}

// `co_await p.acquire()` as a coroutine, for create_task (Lock, Semaphore, Condition).
template <class P>
stealio::Coro<bool> acquire(P& p) {
  co_return co_await p.acquire();
}

// Yields until the other tasks of this (one-worker) loop have run and blocked: until two rounds
// in a row in which no step but ours ran. Two, because the worker's fairness turn (every 61st)
// may run a yielded step before the worker's deque; it cannot do so twice in a row.
inline stealio::Coro<void> run_briefly() {
  stealio::Loop& loop = stealio::get_running_loop();
  int quiet = 0;
  for (int round = 0; round < 100000 && quiet < 2; ++round) {
    std::uint64_t before = loop.stats().steps;
    co_await stealio::yield();
    quiet = loop.stats().steps - before == 1 ? quiet + 1 : 0;
  }
  EXPECT_EQ(quiet, 2) << "tasks kept running: no quiescent point";
}

// The CancelledError's message if `t` ended cancelled, else "<not cancelled>".
template <class T>
std::string cancel_message(stealio::Task<T>& t) {
  try {
    t.result();
  } catch (const stealio::CancelledError& e) {
    return e.what();
  } catch (...) {
  }
  return "<not cancelled>";
}

}  // namespace sync_test

#endif  // STEALIO_TESTS_TASKS_SYNC_TEST_UTIL_H_
