// Tests of stealio/event.h: CPython's test_locks.py EventTests, ported, and waiters on different
// workers woken by a task or by a thread outside the scheduler.
#include "stealio/event.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "stealio/task.h"
#include "sync_test_util.h"

namespace {

using stealio::Coro;
using stealio::Event;
using stealio::Task;
using sync_test::run_briefly;
using sync_test::run_test;

Coro<bool> wait_and_record(Event& ev, std::vector<int>& result, int id) {
  bool r = co_await ev.wait();
  if (r) result.push_back(id);
  co_return r;
}

TEST(Event, StartsUnsetAndSetClearToggle) {
  Event ev;
  EXPECT_FALSE(ev.is_set());
  EXPECT_EQ(ev.repr(), "<Event [unset]>");
  ev.set();
  EXPECT_TRUE(ev.is_set());
  EXPECT_EQ(ev.repr(), "<Event [set]>");
  ev.clear();
  EXPECT_FALSE(ev.is_set());
}

TEST(Event, WaitOnASetEventReturnsAtOnce) {
  run_test([]() -> Coro<void> {
    Event ev;
    ev.set();
    EXPECT_TRUE(co_await ev.wait());
    EXPECT_TRUE(ev.is_set());
  }());
}

TEST(Event, SetWakesEveryWaiter) {
  run_test([]() -> Coro<void> {
    Event ev;
    std::vector<int> result;
    Task<bool> t1 = stealio::create_task(wait_and_record(ev, result, 1));
    Task<bool> t2 = stealio::create_task(wait_and_record(ev, result, 2));
    co_await run_briefly();
    EXPECT_TRUE(result.empty());
    EXPECT_EQ(ev.repr(), "<Event [unset, waiters:2]>");
    Task<bool> t3 = stealio::create_task(wait_and_record(ev, result, 3));
    ev.set();
    co_await run_briefly();
    EXPECT_EQ(result, (std::vector<int>{1, 2, 3}));
    EXPECT_TRUE(t1.done() && t2.done() && t3.done());
    EXPECT_TRUE(t1.result() && t2.result() && t3.result());
    EXPECT_EQ(ev.repr(), "<Event [set]>");
  }());
}

TEST(Event, CancelledWaiterLeavesNoWaiter) {
  run_test([]() -> Coro<void> {
    Event ev;
    std::vector<int> result;
    Task<bool> t = stealio::create_task(wait_and_record(ev, result, 1));
    Task<bool> other = stealio::create_task(wait_and_record(ev, result, 2));
    t.cancel();
    co_await run_briefly();
    EXPECT_TRUE(t.cancelled());
    EXPECT_EQ(ev.repr(), "<Event [unset, waiters:1]>");
    ev.set();
    co_await run_briefly();
    EXPECT_EQ(result, (std::vector<int>{2}));
    EXPECT_TRUE(other.result());
  }());
}

// CPython's test_clear_with_waiters: a set() wakes the waiters of that moment even if clear()
// comes before they run, and a second set() gives no second wakeup.
TEST(Event, ClearAfterSetStillWakesTheWaiters) {
  run_test([]() -> Coro<void> {
    Event ev;
    std::vector<int> result;
    Task<bool> t = stealio::create_task(wait_and_record(ev, result, 1));
    ev.set();
    ev.clear();
    EXPECT_FALSE(ev.is_set());
    ev.set();
    ev.set();
    EXPECT_EQ(ev.repr(), "<Event [set, waiters:1]>");
    co_await run_briefly();
    EXPECT_EQ(result, (std::vector<int>{1}));
    EXPECT_TRUE(t.done());
    EXPECT_EQ(ev.repr(), "<Event [set]>");
  }());
}

TEST(Event, WaitAfterClearBlocksUntilTheNextSet) {
  run_test([]() -> Coro<void> {
    Event ev;
    std::vector<int> result;
    ev.set();
    ev.clear();
    Task<bool> t = stealio::create_task(wait_and_record(ev, result, 1));
    co_await run_briefly();
    EXPECT_FALSE(t.done());
    ev.set();
    co_await run_briefly();
    EXPECT_TRUE(t.done());
  }());
}

// --- Tasks on different workers ---

Coro<void> wait_and_count(Event& ev, std::atomic<int>& woke) {
  co_await ev.wait();
  woke.fetch_add(1);
}

TEST(EventWorkers, SetFromATaskWakesWaitersOnEveryWorker) {
  sync_test::run_workers(4, []() -> Coro<void> {
    Event ev;
    std::atomic<int> woke{0};
    stealio::Scheduler& sched = stealio::get_running_loop().scheduler();
    std::vector<Task<void>> ts;
    for (int i = 0; i < 16; ++i) {
      ts.push_back(sync_test::spawn_pinned(sched.loop(i % 4), wait_and_count(ev, woke)));
    }
    EXPECT_EQ(woke.load(), 0);
    ev.set();
    for (auto& t : ts) co_await t;
    EXPECT_EQ(woke.load(), 16);
  }());
}

TEST(EventWorkers, SetFromAnOutsideThreadWakesWaiters) {
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = 2});
  Event ev;
  std::atomic<int> woke{0};
  std::vector<Task<void>> ts;
  for (int i = 0; i < 8; ++i) {
    ts.push_back(sync_test::spawn_pinned(sched.loop(i % 2), wait_and_count(ev, woke)));
  }
  std::thread setter([&] { ev.set(); });
  setter.join();
  for (auto& t : ts) t.wait();
  EXPECT_EQ(woke.load(), 8);
}

}  // namespace
