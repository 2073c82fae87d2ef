// Tests of stealio/timeouts.h (Timeout, timeout, timeout_at): CPython's test_timeouts.py, ported,
// and timeouts on several workers.
#include "stealio/timeouts.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <exception>
#include <latch>
#include <string>
#include <vector>

#include "stealio/gather.h"
#include "stealio/sleep.h"
#include "stealio/task.h"
#include "time_test_util.h"

namespace {

using stealio::CancelledError;
using stealio::Clock;
using stealio::Coro;
using stealio::RuntimeError;
using stealio::Task;
using stealio::Timeout;
using stealio::TimeoutError;
using time_test::kLong;
using time_test::kShort;
using time_test::outcome;
using time_test::run_test;
using time_test::run_workers;

Coro<void> sleep_long() { co_await stealio::sleep(kLong); }

stealio::internal::TaskCore& me() { return *stealio::internal::running_task(); }

TEST(Timeout, ExpiresAndRaisesTimeoutError) {
  run_test([]() -> Coro<void> {
    Timeout cm(kShort);
    EXPECT_EQ(co_await outcome(cm.run(sleep_long())), "timeout");
    EXPECT_TRUE(cm.expired());
  }());
}

TEST(Timeout, TimeoutAtKeepsItsDeadline) {
  run_test([]() -> Coro<void> {
    auto deadline = Clock::now() + std::chrono::milliseconds(10);
    Timeout cm(deadline);
    EXPECT_EQ(co_await outcome(cm.run(sleep_long())), "timeout");
    EXPECT_TRUE(cm.expired());
    EXPECT_EQ(cm.when(), deadline);
    EXPECT_EQ(co_await outcome(stealio::timeout_at(deadline, sleep_long())), "timeout");
  }());
}

TEST(Timeout, NestedWithTheSameDeadlineOnlyTheOuterRaisesTimeoutError) {
  run_test([]() -> Coro<void> {
    auto deadline = Clock::now() + std::chrono::milliseconds(10);
    Timeout cm1(deadline);
    Timeout cm2(deadline);
    bool cancelled = false;
    std::string r = co_await outcome(cm1.run([&](Timeout&) -> Coro<void> {
      std::string inner = co_await outcome(cm2.run(sleep_long()));
      cancelled = inner == "cancelled";
      throw CancelledError();  // re-raised, as the `raise` in the except block
    }));
    EXPECT_EQ(r, "timeout");
    EXPECT_TRUE(cancelled);
    EXPECT_TRUE(cm1.expired());
    EXPECT_TRUE(cm2.expired());
    EXPECT_EQ(me().cancelling(), 0);
  }());
}

TEST(Timeout, TheBodySeesCancelledError) {
  run_test([]() -> Coro<void> {
    bool cancelled = false;
    std::string r = co_await outcome(stealio::timeout(kShort, [&]() -> Coro<void> {
      try {
        co_await stealio::sleep(kLong);
      } catch (const CancelledError&) {
        cancelled = true;
        throw;
      }
    }()));
    EXPECT_EQ(r, "timeout");
    EXPECT_TRUE(cancelled);
  }());
}

TEST(Timeout, NotExpiredWhenTheBodyFinishesFirst) {
  run_test([]() -> Coro<void> {
    Timeout cm(absl::Seconds(10));
    co_await cm.run(stealio::sleep(absl::Milliseconds(1)));
    auto t1 = Clock::now();
    EXPECT_FALSE(cm.expired());
    EXPECT_TRUE(cm.when().has_value());
    EXPECT_GT(cm.when().value_or(t1), t1);
    EXPECT_EQ(cm.repr(), "<Timeout [finished]>");
  }());
}

TEST(Timeout, InfiniteDelayAndNoDeadlineAreDisabled) {
  run_test([]() -> Coro<void> {
    Timeout cm(absl::InfiniteDuration());
    co_await cm.run(stealio::sleep(absl::Milliseconds(1)));
    EXPECT_FALSE(cm.expired());
    EXPECT_FALSE(cm.when().has_value());
    Timeout at(std::nullopt);
    co_await at.run(stealio::sleep(absl::Milliseconds(1)));
    EXPECT_FALSE(at.expired());
    EXPECT_FALSE(at.when().has_value());
  }());
}

TEST(Timeout, ZeroDelayExpiresAtTheFirstSuspension) {
  run_test([]() -> Coro<void> {
    for (absl::Duration body_sleep : {kLong, absl::ZeroDuration()}) {
      auto t0 = Clock::now();
      Timeout cm(absl::ZeroDuration());
      EXPECT_EQ(co_await outcome(cm.run(stealio::sleep(body_sleep))), "timeout");
      auto t1 = Clock::now();
      EXPECT_TRUE(cm.expired());
      EXPECT_TRUE(t0 <= *cm.when() && *cm.when() <= t1);
    }
  }());
}

TEST(Timeout, PastDeadlineExpiresAtTheFirstSuspension) {
  run_test([]() -> Coro<void> {
    auto t0 = Clock::now();
    Timeout cm(absl::Seconds(-11));
    EXPECT_EQ(co_await outcome(cm.run(stealio::sleep(absl::ZeroDuration()))), "timeout");
    EXPECT_TRUE(cm.expired());
    EXPECT_LT(*cm.when(), t0);
  }());
}

// Regression: computing the deadline overflowed a signed integer (UBSan) for every delay.
TEST(Timeout, ExtremeDelaysSaturate) {
  run_test([]() -> Coro<void> {
    EXPECT_EQ(Timeout(absl::Hours(1e9)).when(), stealio::TimePoint::max());
    EXPECT_EQ(Timeout(-absl::InfiniteDuration()).when(), stealio::TimePoint::min());
    EXPECT_EQ(Timeout(-absl::Hours(1e9)).when(), stealio::TimePoint::min());
    auto before = Clock::now();
    auto when = Timeout(absl::Seconds(5)).when();
    EXPECT_TRUE(when && *when >= before + std::chrono::seconds(5) &&
                *when <= Clock::now() + std::chrono::seconds(5));
    EXPECT_EQ(co_await outcome(stealio::timeout(-absl::InfiniteDuration(), sleep_long())),
              "timeout");
  }());
}

TEST(Timeout, ForeignExceptionPassesThrough) {
  run_test([]() -> Coro<void> {
    Timeout cm(kLong);
    std::string r = co_await outcome(cm.run([]() -> Coro<void> {
      throw stealio::ValueError("key");
      co_return;
    }()));
    EXPECT_EQ(r, "key");
    EXPECT_FALSE(cm.expired());
  }());
}

TEST(Timeout, ForeignExceptionRaisedOnTimeoutWins) {
  run_test([]() -> Coro<void> {
    auto crash = []() -> Coro<void> {
      try {
        co_await stealio::sleep(kLong);
      } catch (...) {
      }
      throw stealio::ValueError("division by zero");
    };
    EXPECT_EQ(co_await outcome(stealio::timeout(kShort, crash())), "division by zero");
    EXPECT_EQ(me().cancelling(), 0);
  }());
}

TEST(Timeout, ForeignCancelIsNotATimeout) {
  run_test([]() -> Coro<void> {
    Timeout cm(absl::Seconds(10));
    std::string r = co_await outcome(cm.run([]() -> Coro<void> {
      me().cancel(std::string());
      co_await stealio::sleep(kLong);
    }()));
    EXPECT_EQ(r, "cancelled");
    EXPECT_FALSE(cm.expired());
    EXPECT_EQ(me().uncancel(), 0);
  }());
}

TEST(Timeout, TheOuterTaskIsNotCancelled) {
  run_test([]() -> Coro<void> {
    Task<std::string> t = stealio::create_task(outcome(stealio::timeout(kShort, sleep_long())));
    EXPECT_EQ(co_await t, "timeout");
    EXPECT_FALSE(t.cancelled());
    EXPECT_TRUE(t.done());
    EXPECT_EQ(t.cancelling(), 0);
  }());
}

TEST(Timeout, NestedWithTheOuterFiringFirstPropagatesCancelledErrorThroughTheInner) {
  run_test([]() -> Coro<void> {
    Timeout inner(absl::Seconds(50));
    std::string inner_saw;
    std::string r = co_await outcome(stealio::timeout(kShort, [&]() -> Coro<void> {
      inner_saw = co_await outcome(inner.run(sleep_long()));
      if (inner_saw == "cancelled") throw CancelledError();
    }()));
    EXPECT_EQ(r, "timeout");
    EXPECT_EQ(inner_saw, "cancelled");
    EXPECT_FALSE(inner.expired());
  }());
}

TEST(Timeout, AfterTheInnerExpiresTheOuterStillInterruptsTheRest) {
  run_test([]() -> Coro<void> {
    std::string inner_saw;
    auto t0 = Clock::now();
    std::string r = co_await outcome(stealio::timeout(absl::Milliseconds(100), [&]() -> Coro<void> {
      inner_saw = co_await outcome(stealio::timeout(kShort, sleep_long()));
      co_await stealio::sleep(kLong);  // interrupted by the outer scope
    }()));
    EXPECT_EQ(r, "timeout");
    EXPECT_EQ(inner_saw, "timeout");
    EXPECT_LT(Clock::now() - t0, std::chrono::seconds(50));
  }());
}

TEST(Timeout, RescheduleFromAnotherTask) {
  run_test([]() -> Coro<void> {
    stealio::Future<Timeout*> entered;
    auto deadline1 = Clock::now() + std::chrono::seconds(10);
    auto deadline2 = deadline1 + std::chrono::seconds(20);
    Timeout cm(deadline1);
    Task<void> task = stealio::create_task(cm.run([&](Timeout& scope) -> Coro<void> {
      entered.set_result(&scope);
      co_await stealio::sleep(absl::Seconds(50));
    }));
    Timeout* got = co_await entered;
    EXPECT_EQ(got, &cm);
    EXPECT_EQ(cm.when(), deadline1);
    cm.reschedule(deadline2);
    EXPECT_EQ(cm.when(), deadline2);
    cm.reschedule(std::nullopt);
    EXPECT_FALSE(cm.when().has_value());
    task.cancel();
    EXPECT_EQ(co_await outcome(stealio::internal::as_coro(task)), "cancelled");
    EXPECT_FALSE(cm.expired());
  }());
}

TEST(Timeout, RescheduleLaterDisarmsTheEarlierDeadline) {
  run_test([]() -> Coro<void> {
    Timeout cm(kShort);
    co_await cm.run([](Timeout& scope) -> Coro<void> {
      scope.reschedule(Clock::now() + std::chrono::seconds(100));
      co_await stealio::sleep(kShort * 5);  // past the first deadline: must not fire
    });
    EXPECT_FALSE(cm.expired());
  }());
}

TEST(Timeout, RescheduleToThePastExpiresAtOnce) {
  run_test([]() -> Coro<void> {
    Timeout cm(kLong);
    std::string r = co_await outcome(cm.run([](Timeout& scope) -> Coro<void> {
      scope.reschedule(Clock::now() - std::chrono::seconds(1));
      co_await stealio::sleep(kLong);
    }));
    EXPECT_EQ(r, "timeout");
    EXPECT_TRUE(cm.expired());
  }());
}

// `<Timeout [active] when=\d+\.\d*>` (std::regex trips -Wmaybe-uninitialized under ASan).
bool is_active_repr(const std::string& r) {
  const std::string head = "<Timeout [active] when=";
  if (r.rfind(head, 0) != 0 || r.back() != '>') return false;
  std::string num = r.substr(head.size(), r.size() - head.size() - 1);
  std::size_t dot = num.find('.');
  if (dot == std::string::npos || dot == 0) return false;
  for (std::size_t i = 0; i < num.size(); ++i) {
    if (i != dot && !std::isdigit(static_cast<unsigned char>(num[i]))) return false;
  }
  return true;
}

TEST(Timeout, Repr) {
  run_test([]() -> Coro<void> {
    Timeout active(absl::Seconds(10));
    co_await active.run([](Timeout& scope) -> Coro<void> {
      EXPECT_TRUE(is_active_repr(scope.repr())) << scope.repr();
      co_return;
    });
    EXPECT_EQ(active.repr(), "<Timeout [finished]>");
    Timeout expired(kShort);
    EXPECT_EQ(co_await outcome(expired.run(sleep_long())), "timeout");
    EXPECT_EQ(expired.repr(), "<Timeout [expired]>");
    Timeout disabled(std::nullopt);
    EXPECT_EQ(disabled.repr(), "<Timeout [created]>");
    co_await disabled.run([](Timeout& scope) -> Coro<void> {
      EXPECT_EQ(scope.repr(), "<Timeout [active] when=None>");
      co_return;
    });
  }());
}

TEST(Timeout, NestedTimeoutInCleanupOfAnExpiredOne) {
  run_test([]() -> Coro<void> {
    std::string inner;
    std::string r = co_await outcome(stealio::timeout(kShort, [&]() -> Coro<void> {
      std::exception_ptr pending;
      try {
        co_await stealio::sleep(kLong);
      } catch (...) {
        pending = std::current_exception();
      }
      // finally: (a co_await cannot sit in a handler)
      inner = co_await outcome(stealio::timeout(kShort, sleep_long()));
      if (pending) std::rethrow_exception(pending);
    }()));
    EXPECT_EQ(r, "timeout");
    EXPECT_EQ(inner, "timeout");
  }());
}

TEST(Timeout, TimeoutAfterAnUnwithdrawnCancellation) {
  run_test([]() -> Coro<void> {
    me().cancel(std::string());
    EXPECT_EQ(co_await outcome(stealio::sleep(kLong)), "cancelled");
    EXPECT_EQ(me().cancelling(), 1);
    // Entered with cancelling() == 1: its own cancellation is still told apart.
    EXPECT_EQ(co_await outcome(stealio::timeout(absl::ZeroDuration(), sleep_long())), "timeout");
    EXPECT_EQ(me().cancelling(), 1);
    me().uncancel();
  }());
}

TEST(Timeout, CancelInsideATimeoutAfterAnUnwithdrawnCancellation) {
  run_test([]() -> Coro<void> {
    me().cancel(std::string());
    EXPECT_EQ(co_await outcome(stealio::sleep(kLong)), "cancelled");
    std::string r = co_await outcome(stealio::timeout(absl::Seconds(10), []() -> Coro<void> {
      me().cancel(std::string());
      co_await stealio::sleep(kLong);
    }()));
    EXPECT_EQ(r, "cancelled");
    EXPECT_EQ(me().cancelling(), 2);
    me().uncancel();
    me().uncancel();
  }());
}

TEST(Timeout, ExpiringWhileAnOuterCancelIsPendingStaysCancelled) {
  // The scope's cancel and one from outside both land: the scope must not swallow the outside
  // one into a TimeoutError (uncancel() leaves 1 > the 0 seen on entry).
  run_test([]() -> Coro<void> {
    Timeout cm(absl::ZeroDuration());
    std::string r = co_await outcome(cm.run([]() -> Coro<void> {
      me().cancel(std::string());
      co_await stealio::sleep(kLong);
    }()));
    EXPECT_EQ(r, "cancelled");
    EXPECT_TRUE(cm.expired());
    EXPECT_EQ(me().cancelling(), 1);
    me().uncancel();
  }());
}

// The body's cancellation is still unwinding when the scope expires: cm.reschedule(now), then
// wait (yields, no sleep) until the timer has run.
Coro<void> expire_while_unwinding(Timeout& cm) {
  std::exception_ptr cancelled;
  try {
    co_await stealio::sleep(kLong);
  } catch (const CancelledError&) {
    cancelled = std::current_exception();
  }
  if (!cancelled) co_return;
  cm.reschedule(Clock::now());
  while (!cm.expired()) co_await stealio::yield();  // the scope's cancel() lands on a yield
  std::rethrow_exception(cancelled);
}

TEST(Timeout, ACancelPendingOnEntryIsNotSwallowedWhenTheScopeExpires) {
  // CPython gh-134471: a cancel() requested before the scope was entered, and not yet delivered
  // (no suspension since), must not be counted as "seen on entry": when the scope then expires,
  // the exit would take the outside request for its own and raise TimeoutError.
  run_test([]() -> Coro<void> {
    me().cancel(std::string());  // pending: the next suspension delivers it
    Timeout cm(kLong);
    std::string r = co_await outcome(cm.run(expire_while_unwinding(cm)));
    EXPECT_EQ(r, "cancelled");
    EXPECT_TRUE(cm.expired());
    EXPECT_EQ(me().cancelling(), 1);
    me().uncancel();
  }());
}

TEST(Timeout, AlreadyEnteredIsARuntimeError) {
  run_test([]() -> Coro<void> {
    Timeout cm(absl::Seconds(10));
    std::string r = co_await outcome(cm.run([&](Timeout&) -> Coro<void> {
      co_await cm.run([](Timeout&) -> Coro<void> { co_return; });
    }));
    EXPECT_EQ(r, "Timeout has already been entered");
    EXPECT_EQ(co_await outcome(cm.run([](Timeout&) -> Coro<void> { co_return; })),
              "Timeout has already been entered");
  }());
}

TEST(Timeout, RescheduleOutsideTheActiveScopeIsARuntimeError) {
  run_test([]() -> Coro<void> {
    Timeout created(absl::Seconds(10));
    try {
      created.reschedule(Clock::now());
      ADD_FAILURE() << "no error";
    } catch (const RuntimeError& e) {
      EXPECT_STREQ(e.what(), "Timeout has not been entered");
    }
    co_await created.run([](Timeout&) -> Coro<void> { co_return; });
    try {
      created.reschedule(Clock::now());
      ADD_FAILURE() << "no error";
    } catch (const RuntimeError& e) {
      EXPECT_STREQ(e.what(), "Cannot change state of finished Timeout");
    }
    Timeout expired(kShort);
    EXPECT_EQ(co_await outcome(expired.run(sleep_long())), "timeout");
    try {
      expired.reschedule(std::nullopt);
      ADD_FAILURE() << "no error";
    } catch (const RuntimeError& e) {
      EXPECT_STREQ(e.what(), "Cannot change state of expired Timeout");
    }
  }());
}

TEST(Timeout, OutsideATaskIsARuntimeError) {
  Timeout cm(absl::Seconds(10));
  Coro<void> c = cm.run([](Timeout&) -> Coro<void> { co_return; });
  c.handle().resume();  // not in a task: enter() raises
  ASSERT_TRUE(c.done());
  ASSERT_TRUE(c.handle().promise().exception());
  try {
    std::rethrow_exception(c.handle().promise().exception());
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "Timeout should be used inside a task");
  }
  try {
    cm.reschedule(std::nullopt);
    ADD_FAILURE() << "no error";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "Timeout has not been entered");
  }
}

