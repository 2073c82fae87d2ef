// Tests of stealio/wait.h (wait, as_completed, shield): the cases of CPython's test_tasks.py,
// ported, and waits on several workers.
#include "stealio/wait.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "stealio/gather.h"
#include "stealio/sleep.h"
#include "stealio/task.h"
#include "time_test_util.h"

namespace {

using stealio::CancelledError;
using stealio::Coro;
using stealio::Future;
using stealio::ReturnWhen;
using stealio::Task;
using time_test::kLong;
using time_test::kShort;
using time_test::outcome;
using time_test::run_briefly;
using time_test::run_test;
using time_test::run_workers;
using time_test::sleep_then;

template <class... Fs>
std::vector<Future<int>> futs(Fs... fs) {
  return std::vector<Future<int>>{fs...};
}

template <class... Ts>
std::vector<Task<int>> tasks(Ts... ts) {
  return std::vector<Task<int>>{ts...};
}

bool same(const Future<int>& a, const Future<int>& b) { return a.core() == b.core(); }

TEST(Wait, AllCompleted) {
  run_test([]() -> Coro<void> {
    Future<int> a, b;
    Task<stealio::WaitResult<Future<int>>> w = stealio::create_task(stealio::wait(futs(a, b)));
    co_await run_briefly();
    a.set_result(1);
    co_await run_briefly();
    EXPECT_FALSE(w.done());
    b.set_result(2);
    stealio::WaitResult<Future<int>> r = co_await w;
    EXPECT_EQ(r.done.size(), 2u);
    EXPECT_TRUE(r.pending.empty());
    EXPECT_TRUE(same(r.done[0], a));
    EXPECT_TRUE(same(r.done[1], b));
  }());
}

TEST(Wait, FirstCompleted) {
  run_test([]() -> Coro<void> {
    Future<int> a, b;
    Task<stealio::WaitResult<Future<int>>> w = stealio::create_task(
        stealio::wait(futs(a, b), absl::InfiniteDuration(), ReturnWhen::kFirstCompleted));
    co_await run_briefly();
    b.set_result(2);
    stealio::WaitResult<Future<int>> r = co_await w;
    EXPECT_EQ(r.done.size(), 1u);
    EXPECT_TRUE(same(r.done[0], b));
    EXPECT_EQ(r.pending.size(), 1u);
    EXPECT_TRUE(same(r.pending[0], a));
    EXPECT_FALSE(a.done());  // never cancelled
  }());
}

TEST(Wait, FirstCompletedWithFuturesAlreadyDone) {
  run_test([]() -> Coro<void> {
    Future<int> a, b;
    a.set_result(1);
    stealio::WaitResult<Future<int>> r =
        co_await stealio::wait(futs(a, b), absl::InfiniteDuration(), ReturnWhen::kFirstCompleted);
    EXPECT_EQ(r.done.size(), 1u);
    EXPECT_EQ(r.pending.size(), 1u);
  }());
}

TEST(Wait, FirstExceptionReturnsAtTheFirstFailure) {
  run_test([]() -> Coro<void> {
    Future<int> a, b, c;
    Task<stealio::WaitResult<Future<int>>> w = stealio::create_task(
        stealio::wait(futs(a, b, c), absl::InfiniteDuration(), ReturnWhen::kFirstException));
    co_await run_briefly();
    a.set_result(1);
    co_await run_briefly();
    EXPECT_FALSE(w.done());
    c.cancel();  // a cancellation is not an exception
    co_await run_briefly();
    EXPECT_FALSE(w.done());
    b.set_exception(stealio::ValueError("b"));
    stealio::WaitResult<Future<int>> r = co_await w;
    EXPECT_EQ(r.done.size(), 3u);
    EXPECT_TRUE(r.pending.empty());
    EXPECT_EQ(co_await outcome(stealio::internal::as_coro(b)), "b");
  }());
}

TEST(Wait, FirstExceptionWithAnExceptionAlreadyThere) {
  run_test([]() -> Coro<void> {
    Future<int> a, b;
    b.set_exception(stealio::ValueError("b"));
    stealio::WaitResult<Future<int>> r =
        co_await stealio::wait(futs(a, b), absl::InfiniteDuration(), ReturnWhen::kFirstException);
    EXPECT_EQ(r.done.size(), 1u);
    EXPECT_TRUE(same(r.done[0], b));
    EXPECT_EQ(co_await outcome(stealio::internal::as_coro(b)), "b");
  }());
}

TEST(Wait, FirstExceptionWithoutAnyWaitsForAll) {
  run_test([]() -> Coro<void> {
    Task<int> a = stealio::create_task(sleep_then(absl::Milliseconds(1), 1));
    Task<int> b = stealio::create_task(sleep_then(absl::Milliseconds(3), 2));
    stealio::WaitResult<Task<int>> r =
        co_await stealio::wait(tasks(a, b), absl::InfiniteDuration(), ReturnWhen::kFirstException);
    EXPECT_EQ(r.done.size(), 2u);
  }());
}

TEST(Wait, TimeoutReturnsThePendingOnesUncancelled) {
  run_test([]() -> Coro<void> {
    Task<int> a = stealio::create_task(sleep_then(absl::Milliseconds(1), 1));
    Task<int> b = stealio::create_task(sleep_then(kLong, 2));
    std::vector<Task<int>> ts = tasks(a, b);
    stealio::WaitResult<Task<int>> r =
        co_await stealio::wait(std::move(ts), absl::Milliseconds(20));
    EXPECT_EQ(r.done.size(), 1u);
    EXPECT_EQ(r.pending.size(), 1u);
    EXPECT_EQ(r.done[0].result(), 1);
    EXPECT_FALSE(b.done());
    b.cancel();
    EXPECT_EQ(co_await outcome(stealio::internal::as_coro(b)), "cancelled");
  }());
}

TEST(Wait, CancellingTheWaiterLeavesTheFuturesAlone) {
  run_test([]() -> Coro<void> {
    Future<int> a;
    Task<stealio::WaitResult<Future<int>>> w = stealio::create_task(stealio::wait(futs(a)));
    co_await run_briefly();
    w.cancel();
    EXPECT_EQ(co_await outcome(stealio::internal::as_coro(w)), "cancelled");
    EXPECT_FALSE(a.done());
    a.set_result(1);
  }());
}

TEST(Wait, DuplicatesCountOnce) {
  run_test([]() -> Coro<void> {
    Future<int> a;
    a.set_result(1);
    stealio::WaitResult<Future<int>> r = co_await stealio::wait(futs(a, a));
    EXPECT_EQ(r.done.size(), 1u);
  }());
}

TEST(Wait, EmptyIsAValueError) {
  run_test([]() -> Coro<void> {
    EXPECT_EQ(co_await outcome(stealio::wait(std::vector<Future<int>>())),
              "Set of Tasks/Futures is empty.");
  }());
}

TEST(AsCompleted, GivesTheFuturesInCompletionOrder) {
  run_test([]() -> Coro<void> {
    Future<int> a, b, c;
    auto it = stealio::as_completed(futs(a, b, c));
    b.set_result(2);
    c.set_result(3);
    EXPECT_TRUE(it.has_next());
    EXPECT_EQ((co_await it.next()).result(), 2);
    EXPECT_EQ((co_await it.next()).result(), 3);
    stealio::get_running_loop().call_later(absl::Milliseconds(1),
                                           [a]() mutable { a.set_result(1); });
    EXPECT_EQ((co_await it.next()).result(), 1);
    EXPECT_FALSE(it.has_next());
    EXPECT_EQ(co_await outcome(it.next()), "as_completed: every future has been returned");
  }());
}

TEST(AsCompleted, CoroutinesBecomeTasks) {
  run_test([]() -> Coro<void> {
    std::vector<Coro<int>> cs;
    cs.push_back(sleep_then(absl::Milliseconds(30), 3));
    cs.push_back(sleep_then(absl::Milliseconds(1), 1));
    auto it = stealio::as_completed(std::move(cs));
    std::vector<int> got;
    while (it.has_next()) got.push_back((co_await it.next()).result());
    EXPECT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0] + got[1], 4);
  }());
}

