// Tests of stealio/lock.h (Lock, Guard): CPython's test_locks.py LockTests, ported, and the lock
// contended by tasks pinned to different workers.
#include "stealio/lock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "stealio/sleep.h"
#include "stealio/task.h"
#include "sync_test_util.h"

namespace {

using stealio::CancelledError;
using stealio::Coro;
using stealio::Guard;
using stealio::Lock;
using stealio::RuntimeError;
using stealio::Task;
using sync_test::acquire;
using sync_test::run_briefly;
using sync_test::run_test;

// Acquires, records `id`, and keeps the lock (CPython's test_acquire coroutines).
Coro<bool> acquire_and_record(Lock& lock, std::vector<int>& order, int id) {
  co_await lock.acquire();
  order.push_back(id);
  co_return true;
}

TEST(Lock, AcquireReleaseAndLocked) {
  run_test([]() -> Coro<void> {
    Lock lock;
    EXPECT_FALSE(lock.locked());
    EXPECT_EQ(lock.repr(), "<Lock [unlocked]>");
    EXPECT_TRUE(co_await lock.acquire());
    EXPECT_TRUE(lock.locked());
    EXPECT_EQ(lock.repr(), "<Lock [locked]>");
    lock.release();
    EXPECT_FALSE(lock.locked());
  }());
}

TEST(Lock, ReleaseWhenUnlockedRaisesRuntimeError) {
  Lock lock;
  try {
    lock.release();
    ADD_FAILURE() << "no exception";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "Lock is not acquired.");
  }
}

TEST(Lock, WaitersAcquireInFifoOrder) {
  run_test([]() -> Coro<void> {
    Lock lock;
    std::vector<int> order;
    EXPECT_TRUE(co_await lock.acquire());
    Task<bool> t1 = stealio::create_task(acquire_and_record(lock, order, 1));
    Task<bool> t2 = stealio::create_task(acquire_and_record(lock, order, 2));
    Task<bool> t3 = stealio::create_task(acquire_and_record(lock, order, 3));
    EXPECT_EQ(lock.repr(), "<Lock [locked, waiters:3]>");
    co_await run_briefly();
    EXPECT_TRUE(order.empty());

    lock.release();
    co_await run_briefly();
    EXPECT_EQ(order, (std::vector<int>{1}));
    EXPECT_TRUE(t1.done());
    EXPECT_FALSE(t2.done());

    lock.release();
    co_await run_briefly();
    EXPECT_EQ(order, (std::vector<int>{1, 2}));

    lock.release();
    co_await run_briefly();
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
    EXPECT_TRUE(t3.done());
    EXPECT_TRUE(lock.locked());
    lock.release();
  }());
}

TEST(Lock, AFreeLockIsNotTakenAheadOfAWokenWaiter) {
  run_test([]() -> Coro<void> {
    Lock lock;
    std::vector<int> order;
    co_await lock.acquire();
    Task<bool> t1 = stealio::create_task(acquire_and_record(lock, order, 1));
    lock.release();
    // t1 is woken but has not run: the lock reads unlocked, yet a newcomer queues behind t1.
    EXPECT_FALSE(lock.locked());
    Task<bool> t2 = stealio::create_task(acquire_and_record(lock, order, 2));
    EXPECT_FALSE(t2.done());
    co_await run_briefly();
    EXPECT_EQ(order, (std::vector<int>{1}));
    lock.release();
    co_await run_briefly();
    EXPECT_EQ(order, (std::vector<int>{1, 2}));
    lock.release();
  }());
}

TEST(Lock, CancelledWaiterLeavesTheLockHeldAndTheQueueEmpty) {
  run_test([]() -> Coro<void> {
    Lock lock;
    co_await lock.acquire();
    Task<bool> t = stealio::create_task(acquire(lock));
    EXPECT_EQ(lock.repr(), "<Lock [locked, waiters:1]>");
    EXPECT_TRUE(t.cancel("stop"));
    co_await run_briefly();
    EXPECT_TRUE(t.cancelled());
    EXPECT_EQ(sync_test::cancel_message(t), "stop");
    EXPECT_EQ(lock.repr(), "<Lock [locked]>");
    lock.release();
    EXPECT_FALSE(lock.locked());
    // Nobody waits: the next acquire does not suspend.
    EXPECT_TRUE(co_await lock.acquire());
    lock.release();
  }());
}