TEST(Timeout, ReturnsTheBodysValue) {
  run_test([]() -> Coro<void> {
    EXPECT_EQ(co_await stealio::timeout(absl::Seconds(10),
                                        time_test::sleep_then(absl::ZeroDuration(), 7)),
              7);
  }());
}

// --- several workers -------------------------------------------------------------------------

TEST(TimeoutWorkers, SleepWakesAParkedWorker) {
  // Nothing else to run: the worker parks with only the sleep's timer pending; if the timer did
  // not wake it the test would hang.
  run_workers(2, []() -> Coro<void> {
    for (int i = 0; i < 5; ++i) co_await stealio::sleep(absl::Milliseconds(2));
  }());
}

Coro<int> migrating_timeouts(int rounds) {
  int timeouts = 0;
  for (int i = 0; i < rounds; ++i) {
    // Migrate between the scope's entry (timer armed on this worker) and its expiry.
    auto body = []() -> Coro<void> {
      for (int k = 0; k < 3; ++k) co_await stealio::yield();
      co_await stealio::sleep(kLong);
    };
    if (co_await outcome(stealio::timeout(absl::Milliseconds(1), body())) == "timeout") ++timeouts;
    // And one that must not fire, although the task moves on.
    co_await stealio::timeout(absl::Seconds(50), []() -> Coro<void> {
      for (int k = 0; k < 3; ++k) co_await stealio::yield();
    }());
    EXPECT_EQ(me().cancelling(), 0);
  }
  co_return timeouts;
}