TEST(AsCompleted, TimeoutRaisesForEachFutureLeft) {
  run_test([]() -> Coro<void> {
    Future<int> a, b, c;
    a.set_result(1);
    auto it = stealio::as_completed(futs(a, b, c), kShort);
    EXPECT_EQ((co_await it.next()).result(), 1);
    EXPECT_EQ(co_await outcome(it.next()), "timeout");
    EXPECT_EQ(co_await outcome(it.next()), "timeout");
    EXPECT_FALSE(it.has_next());
    EXPECT_FALSE(b.done());  // not cancelled
  }());
}

TEST(AsCompleted, DuplicatesCountOnce) {
  run_test([]() -> Coro<void> {
    Future<int> a;
    a.set_result(1);
    auto it = stealio::as_completed(futs(a, a));
    co_await it.next();
    EXPECT_FALSE(it.has_next());
  }());
}

TEST(AsCompleted, DroppedEarlyLeavesNothingBehind) {
  run_test([]() -> Coro<void> {
    Future<int> a, b;
    {
      auto it = stealio::as_completed(futs(a, b), kLong);
      a.set_result(1);
      co_await it.next();
    }
    b.set_result(2);  // its callback was removed with the iterator
    co_await run_briefly();
  }());
}

TEST(Shield, PassesTheResult) {
  run_test([]() -> Coro<void> {
    Future<int> inner;
    Future<int> outer = stealio::shield(inner);
    co_await run_briefly();
    EXPECT_FALSE(outer.done());
    inner.set_result(42);
    EXPECT_EQ(co_await outer, 42);
  }());
}

