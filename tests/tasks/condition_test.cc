// Tests of stealio/condition.h: CPython's test_locks.py ConditionTests, ported, and a condition
// shared by producers and consumers on different workers.
#include "stealio/condition.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <string>
#include <vector>

#include "stealio/task.h"
#include "sync_test_util.h"

namespace {

using stealio::CancelledError;
using stealio::Condition;
using stealio::Coro;
using stealio::Lock;
using stealio::RuntimeError;
using stealio::Task;
using sync_test::run_briefly;
using sync_test::run_test;

// Acquires, waits once, records `id` and keeps the lock (CPython's test_wait coroutines).
Coro<bool> wait_once(Condition& cond, std::vector<int>& result, int id) {
  co_await cond.acquire();
  // Bound to a variable first: g++ 12 miscompiles `if (co_await coro())` (the task is left
  // suspended on nothing).
  bool notified = co_await cond.wait();
  if (notified) result.push_back(id);
  co_return notified;
}

Coro<bool> bare_wait(Condition& cond) { co_return co_await cond.wait(); }

TEST(Condition, WaitAndNotifyHandTheLockOverInOrder) {
  run_test([]() -> Coro<void> {
    Condition cond;
    std::vector<int> result;
    Task<bool> t1 = stealio::create_task(wait_once(cond, result, 1));
    Task<bool> t2 = stealio::create_task(wait_once(cond, result, 2));
    Task<bool> t3 = stealio::create_task(wait_once(cond, result, 3));
    co_await run_briefly();
    EXPECT_TRUE(result.empty());
    EXPECT_FALSE(cond.locked());
    EXPECT_EQ(cond.repr(), "<Condition [unlocked, waiters:3]>");

    EXPECT_TRUE(co_await cond.acquire());
    cond.notify();
    co_await run_briefly();
    EXPECT_TRUE(result.empty());  // notified, but the lock is still ours
    EXPECT_TRUE(cond.locked());

    cond.release();
    co_await run_briefly();
    EXPECT_EQ(result, (std::vector<int>{1}));
    EXPECT_TRUE(cond.locked());  // t1 holds it

    cond.notify(2);
    co_await run_briefly();
    EXPECT_EQ(result, (std::vector<int>{1}));

    cond.release();  // on t1's behalf
    co_await run_briefly();
    EXPECT_EQ(result, (std::vector<int>{1, 2}));
    cond.release();
    co_await run_briefly();
    EXPECT_EQ(result, (std::vector<int>{1, 2, 3}));
    EXPECT_TRUE(cond.locked());
    EXPECT_TRUE(t1.result() && t2.result() && t3.result());
    cond.release();
  }());
}

TEST(Condition, WaitWithoutTheLockRaises) {
  run_test([]() -> Coro<void> {
    Condition cond;
    try {
      co_await cond.wait();
      ADD_FAILURE() << "no exception";
    } catch (const RuntimeError& e) {
      EXPECT_STREQ(e.what(), "cannot wait on un-acquired lock");
    }
    EXPECT_EQ(cond.repr(), "<Condition [unlocked]>");
  }());
}

TEST(Condition, NotifyWithoutTheLockRaises) {
  Condition cond;
  for (int all = 0; all < 2; ++all) {
    try {
      if (all) {
        cond.notify_all();
      } else {
        cond.notify();
      }
      ADD_FAILURE() << "no exception";
    } catch (const RuntimeError& e) {
      EXPECT_STREQ(e.what(), "cannot notify on un-acquired lock");
    }
  }
}

TEST(Condition, NotifyAllWakesEveryWaiter) {
  run_test([]() -> Coro<void> {
    Condition cond;
    std::vector<int> result;
    std::vector<Task<bool>> ts;
    for (int i = 1; i <= 3; ++i) ts.push_back(stealio::create_task(wait_once(cond, result, i)));
    co_await run_briefly();
    co_await cond.acquire();
    cond.notify_all();
    cond.release();
    co_await run_briefly();
    EXPECT_EQ(result, (std::vector<int>{1}));
    for (int i = 2; i <= 3; ++i) {
      cond.release();  // each woken waiter in turn re-acquires after the previous one
      co_await run_briefly();
    }
    EXPECT_EQ(result, (std::vector<int>{1, 2, 3}));
    cond.release();
    EXPECT_FALSE(cond.locked());
  }());
}

TEST(Condition, NotifyWithNoWaitersDoesNothing) {
  run_test([]() -> Coro<void> {
    Condition cond;
    co_await cond.acquire();
    cond.notify();
    cond.notify_all();
    EXPECT_EQ(cond.repr(), "<Condition [locked]>");
    cond.release();
  }());
}

Coro<int> wait_for_presence(Condition& cond, int& presence) {
  auto guard = co_await cond.scoped();
  int v = co_await cond.wait_for([&] { return presence; });
  co_return v;
}

TEST(Condition, WaitForReturnsThePredicateValueOnceTruthy) {
  run_test([]() -> Coro<void> {
    Condition cond;
    int presence = 0;
    Task<int> t = stealio::create_task(wait_for_presence(cond, presence));
    co_await run_briefly();
    co_await cond.acquire();
    cond.notify();  // predicate still false: waits again
    cond.release();
    co_await run_briefly();
    EXPECT_FALSE(t.done());
    co_await cond.acquire();
    presence = 7;
    cond.notify();
    cond.release();
    co_await run_briefly();
    EXPECT_TRUE(t.done());
    EXPECT_EQ(t.result(), 7);
    EXPECT_FALSE(cond.locked());
    // A true predicate does not wait (nor need the lock, as in asyncio).
    presence = 3;
    EXPECT_EQ(co_await cond.wait_for([&] { return presence; }), 3);
  }());
}

TEST(Condition, ExplicitLockIsShared) {
  run_test([]() -> Coro<void> {
    Lock lock;
    Condition cond(lock);
    EXPECT_EQ(&cond.lock(), &lock);
    co_await lock.acquire();
    EXPECT_TRUE(cond.locked());
    cond.release();
    EXPECT_FALSE(lock.locked());
  }());
}

// CPython's test_wait_cancel: the cancelled wait re-acquires the lock before raising.
TEST(Condition, CancelledWaitReacquiresTheLock) {
  run_test([]() -> Coro<void> {
    Condition cond;
    co_await cond.acquire();
    Task<bool> w = stealio::create_task(bare_wait(cond));
    EXPECT_FALSE(cond.locked());  // released by wait()
    w.cancel();
    co_await run_briefly();
    EXPECT_TRUE(w.cancelled());
    EXPECT_TRUE(cond.locked());
    EXPECT_EQ(cond.repr(), "<Condition [locked]>");
    cond.release();
  }());
}

// CPython's test_wait_cancel_contested: notified, then cancelled while the lock is contested;
// the waiter still returns holding the lock.
TEST(Condition, CancelWhileReacquiringStillEndsWithTheLock) {
  run_test([]() -> Coro<void> {
    Condition cond;
    co_await cond.acquire();
    Task<bool> w = stealio::create_task(bare_wait(cond));
    co_await cond.acquire();
    cond.notify();
    co_await run_briefly();  // w is now waiting in acquire()
    w.cancel();
    co_await run_briefly();
    EXPECT_FALSE(w.done());  // keeps trying to re-acquire
    cond.release();
    co_await run_briefly();
    EXPECT_TRUE(w.done());
    EXPECT_TRUE(w.cancelled());
    EXPECT_TRUE(cond.locked());
    cond.release();
  }());
}

// CPython's test_wait_cancel_after_notify (bpo-32841).
TEST(Condition, CancelAfterNotifyRaisesOnceTheLockIsBack) {
  run_test([]() -> Coro<void> {
    Condition cond;
    bool waited = false;
    Task<void> waiter = stealio::create_task([](Condition& c, bool& waited) -> Coro<void> {
      auto guard = co_await c.scoped();
      waited = true;
      co_await c.wait();
    }(cond, waited));
    co_await run_briefly();
    co_await cond.acquire();
    cond.notify();
    co_await run_briefly();
    waiter.cancel();
    co_await run_briefly();
    cond.release();
    co_await run_briefly();
    EXPECT_TRUE(waiter.cancelled());
    EXPECT_TRUE(waited);
    EXPECT_FALSE(cond.locked());
  }());
}

// CPython's test_cancelled_wakeup: a waiter notified and cancelled before it runs hands the
// notification to another waiter, so the item is still consumed.
Coro<void> consume_state(Condition& cond, int& state) {
  auto guard = co_await cond.scoped();
  for (;;) {
    co_await cond.wait_for([&] { return state != 0; });
    if (state < 0) co_return;
    --state;
  }
}

TEST(Condition, NotifiedWaiterCancelledBeforeRunningPassesTheNotification) {
  run_test([]() -> Coro<void> {
    Condition cond;
    int state = 0;
    Task<void> c0 = stealio::create_task(consume_state(cond, state));
    Task<void> c1 = stealio::create_task(consume_state(cond, state));
    co_await run_briefly();
    co_await cond.acquire();
    ++state;
    cond.notify(1);
    c0.cancel();
    cond.release();
    co_await run_briefly();
    EXPECT_TRUE(c0.cancelled());
    EXPECT_EQ(state, 0);
    EXPECT_FALSE(c1.done());
    co_await cond.acquire();
    state = -1;
    cond.notify_all();
    cond.release();
    co_await c1;
    EXPECT_FALSE(cond.locked());
  }());
}

// --- Tasks on different workers ---

Coro<void> produce(Condition& cond, std::deque<int>& items, int from, int n) {
  for (int i = from; i < from + n; ++i) {
    auto guard = co_await cond.scoped();
    items.push_back(i);
    cond.notify();
  }
}

Coro<long> consume(Condition& cond, std::deque<int>& items, int n) {
  long sum = 0;
  for (int i = 0; i < n; ++i) {
    auto guard = co_await cond.scoped();
    co_await cond.wait_for([&] { return !items.empty(); });
    sum += items.front();
    items.pop_front();
  }
  co_return sum;
}

TEST(ConditionWorkers, ProducersAndConsumersOnDifferentWorkers) {
  sync_test::run_workers(4, []() -> Coro<void> {
    Condition cond;
    std::deque<int> items;
    stealio::Scheduler& sched = stealio::get_running_loop().scheduler();
    constexpr int kPairs = 4, kPer = 500;
    std::vector<Task<long>> consumers;
    std::vector<Task<void>> producers;
    for (int i = 0; i < kPairs; ++i) {
      consumers.push_back(sync_test::spawn_pinned(sched.loop(i % 4), consume(cond, items, kPer)));
    }
    for (int i = 0; i < kPairs; ++i) {
      producers.push_back(
          sync_test::spawn_pinned(sched.loop((i + 1) % 4), produce(cond, items, i * kPer, kPer)));
    }
    long total = 0;
    for (auto& t : producers) co_await t;
    for (auto& t : consumers) total += co_await t;
    const long n = long{kPairs} * kPer;
    EXPECT_EQ(total, n * (n - 1) / 2);
    EXPECT_TRUE(items.empty());
    EXPECT_FALSE(cond.locked());
  }());
}

}  // namespace
