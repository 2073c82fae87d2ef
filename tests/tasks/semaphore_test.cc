// Tests of stealio/semaphore.h (Semaphore, BoundedSemaphore): CPython's test_locks.py
// SemaphoreTests, ported, and a semaphore contended by tasks on different workers.
#include "stealio/semaphore.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "stealio/sleep.h"
#include "stealio/task.h"
#include "sync_test_util.h"

namespace {

using stealio::BoundedSemaphore;
using stealio::Coro;
using stealio::Guard;
using stealio::Semaphore;
using stealio::Task;
using stealio::ValueError;
using sync_test::acquire;
using sync_test::run_briefly;
using sync_test::run_test;

Coro<bool> acquire_and_record(Semaphore& sem, std::vector<int>& result, int id) {
  co_await sem.acquire();
  result.push_back(id);
  co_return true;
}

TEST(Semaphore, NegativeInitialValueRaises) {
  for (int bounded = 0; bounded < 2; ++bounded) {
    try {
      if (bounded) {
        BoundedSemaphore s(-1);
      } else {
        Semaphore s(-1);
      }
      ADD_FAILURE() << "no exception";
    } catch (const ValueError& e) {
      EXPECT_STREQ(e.what(), "Semaphore initial value must be >= 0");
    }
  }
}

TEST(Semaphore, ReprAndLocked) {
  run_test([]() -> Coro<void> {
    Semaphore sem(2);
    EXPECT_EQ(sem.repr(), "<Semaphore [unlocked, value:2]>");
    EXPECT_FALSE(sem.locked());
    co_await sem.acquire();
    co_await sem.acquire();
    EXPECT_TRUE(sem.locked());
    EXPECT_EQ(sem.repr(), "<Semaphore [locked]>");
    Task<bool> t = stealio::create_task(acquire(sem));
    EXPECT_EQ(sem.repr(), "<Semaphore [locked, waiters:1]>");
    sem.release();
    co_await t;
    sem.release();
    sem.release();
    EXPECT_EQ(sem.repr(), "<Semaphore [unlocked, value:2]>");
    BoundedSemaphore b(1);
    EXPECT_EQ(b.repr(), "<BoundedSemaphore [unlocked, value:1]>");
  }());
}

// CPython's test_acquire.
TEST(Semaphore, WaitersAreServedInFifoOrder) {
  run_test([]() -> Coro<void> {
    Semaphore sem(3);
    std::vector<int> result;
    EXPECT_TRUE(co_await sem.acquire());
    EXPECT_TRUE(co_await sem.acquire());
    EXPECT_FALSE(sem.locked());
    Task<bool> t1 = stealio::create_task(acquire_and_record(sem, result, 1));
    Task<bool> t2 = stealio::create_task(acquire_and_record(sem, result, 2));
    Task<bool> t3 = stealio::create_task(acquire_and_record(sem, result, 3));
    co_await run_briefly();
    EXPECT_EQ(result, (std::vector<int>{1}));
    EXPECT_TRUE(sem.locked());
    EXPECT_EQ(sem.repr(), "<Semaphore [locked, waiters:2]>");
    Task<bool> t4 = stealio::create_task(acquire_and_record(sem, result, 4));
    sem.release();
    sem.release();
    co_await run_briefly();
    // The two units went to t2 and t3, the first in line (the order in which two woken tasks
    // then run is the scheduler's), not to t4.
    EXPECT_EQ(result.size(), 3u);
    EXPECT_TRUE(t2.done() && t3.done());
    EXPECT_TRUE(sem.locked());
    EXPECT_EQ(sem.repr(), "<Semaphore [locked, waiters:1]>");
    EXPECT_FALSE(t4.done());
    sem.release();
    co_await run_briefly();
    EXPECT_EQ(result.size(), 4u);
    EXPECT_EQ(result.back(), 4);
    EXPECT_TRUE(t1.done() && t4.done());
  }());
}

// While a woken waiter has not run, the semaphore reads locked even with a unit free, and a
// newcomer queues behind it (3.13's FIFO fairness); the woken waiter then lets it in.
TEST(Semaphore, NewcomerQueuesBehindWokenWaiters) {
  run_test([]() -> Coro<void> {
    Semaphore sem(0);
    std::vector<int> result;
    Task<bool> t1 = stealio::create_task(acquire_and_record(sem, result, 1));
    sem.release();  // promised to t1
    sem.release();  // free, but t1 is still in line
    EXPECT_TRUE(sem.locked());
    Task<bool> t2 = stealio::create_task(acquire_and_record(sem, result, 2));
    EXPECT_FALSE(t2.done());
    co_await run_briefly();
    EXPECT_EQ(result, (std::vector<int>{1, 2}));
    EXPECT_TRUE(sem.locked());
    EXPECT_EQ(sem.repr(), "<Semaphore [locked]>");
  }());
}

TEST(Semaphore, CancelledWaiterLeavesNoWaiter) {
  run_test([]() -> Coro<void> {
    Semaphore sem(0);
    Task<bool> t = stealio::create_task(acquire(sem));
    t.cancel();
    co_await run_briefly();
    EXPECT_TRUE(t.cancelled());
    EXPECT_EQ(sem.repr(), "<Semaphore [locked]>");
    sem.release();
    EXPECT_EQ(sem.repr(), "<Semaphore [unlocked, value:1]>");
  }());
}

// CPython's test_acquire_cancel_before_awoken.
TEST(Semaphore, CancelBeforeAwokenWakesTheNextOnly) {
  run_test([]() -> Coro<void> {
    Semaphore sem(0);
    Task<bool> t1 = stealio::create_task(acquire(sem));
    Task<bool> t2 = stealio::create_task(acquire(sem));
    Task<bool> t3 = stealio::create_task(acquire(sem));
    Task<bool> t4 = stealio::create_task(acquire(sem));
    t1.cancel();
    t2.cancel();
    sem.release();
    co_await run_briefly();
    EXPECT_TRUE(t1.cancelled() && t2.cancelled());
    EXPECT_TRUE(t3.done());
    EXPECT_FALSE(t4.done());
    EXPECT_TRUE(sem.locked());
    t4.cancel();
    co_await run_briefly();
    EXPECT_EQ(sem.repr(), "<Semaphore [locked]>");
  }());
}

// CPython's test_acquire_hang: a waiter woken and then cancelled gives its unit to the next.
TEST(Semaphore, WokenWaiterCancelledPassesItsUnitOn) {
  run_test([]() -> Coro<void> {
    Semaphore sem(0);
    Task<bool> t1 = stealio::create_task(acquire(sem));
    Task<bool> t2 = stealio::create_task(acquire(sem));
    sem.release();
    t1.cancel();
    co_await run_briefly();
    EXPECT_TRUE(t1.cancelled());
    EXPECT_TRUE(t2.done());
    EXPECT_TRUE(sem.locked());
    EXPECT_EQ(sem.repr(), "<Semaphore [locked]>");
  }());
}

Coro<void> twice_in_turn(Semaphore& sem, std::vector<std::string>& result, std::string tag) {
  co_await sem.acquire();
  result.push_back(tag + "_1");
  co_await stealio::yield();
  sem.release();
  co_await sem.acquire();
  result.push_back(tag + "_2");
  co_await stealio::yield();
  sem.release();
}

// CPython's test_acquire_fifo_order: a releaser that re-acquires at once queues behind the others.
TEST(Semaphore, ReacquireAfterReleaseQueuesBehindWaiters) {
  run_test([]() -> Coro<void> {
    Semaphore sem(1);
    std::vector<std::string> result;
    Task<void> a = stealio::create_task(twice_in_turn(sem, result, "c1"));
    Task<void> b = stealio::create_task(twice_in_turn(sem, result, "c2"));
    Task<void> c = stealio::create_task(twice_in_turn(sem, result, "c3"));
    co_await a;
    co_await b;
    co_await c;
    EXPECT_EQ(result, (std::vector<std::string>{"c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"}));
    EXPECT_FALSE(sem.locked());
  }());
}

TEST(Semaphore, ReleaseBeyondTheInitialValueIsFineUnbounded) {
  Semaphore sem(1);
  sem.release();
  sem.release();
  EXPECT_EQ(sem.repr(), "<Semaphore [unlocked, value:3]>");
}

TEST(BoundedSemaphore, ReleasingTooOftenRaisesValueError) {
  run_test([]() -> Coro<void> {
    BoundedSemaphore sem(2);
    try {
      sem.release();
      ADD_FAILURE() << "no exception";
    } catch (const ValueError& e) {
      EXPECT_STREQ(e.what(), "BoundedSemaphore released too many times");
    }
    co_await sem.acquire();
    sem.release();
    EXPECT_THROW(sem.release(), ValueError);
    EXPECT_EQ(sem.repr(), "<BoundedSemaphore [unlocked, value:2]>");
  }());
}

// A unit handed to a woken waiter counts as taken: releasing it back is within the bound, one
// more release is not.
TEST(BoundedSemaphore, BoundHoldsThroughAWokenWaiter) {
  run_test([]() -> Coro<void> {
    BoundedSemaphore sem(1);
    co_await sem.acquire();
    Task<bool> t = stealio::create_task(acquire(sem));
    sem.release();  // to t
    EXPECT_TRUE(sem.locked());
    co_await t;
    sem.release();  // t's unit
    EXPECT_EQ(sem.repr(), "<BoundedSemaphore [unlocked, value:1]>");
    EXPECT_THROW(sem.release(), ValueError);
  }());
}

TEST(Semaphore, GuardReleases) {
  run_test([]() -> Coro<void> {
    BoundedSemaphore sem(1);
    {
      Guard<Semaphore> g = co_await sem.scoped();
      EXPECT_TRUE(sem.locked());
    }
    EXPECT_FALSE(sem.locked());
  }());
}

// --- Tasks on different workers ---

Coro<void> use_slots(Semaphore& sem, int iterations, std::atomic<int>& holders,
                     std::atomic<int>& max_holders, std::atomic<long>& uses) {
  for (int i = 0; i < iterations; ++i) {
    auto guard = co_await sem.scoped();
    int now = holders.fetch_add(1) + 1;
    int seen = max_holders.load();
    while (now > seen && !max_holders.compare_exchange_weak(seen, now)) {
    }
    if (i % 2 == 0) co_await stealio::yield();
    uses.fetch_add(1);
    holders.fetch_sub(1);
  }
}

TEST(SemaphoreWorkers, NeverMoreHoldersThanTheValue) {
  sync_test::run_workers(4, []() -> Coro<void> {
    constexpr int kValue = 3, kTasks = 16, kIterations = 200;
    BoundedSemaphore sem(kValue);
    std::atomic<int> holders{0}, max_holders{0};
    std::atomic<long> uses{0};
    stealio::Scheduler& sched = stealio::get_running_loop().scheduler();
    std::vector<Task<void>> ts;
    for (int i = 0; i < kTasks; ++i) {
      ts.push_back(sync_test::spawn_pinned(
          sched.loop(i % 4), use_slots(sem, kIterations, holders, max_holders, uses)));
    }
    for (auto& t : ts) co_await t;
    EXPECT_EQ(uses.load(), long{kTasks} * kIterations);
    EXPECT_LE(max_holders.load(), kValue);
    EXPECT_GE(max_holders.load(), 1);
    EXPECT_EQ(sem.repr(), "<BoundedSemaphore [unlocked, value:3]>");
  }());
}

}  // namespace
