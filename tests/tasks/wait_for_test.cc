// Tests of stealio::wait_for (stealio/timeouts.h): CPython's test_waitfor.py, ported.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>

#include "stealio/sleep.h"
#include "stealio/task.h"
#include "stealio/timeouts.h"
#include "stealio/wait.h"
#include "time_test_util.h"

namespace {

using stealio::CancelledError;
using stealio::Clock;
using stealio::Coro;
using stealio::Future;
using stealio::Task;
using time_test::kLong;
using time_test::kShort;
using time_test::outcome;
using time_test::run_test;
using time_test::run_workers;

constexpr absl::Duration kEpsilon = absl::Microseconds(100);

// Runs for `run_for`, ignoring cancel requests (test_waitfor.py's SlowTask).
struct SlowTask {
  static constexpr auto kRunFor = std::chrono::milliseconds(50);
  std::atomic<bool> exited{false};

  Coro<void> run() {
    auto exit_at = Clock::now() + kRunFor;
    for (;;) {
      auto left = exit_at - Clock::now();
      if (left <= Clock::duration::zero()) break;
      try {
        co_await stealio::sleep(absl::FromChrono(left));
      } catch (const CancelledError&) {
      }
    }
    exited = true;
  }
};

TEST(WaitFor, CancellingTheWaiterLetsASlowCoroutineFinish) {
  run_test([]() -> Coro<void> {
    SlowTask t;
    Task<void> waiter = stealio::create_task(stealio::wait_for(t.run(), absl::Milliseconds(100)));
    co_await stealio::sleep(absl::ZeroDuration());
    waiter.cancel();
    std::vector<Task<void>> ws;
    ws.push_back(waiter);
    co_await stealio::wait(std::move(ws));
    EXPECT_TRUE(t.exited);
  }());
}

TEST(WaitFor, ASlowCoroutineIgnoringTheTimeoutFinishes) {
  run_test([]() -> Coro<void> {
    SlowTask t;
    std::string r = co_await outcome(stealio::wait_for(t.run(), absl::Milliseconds(25)));
    EXPECT_EQ(r, "value");  // it swallowed the cancellation: no TimeoutError
    EXPECT_TRUE(t.exited);
  }());
}

TEST(WaitFor, ZeroTimeoutOnADoneFutureGivesItsResult) {
  run_test([]() -> Coro<void> {
    Future<std::string> fut;
    fut.set_result("done");
    EXPECT_EQ(co_await stealio::wait_for(fut, absl::ZeroDuration()), "done");
    EXPECT_TRUE(fut.done());
  }());
}

TEST(WaitFor, ZeroTimeoutNeverStartsACoroutine) {
  // Lazy start (the default): the coroutine's task is cancelled before its first step.
  run_workers(1, []() -> Coro<void> {
    bool started = false;
    auto foo = [&]() -> Coro<void> {
      started = true;
      co_return;
    };
    EXPECT_EQ(co_await outcome(stealio::wait_for(foo(), absl::ZeroDuration())), "timeout");
    EXPECT_FALSE(started);
  }());
}

TEST(WaitFor, ZeroOrNegativeTimeoutCancelsARunningTask) {
  run_test([]() -> Coro<void> {
    for (absl::Duration timeout : {absl::ZeroDuration(), absl::Seconds(-1)}) {
      bool running = false;
      Future<void> started;
      auto foo = [&]() -> Coro<std::string> {
        running = true;
        started.set_result();
        try {
          co_await stealio::sleep(kLong);
        } catch (...) {
          running = false;
          throw;
        }
        co_return "done";
      };
      Task<std::string> fut = stealio::create_task(foo());
      co_await started;
      auto t0 = Clock::now();
      EXPECT_EQ(co_await outcome(stealio::wait_for(fut, timeout)), "timeout");
      EXPECT_LT(Clock::now() - t0, std::chrono::seconds(50));
      EXPECT_TRUE(fut.done());
      EXPECT_TRUE(fut.cancelled());
      EXPECT_FALSE(running);
    }
  }());
}

TEST(WaitFor, TheTimeoutCancelsTheTask) {
  run_test([]() -> Coro<void> {
    bool running = false;
    auto foo = [&]() -> Coro<std::string> {
      running = true;
      try {
        co_await stealio::sleep(kLong);
      } catch (...) {
        running = false;
        throw;
      }
      co_return "done";
    };
    Task<std::string> fut = stealio::create_task(foo());
    EXPECT_EQ(co_await outcome(stealio::wait_for(fut, kShort)), "timeout");
    EXPECT_TRUE(fut.done());
    EXPECT_TRUE(fut.cancelled());
    EXPECT_FALSE(running);
  }());
}

TEST(WaitFor, WithoutATimeoutGivesTheResult) {
  run_test([]() -> Coro<void> {
    auto coro = []() -> Coro<std::string> { co_return "done"; };
    EXPECT_EQ(co_await stealio::wait_for(coro(), absl::InfiniteDuration()), "done");
  }());
}

TEST(WaitFor, AFutureCompletedBeforeTheTimeoutGivesItsResult) {
  run_test([]() -> Coro<void> {
    Future<std::string> fut;
    stealio::get_running_loop().call_later(kShort, [fut]() mutable { fut.set_result("ok"); });
    EXPECT_EQ(co_await stealio::wait_for(fut, kLong), "ok");
  }());
}

TEST(WaitFor, ACoroutineThatSwallowsTheCancellationGivesItsResult) {
  run_test([]() -> Coro<void> {
    auto inner = []() -> Coro<int> {
      EXPECT_EQ(co_await outcome(stealio::sleep(kLong)), "cancelled");
      co_return 1;
    };
    EXPECT_EQ(co_await stealio::wait_for(inner(), kShort), 1);
    auto return_42 = []() -> Coro<int> {
      try {
        co_await stealio::sleep(kLong);
      } catch (const CancelledError&) {
        co_return 42;
      }
      co_return 0;
    };
    EXPECT_EQ(co_await stealio::wait_for(return_42(), kShort), 42);
  }());
}

Coro<void> slow_to_cancel(bool& done) {
  std::exception_ptr e;
  try {
    co_await stealio::sleep(kLong);
  } catch (const CancelledError&) {
    e = std::current_exception();
  }
  if (e) co_await stealio::sleep(kEpsilon);
  done = true;
  if (e) std::rethrow_exception(e);
}

TEST(WaitFor, WaitsForTheTasksCancellationToEnd) {
  run_test([]() -> Coro<void> {
    bool done = false;
    Task<void> inner = stealio::create_task(slow_to_cancel(done));
    EXPECT_EQ(co_await outcome(stealio::wait_for(inner, kEpsilon)), "timeout");
    EXPECT_TRUE(done);
    EXPECT_TRUE(inner.cancelled());
  }());
}

TEST(WaitFor, ZeroTimeoutWaitsForTheTasksCancellationToEnd) {
  run_test([]() -> Coro<void> {
    bool done = false;
    Task<void> inner = stealio::create_task(slow_to_cancel(done));
    co_await stealio::sleep(kEpsilon);
    EXPECT_EQ(co_await outcome(stealio::wait_for(inner, absl::ZeroDuration())), "timeout");
    EXPECT_TRUE(done);
    EXPECT_TRUE(inner.cancelled());
  }());
}

TEST(WaitFor, ReraisesAnExceptionRaisedDuringCancellation) {
  run_test([]() -> Coro<void> {
    auto inner = []() -> Coro<void> {
      try {
        co_await stealio::sleep(absl::Milliseconds(200));
      } catch (...) {
      }
      throw stealio::ValueError("FooException");
    };
    Task<void> t = stealio::create_task(inner());
    EXPECT_EQ(co_await outcome(stealio::wait_for(t, kEpsilon)), "FooException");
  }());
}

TEST(WaitFor, CancellableWhileTheTaskHoldsUpItsCancellation) {
  run_workers(1, []() -> Coro<void> {
    auto inner = []() -> Coro<int> {
      if (co_await outcome(stealio::sleep(kShort * 3)) == "cancelled") {
        if (co_await outcome(stealio::sleep(kShort * 3)) == "cancelled") {
          co_await stealio::sleep(kShort * 3);
        }
      }
      co_return 42;
    };
    Task<int> inner_task = stealio::create_task(inner());
    Task<int> task = stealio::create_task(stealio::wait_for(inner_task, kShort));
    task.cancel();
    EXPECT_EQ(co_await outcome(stealio::internal::as_coro(task)), "cancelled");
    EXPECT_EQ(co_await inner_task, 42);
  }());
}

Coro<void> cancel_wait_for(absl::Duration timeout) {
  Future<void> never;
  auto blocking = [](Future<void> f) -> Coro<void> { co_await f; };
  Task<void> task = stealio::create_task(blocking(never));
  Task<void> wait = stealio::create_task(stealio::wait_for(task, timeout));
  stealio::get_running_loop().call_soon([wait]() mutable { wait.cancel(); });
  EXPECT_EQ(co_await outcome(stealio::internal::as_coro(wait)), "cancelled");
  // bpo-23219: cancelling the wait cancels the task.
  EXPECT_TRUE(task.cancelled());
}

TEST(WaitFor, CancellingTheWaitCancelsTheTask) {
  run_test(cancel_wait_for(absl::InfiniteDuration()));
  run_test(cancel_wait_for(absl::Seconds(60)));
}

TEST(WaitFor, ACancelAfterTheWaitForIsNotSwallowed) {
  // gh-86296.
  run_test([]() -> Coro<void> {
    bool reached_end = false;
    auto wait_for_coro = [&]() -> Coro<void> {
      co_await stealio::wait_for([]() -> Coro<void> { co_return; }(), absl::Seconds(100));
      co_await stealio::sleep(kLong);
      reached_end = true;
    };
    Task<void> task = stealio::create_task(wait_for_coro());
    co_await stealio::sleep(absl::ZeroDuration());
    EXPECT_FALSE(task.done());
    task.cancel();
    EXPECT_EQ(co_await outcome(stealio::internal::as_coro(task)), "cancelled");
    EXPECT_FALSE(reached_end);
  }());
}

TEST(WaitForWorkers, TimesOutTasksRunningOnOtherWorkers) {
  run_workers(4, []() -> Coro<void> {
    std::vector<Task<std::string>> waits;
    for (int i = 0; i < 50; ++i) {
      auto one = []() -> Coro<std::string> {
        Task<int> t = stealio::create_task(time_test::sleep_then(kLong, 1));
        std::string r = co_await outcome(stealio::wait_for(t, absl::Milliseconds(2)));
        co_return r + (t.cancelled() ? "+cancelled" : "");
      };
      waits.push_back(stealio::create_task(one()));
    }
    for (auto& w : waits) EXPECT_EQ(co_await w, "timeout+cancelled");
  }());
}

}  // namespace