TEST(TimeoutWorkers, TimersFireForTasksThatMigrate) {
  run_workers(4, []() -> Coro<void> {
    std::vector<Task<int>> tasks;
    for (int i = 0; i < 64; ++i) tasks.push_back(stealio::create_task(migrating_timeouts(5)));
    std::vector<int> counts = co_await stealio::gather(std::move(tasks));
    for (int c : counts) EXPECT_EQ(c, 5);
  }());
}

TEST(TimeoutWorkers, AnOutsideCancelDuringTheStepThatEntersIsNotSwallowed) {
  // On several workers an outside cancel() can land while the task runs, before it enters the
  // scope (asyncio's single thread cannot do that). It is pending on entry, then delivered at the
  // body's first suspension; the scope expires while it unwinds. The task must end cancelled.
  run_workers(2, []() -> Coro<void> {
    std::latch running(1);
    std::latch cancelled(1);
    Timeout cm(kLong);
    // Parameters, not captures: the lambda object is gone once the task is created.
    auto body = [](std::latch& running, std::latch& cancelled,
                   Timeout& cm) -> Coro<std::string> {
      running.count_down();
      cancelled.wait();  // blocks this worker until the other one has called cancel()
      co_return co_await outcome(cm.run(expire_while_unwinding(cm)));
    };
    Task<std::string> t = stealio::create_task(body(running, cancelled, cm));
    running.wait();  // t runs on the other worker: this one is blocked
    EXPECT_TRUE(t.cancel());
    cancelled.count_down();
    EXPECT_EQ(co_await t, "cancelled");
    EXPECT_TRUE(cm.expired());
  }());
}