// CPython's test_cancel_race: B is cancelled and A releases; C must get the lock.
TEST(Lock, CancelThenReleaseGivesTheLockToTheNextWaiter) {
  run_test([]() -> Coro<void> {
    Lock lock;
    std::vector<int> order;
    co_await lock.acquire();
    Task<bool> tb = stealio::create_task(acquire_and_record(lock, order, 2));
    Task<bool> tc = stealio::create_task(acquire_and_record(lock, order, 3));
    tb.cancel();
    lock.release();
    co_await run_briefly();
    EXPECT_TRUE(tb.cancelled());
    EXPECT_TRUE(tc.done());
    EXPECT_EQ(order, (std::vector<int>{3}));
    EXPECT_TRUE(lock.locked());
    lock.release();
  }());
}

// A waiter woken by release() and cancelled before it runs must not swallow the wakeup
// (CPython's test_cancel_release_race / test_finished_waiter_cancelled).
TEST(Lock, WokenWaiterCancelledBeforeRunningPassesTheLockOn) {
  run_test([]() -> Coro<void> {
    Lock lock;
    std::vector<int> order;
    co_await lock.acquire();
    Task<bool> tb = stealio::create_task(acquire_and_record(lock, order, 2));
    Task<bool> tc = stealio::create_task(acquire_and_record(lock, order, 3));
    Task<bool> td = stealio::create_task(acquire_and_record(lock, order, 4));
    lock.release();  // wakes tb
    tb.cancel();     // ... which is then cancelled before it runs
    co_await run_briefly();
    EXPECT_TRUE(tb.cancelled());
    EXPECT_TRUE(tc.done());
    EXPECT_FALSE(td.done());
    EXPECT_EQ(order, (std::vector<int>{3}));
    lock.release();
    co_await run_briefly();
    EXPECT_EQ(order, (std::vector<int>{3, 4}));
    lock.release();
    EXPECT_FALSE(lock.locked());
  }());
}

// Only one of the waiters runs per release even when several are cancelled around it.
TEST(Lock, CancellingAllButTheLastWaiterStillWakesTheLast) {
  run_test([]() -> Coro<void> {
    Lock lock;
    std::vector<int> order;
    co_await lock.acquire();
    std::vector<Task<bool>> ts;
    for (int i = 0; i < 5; ++i)
      ts.push_back(stealio::create_task(acquire_and_record(lock, order, i)));
    for (int i = 0; i < 4; ++i) ts[i].cancel();
    co_await run_briefly();
    EXPECT_TRUE(order.empty());  // still held by us
    lock.release();
    co_await run_briefly();
    EXPECT_EQ(order, (std::vector<int>{4}));
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(ts[i].cancelled());
    lock.release();
  }());
}

// A free lock whose only waiters are cancelled (not yet resumed) is taken at once.
TEST(Lock, OnlyCancelledWaitersDoNotBlockAnAcquire) {
  run_test([]() -> Coro<void> {
    Lock lock;
    co_await lock.acquire();
    Task<bool> t = stealio::create_task(acquire(lock));
    t.cancel();
    lock.release();
    EXPECT_FALSE(lock.locked());
    Task<bool> mine = stealio::create_task(acquire(lock));
    EXPECT_TRUE(mine.done());  // eager start: acquired without suspending
    EXPECT_TRUE(lock.locked());
    co_await run_briefly();
    EXPECT_TRUE(t.cancelled());
    EXPECT_TRUE(lock.locked());
    lock.release();
  }());
}

Coro<void> hold_then_throw(Lock& lock) {
  auto guard = co_await lock.scoped();
  EXPECT_TRUE(lock.locked());
  throw std::runtime_error("boom");
}

