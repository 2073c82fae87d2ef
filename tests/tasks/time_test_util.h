// Helpers for the tests of timeouts, gather/wait, TaskGroup and to_thread.
//
// `run_test(body)` (sync_test_util.h) runs a body on one eager-start worker: deterministic
// interleavings. `run_workers(n, body)` runs it on `n` workers (lazy start, so child tasks are
// stealable and migrate). Timing: tests sleep inside tasks to make timeouts fire, but never rely
// on a sleep to order events; deadlines that must not fire are far away (kLong), deadlines that
// must fire are short (kShort) and what they interrupt is kLong.
#ifndef STEALIO_TESTS_TASKS_TIME_TEST_UTIL_H_
#define STEALIO_TESTS_TASKS_TIME_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <exception>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "stealio/coro.h"
#include "stealio/errors.h"
#include "stealio/future.h"
#include "stealio/scheduler.h"
#include "stealio/sleep.h"
#include "stealio/task.h"
#include "sync_test_util.h"

namespace time_test {

using sync_test::run_briefly;
using sync_test::run_test;

// A deadline that fires during a test.
inline constexpr absl::Duration kShort = absl::Milliseconds(10);
// A delay nothing in a passing test waits for (a timeout fires first, or a cancel).
inline constexpr absl::Duration kLong = absl::Seconds(100);

// Runs `body` as the main task on `workers` workers and waits for it.
inline void run_workers(int workers, stealio::Coro<void> body) {
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = workers});
  sched.run(std::move(body));
}

// The type name-ish description of how `e` ended: "value", "cancelled", "timeout", or what().
inline std::string outcome_of(const std::exception_ptr& e) {
  if (!e) return "value";
  try {
    std::rethrow_exception(e);
  } catch (const stealio::CancelledError&) {
    return "cancelled";
  } catch (const stealio::TimeoutError&) {
    return "timeout";
  } catch (const std::exception& x) {
    return x.what();
  }
}

// Awaits `c` and returns how it ended (see outcome_of).
template <class T>
stealio::Coro<std::string> outcome(stealio::Coro<T> c) {
  std::exception_ptr e;
  try {
    co_await std::move(c);
  } catch (...) {
    e = std::current_exception();
  }
  co_return outcome_of(e);
}

// A coroutine that sleeps `d` and returns `v`.
inline stealio::Coro<int> sleep_then(absl::Duration d, int v) {
  co_await stealio::sleep(d);
  co_return v;
}

// A coroutine that sleeps `d` and throws ValueError(msg).
inline stealio::Coro<int> sleep_then_throw(absl::Duration d, std::string msg) {
  co_await stealio::sleep(d);
  throw stealio::ValueError(msg);
}

// A coroutine that waits for `f` and returns its value.
inline stealio::Coro<int> wait_future(stealio::Future<int> f) { co_return co_await f; }

}  // namespace time_test

#endif  // STEALIO_TESTS_TASKS_TIME_TEST_UTIL_H_