// Spins on its worker (no suspension) until the scope has expired: the timer fires on another
// worker, during this step.
Coro<void> spin_until_expired(Timeout& scope, std::latch& entered) {
  entered.count_down();
  while (!scope.expired()) {
  }
  co_return;
}

// A task caught an outside cancellation (delivered, not withdrawn: cancelling() stays 1), then
// a scope expires on another worker during the step that leaves it. The scope's cancellation was
// never delivered; its exit must withdraw it, not leave it pending to cancel the task after the
// scope (uncancel() alone, 2 -> 1, kept it pending). asyncio, on one thread, always delivers it
// before the scope can exit.
Coro<std::string> caught_then_expired_in_the_last_step(std::latch& entered, Timeout& cm) {
  me().cancel(std::string());
  try {
    co_await stealio::yield();
  } catch (const CancelledError&) {
  }
  std::string out = co_await outcome(cm.run(spin_until_expired(cm, entered)));
  co_await stealio::yield();  // a scope's request left pending would cancel the task here
  co_return out + " " + std::to_string(me().cancelling());
}

TEST(TimeoutWorkers, AScopeThatExpiresDuringItsLastStepDoesNotCancelTheTaskAfterIt) {
  run_workers(2, []() -> Coro<void> {
    std::latch entered(1);
    Timeout cm(kLong);
    Task<std::string> t = stealio::create_task(caught_then_expired_in_the_last_step(entered, cm));
    entered.wait();               // t spins on the other worker: this one is blocked
    cm.reschedule(Clock::now());  // armed on this worker's loop: fires once this step suspends
    EXPECT_EQ(co_await t, "value 1");
    EXPECT_TRUE(cm.expired());
  }());
}

TEST(TimeoutWorkers, RescheduleFromAnotherWorker) {
  run_workers(2, []() -> Coro<void> {
    stealio::Future<void> entered;
    Timeout cm(absl::Seconds(50));
    Task<std::string> task = stealio::create_task(outcome(cm.run([&](Timeout&) -> Coro<void> {
      entered.set_result();
      co_await stealio::sleep(kLong);
    })));
    co_await entered;
    cm.reschedule(Clock::now());  // due now, armed on this worker's loop
    EXPECT_EQ(co_await task, "timeout");
    EXPECT_TRUE(cm.expired());
  }());
}

}  // namespace
