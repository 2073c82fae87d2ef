// Tests of stealio/barrier.h: CPython's test_locks.py BarrierTests, ported, and rounds of a
// barrier whose parties sit on different workers.
#include "stealio/barrier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "stealio/task.h"
#include "sync_test_util.h"

namespace {

using stealio::Barrier;
using stealio::BrokenBarrierError;
using stealio::Coro;
using stealio::Task;
using stealio::ValueError;
using sync_test::run_briefly;
using sync_test::run_test;

// How a barrier wait ended: its index, or the BrokenBarrierError's message.
std::string outcome(Task<int>& t) {
  try {
    return std::to_string(t.result());
  } catch (const BrokenBarrierError& e) {
    return std::string("broken: ") + e.what();
  } catch (const stealio::CancelledError&) {
    return "cancelled";
  }
}

TEST(Barrier, PartiesMustBePositive) {
  for (int parties : {0, -4}) {
    try {
      Barrier b(parties);
      ADD_FAILURE() << "no exception";
    } catch (const ValueError& e) {
      EXPECT_STREQ(e.what(), "parties must be >= 1");
    }
  }
}

TEST(Barrier, ReleasesAllPartiesWithDistinctIndices) {
  run_test([]() -> Coro<void> {
    constexpr int kN = 5;
    Barrier barrier(kN);
    EXPECT_EQ(barrier.parties(), kN);
    EXPECT_EQ(barrier.repr(), "<Barrier [filling, waiters:0/5]>");
    std::vector<Task<int>> ts;
    for (int i = 0; i < kN - 1; ++i) ts.push_back(stealio::create_task(barrier.wait()));
    co_await run_briefly();
    EXPECT_EQ(barrier.n_waiting(), kN - 1);
    EXPECT_EQ(barrier.repr(), "<Barrier [filling, waiters:4/5]>");
    for (auto& t : ts) EXPECT_FALSE(t.done());
    int last = co_await barrier.wait();
    EXPECT_EQ(last, kN - 1);
    co_await run_briefly();
    std::vector<int> indices{last};
    for (auto& t : ts) indices.push_back(t.result());
    std::sort(indices.begin(), indices.end());
    EXPECT_EQ(indices, (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_EQ(barrier.n_waiting(), 0);
    EXPECT_FALSE(barrier.broken());
    EXPECT_EQ(barrier.repr(), "<Barrier [filling, waiters:0/5]>");
  }());
}

TEST(Barrier, OnePartyPassesAtOnce) {
  run_test([]() -> Coro<void> {
    Barrier barrier(1);
    EXPECT_EQ(co_await barrier.wait(), 0);
    EXPECT_EQ(co_await barrier.wait(), 0);
    EXPECT_EQ(barrier.n_waiting(), 0);
  }());
}

// CPython's test_draining_state / test_blocking_tasks_while_draining: a task arriving while the
// released parties leave waits for the next round.
TEST(Barrier, ArrivalWhileDrainingWaitsForTheNextRound) {
  run_test([]() -> Coro<void> {
    Barrier barrier(2);
    Task<int> a = stealio::create_task(barrier.wait());
    Task<int> b = stealio::create_task(barrier.wait());  // trips; a has not left yet
    EXPECT_TRUE(b.done());
    EXPECT_EQ(barrier.repr(), "<Barrier [draining, waiters:0/2]>");
    Task<int> c = stealio::create_task(barrier.wait());
    EXPECT_EQ(barrier.n_waiting(), 0);
    co_await run_briefly();
    EXPECT_TRUE(a.done());
    EXPECT_FALSE(c.done());
    EXPECT_EQ(barrier.n_waiting(), 1);  // c is in the new round
    EXPECT_EQ(co_await barrier.wait(), 1);
    co_await run_briefly();
    EXPECT_EQ(outcome(a), "0");
    EXPECT_EQ(outcome(b), "1");
    EXPECT_EQ(outcome(c), "0");
  }());
}

TEST(Barrier, AbortBreaksWaitingAndLaterParties) {
  run_test([]() -> Coro<void> {
    Barrier barrier(3);
    Task<int> a = stealio::create_task(barrier.wait());
    Task<int> b = stealio::create_task(barrier.wait());
    co_await run_briefly();
    co_await barrier.abort();
    co_await run_briefly();
    EXPECT_TRUE(barrier.broken());
    EXPECT_EQ(barrier.repr(), "<Barrier [broken]>");
    EXPECT_EQ(outcome(a), "broken: Abort or reset of barrier");
    EXPECT_EQ(outcome(b), "broken: Abort or reset of barrier");
    EXPECT_EQ(barrier.n_waiting(), 0);
    try {
      co_await barrier.wait();
      ADD_FAILURE() << "no exception";
    } catch (const BrokenBarrierError& e) {
      EXPECT_STREQ(e.what(), "Barrier aborted");
    }
  }());
}

TEST(Barrier, ResetBreaksWaitersAndRefills) {
  run_test([]() -> Coro<void> {
    Barrier barrier(3);
    Task<int> a = stealio::create_task(barrier.wait());
    Task<int> b = stealio::create_task(barrier.wait());
    co_await run_briefly();
    EXPECT_EQ(barrier.n_waiting(), 2);
    co_await barrier.reset();
    EXPECT_EQ(barrier.repr(), "<Barrier [resetting, waiters:0/3]>");
    co_await run_briefly();
    EXPECT_EQ(outcome(a), "broken: Abort or reset of barrier");
    EXPECT_EQ(outcome(b), "broken: Abort or reset of barrier");
    EXPECT_FALSE(barrier.broken());
    EXPECT_EQ(barrier.repr(), "<Barrier [filling, waiters:0/3]>");
    // A full round works after the reset.
    Task<int> c = stealio::create_task(barrier.wait());
    Task<int> d = stealio::create_task(barrier.wait());
    EXPECT_EQ(co_await barrier.wait(), 2);
    co_await run_briefly();
    EXPECT_EQ(outcome(c), "0");
    EXPECT_EQ(outcome(d), "1");
  }());
}

TEST(Barrier, ResetOfAnEmptyBarrierAndAfterAbortRestoresIt) {
  run_test([]() -> Coro<void> {
    Barrier barrier(1);
    co_await barrier.abort();
    EXPECT_TRUE(barrier.broken());
    co_await barrier.reset();
    EXPECT_FALSE(barrier.broken());
    EXPECT_EQ(co_await barrier.wait(), 0);
  }());
}

TEST(Barrier, CancelledPartyLeavesTheCountAsBefore) {
  run_test([]() -> Coro<void> {
    Barrier barrier(2);
    Task<int> a = stealio::create_task(barrier.wait());
    co_await run_briefly();
    EXPECT_EQ(barrier.n_waiting(), 1);
    a.cancel();
    co_await run_briefly();
    EXPECT_TRUE(a.cancelled());
    EXPECT_EQ(barrier.n_waiting(), 0);
    EXPECT_FALSE(barrier.broken());
    // Two new parties are needed for a round.
    Task<int> b = stealio::create_task(barrier.wait());
    co_await run_briefly();
    EXPECT_FALSE(b.done());
    EXPECT_EQ(co_await barrier.wait(), 1);
    co_await run_briefly();
    EXPECT_EQ(outcome(b), "0");
  }());
}

// --- Tasks on different workers ---

// Each round, every party checks that all parties finished the previous round's phase.
Coro<void> rounds(Barrier& barrier, int parties, int n_rounds, std::atomic<int>& arrived,
                  std::atomic<int>& errors) {
  for (int r = 0; r < n_rounds; ++r) {
    arrived.fetch_add(1);
    co_await barrier.wait();
    if (arrived.load() < (r + 1) * parties) errors.fetch_add(1);
    co_await barrier.wait();  // nobody starts round r+1 before all have checked round r
  }
}

TEST(BarrierWorkers, RoundsAcrossWorkers) {
  sync_test::run_workers(4, []() -> Coro<void> {
    constexpr int kParties = 8, kRounds = 50;
    Barrier barrier(kParties);
    std::atomic<int> arrived{0}, errors{0};
    stealio::Scheduler& sched = stealio::get_running_loop().scheduler();
    std::vector<Task<void>> ts;
    for (int i = 0; i < kParties; ++i) {
      ts.push_back(sync_test::spawn_pinned(sched.loop(i % 4),
                                           rounds(barrier, kParties, kRounds, arrived, errors)));
    }
    for (auto& t : ts) co_await t;
    EXPECT_EQ(arrived.load(), kParties * kRounds);
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(barrier.n_waiting(), 0);
  }());
}

}  // namespace