TEST(Lock, GuardReleasesOnScopeExitAndOnException) {
  run_test([]() -> Coro<void> {
    Lock lock;
    {
      Guard<Lock> g = co_await lock.scoped();
      EXPECT_TRUE(g.owns());
      EXPECT_TRUE(lock.locked());
    }
    EXPECT_FALSE(lock.locked());
    {
      Guard<Lock> g = co_await lock.scoped();
      g.release();
      EXPECT_FALSE(g.owns());
      EXPECT_FALSE(lock.locked());
    }
    EXPECT_FALSE(lock.locked());
    bool threw = false;
    try {
      co_await hold_then_throw(lock);
    } catch (const std::runtime_error&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
    EXPECT_FALSE(lock.locked());
  }());
}

// Cancelling a task that waits in scoped() leaves no guard behind: the lock stays with the holder.
TEST(Lock, CancelInScopedAcquireDoesNotRelease) {
  run_test([]() -> Coro<void> {
    Lock lock;
    co_await lock.acquire();
    Task<void> t =
        stealio::create_task([](Lock& l) -> Coro<void> { auto g = co_await l.scoped(); }(lock));
    t.cancel();
    co_await run_briefly();
    EXPECT_TRUE(t.cancelled());
    EXPECT_TRUE(lock.locked());
    lock.release();
  }());
}

int waiters_of(const Lock& lock) {
  std::string r = lock.repr();
  auto pos = r.find("waiters:");
  return pos == std::string::npos ? 0 : std::stoi(r.substr(pos + 8));
}

TEST(Lock, ReleaseFromAThreadOutsideTheSchedulerWakesTheWaiter) {
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = 1});
  Lock lock;
  sched.run([](Lock& l) -> Coro<void> { co_await l.acquire(); }(lock));
  EXPECT_TRUE(lock.locked());
  Task<bool> t = sched.spawn(acquire(lock));
  while (waiters_of(lock) < 1) std::this_thread::yield();
  EXPECT_FALSE(t.done());
  lock.release();
  t.wait();
  EXPECT_TRUE(t.result());
  EXPECT_TRUE(lock.locked());
}

// --- Tasks on different workers ---

Coro<void> count_under_lock(Lock& lock, int iterations, long& counter, std::atomic<int>& inside,
                            std::atomic<int>& max_inside) {
  for (int i = 0; i < iterations; ++i) {
    auto guard = co_await lock.scoped();
    int now = inside.fetch_add(1) + 1;
    int seen = max_inside.load();
    while (now > seen && !max_inside.compare_exchange_weak(seen, now)) {
    }
    long c = counter;
    if (i % 3 == 0) co_await stealio::yield();  // hold the lock across a suspension
    counter = c + 1;
    inside.fetch_sub(1);
  }
}

TEST(LockWorkers, MutualExclusionAcrossWorkers) {
  for (int workers : {2, 4}) {
    sync_test::run_workers(workers, [](int workers) -> Coro<void> {
      Lock lock;
      long counter = 0;
      std::atomic<int> inside{0}, max_inside{0};
      constexpr int kTasksPerWorker = 4, kIterations = 300;
      std::vector<Task<void>> ts;
      stealio::Scheduler& sched = stealio::get_running_loop().scheduler();
      for (int w = 0; w < workers; ++w) {
        for (int k = 0; k < kTasksPerWorker; ++k) {
          ts.push_back(sync_test::spawn_pinned(
              sched.loop(w), count_under_lock(lock, kIterations, counter, inside, max_inside)));
        }
      }
      for (auto& t : ts) co_await t;
      EXPECT_EQ(counter, long{workers} * kTasksPerWorker * kIterations);
      EXPECT_EQ(max_inside.load(), 1);
      EXPECT_FALSE(lock.locked());
    }(workers));
  }
}

Coro<void> record_in_turn(Lock& lock, std::vector<int>& order, int id) {
  co_await lock.acquire();
  order.push_back(id);  // guarded by `lock`
  lock.release();
}

// Waiters queued one after another from different workers acquire in queueing order.
TEST(LockWorkers, FifoAcrossWorkers) {
  sync_test::run_workers(2, []() -> Coro<void> {
    Lock lock;
    std::vector<int> order;
    co_await lock.acquire();
    stealio::Scheduler& sched = stealio::get_running_loop().scheduler();
    std::vector<Task<void>> ts;
    constexpr int kWaiters = 8;
    for (int i = 0; i < kWaiters; ++i) {
      ts.push_back(sync_test::spawn_pinned(sched.loop(i % 2), record_in_turn(lock, order, i)));
      while (waiters_of(lock) < i + 1) co_await stealio::yield();
    }
    lock.release();
    for (auto& t : ts) co_await t;
    std::vector<int> expected;
    for (int i = 0; i < kWaiters; ++i) expected.push_back(i);
    EXPECT_EQ(order, expected);
  }());
}

}  // namespace