TEST(Shield, PassesTheException) {
  run_test([]() -> Coro<void> {
    Future<int> inner;
    Future<int> outer = stealio::shield(inner);
    inner.set_exception(stealio::ValueError("x"));
    EXPECT_EQ(co_await outcome(stealio::internal::as_coro(outer)), "x");
  }());
}

TEST(Shield, ACancelledInnerCancelsTheOuter) {
  run_test([]() -> Coro<void> {
    Future<int> inner;
    Future<int> outer = stealio::shield(inner);
    inner.cancel();
    co_await run_briefly();
    EXPECT_TRUE(outer.cancelled());
  }());
}

TEST(Shield, CancellingTheOuterLeavesTheInner) {
  run_test([]() -> Coro<void> {
    Future<int> inner;
    Future<int> outer = stealio::shield(inner);
    outer.cancel();
    co_await run_briefly();
    EXPECT_FALSE(inner.cancelled());
    inner.set_result(1);  // no report, no error
    co_await run_briefly();
  }());
}

TEST(Shield, ADoneFutureIsReturnedItself) {
  run_test([]() -> Coro<void> {
    Future<int> inner;
    inner.set_result(1);
    EXPECT_EQ(stealio::shield(inner).core(), inner.core());
    co_return;
  }());
}

TEST(Shield, CancellingTheAwaitingTaskLeavesTheInnerRunning) {
  run_test([]() -> Coro<void> {
    Future<int> release;
    Task<int> inner = stealio::create_task(time_test::wait_future(release));
    Task<int> outer = stealio::create_task(
        [](Task<int> in) -> Coro<int> { co_return co_await stealio::shield(in); }(inner));
    co_await run_briefly();
    outer.cancel();
    EXPECT_EQ(co_await outcome(stealio::internal::as_coro(outer)), "cancelled");
    EXPECT_FALSE(inner.done());
    release.set_result(7);
    EXPECT_EQ(co_await inner, 7);
  }());
}

TEST(Shield, GatherOfShieldsIsCancelledAloneWhenCancelled) {
  run_test([]() -> Coro<void> {
    Future<int> c1, c2;
    Task<void> g = stealio::create_task([](Future<int> a, Future<int> b) -> Coro<void> {
      co_await stealio::gather(stealio::shield(a), stealio::shield(b));
    }(c1, c2));
    co_await run_briefly();
    g.cancel();
    EXPECT_EQ(co_await outcome(stealio::internal::as_coro(g)), "cancelled");
    EXPECT_FALSE(c1.cancelled());
    EXPECT_FALSE(c2.cancelled());
    c1.set_result(1);
    c2.set_result(2);
    co_await run_briefly();
  }());
}

TEST(WaitWorkers, FirstCompletedAcrossWorkers) {
  run_workers(4, []() -> Coro<void> {
    for (int round = 0; round < 50; ++round) {
      std::vector<Task<int>> ts;
      for (int i = 0; i < 8; ++i) {
        ts.push_back(stealio::create_task(sleep_then(i == 3 ? absl::ZeroDuration() : kLong, i)));
      }
      std::vector<Task<int>> copy = ts;
      auto r = co_await stealio::wait(std::move(copy), absl::InfiniteDuration(),
                                      ReturnWhen::kFirstCompleted);
      EXPECT_GE(r.done.size(), 1u);
      for (auto& t : r.done) EXPECT_EQ(t.result(), 3);
      for (auto& t : ts) t.cancel();
      auto rest = co_await stealio::wait(std::move(ts));
      EXPECT_EQ(rest.done.size(), 8u);
    }
  }());
}

TEST(WaitWorkers, AsCompletedAcrossWorkers) {
  run_workers(4, []() -> Coro<void> {
    std::vector<Coro<int>> cs;
    for (int i = 0; i < 200; ++i) {
      cs.push_back([](int i) -> Coro<int> {
        for (int k = 0; k < i % 5; ++k) co_await stealio::yield();
        co_return i;
      }(i));
    }
    auto it = stealio::as_completed(std::move(cs));
    std::vector<bool> seen(200, false);
    while (it.has_next()) {
      int v = (co_await it.next()).result();
      EXPECT_FALSE(seen[v]);
      seen[v] = true;
    }
    for (bool s : seen) EXPECT_TRUE(s);
  }());
}

}  // namespace
