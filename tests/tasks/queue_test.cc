// Tests of stealio/queue.h (Queue, PriorityQueue, LifoQueue): CPython's test_queues.py, ported
// (with 3.13's shutdown), and producers and consumers on different workers.
#include "stealio/queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "stealio/task.h"
#include "sync_test_util.h"

namespace {

using stealio::Coro;
using stealio::LifoQueue;
using stealio::PriorityQueue;
using stealio::Queue;
using stealio::QueueEmpty;
using stealio::QueueFull;
using stealio::QueueShutDown;
using stealio::Task;
using stealio::ValueError;
using sync_test::run_briefly;
using sync_test::run_test;

template <class Q>
Coro<typename Q::value_type> get(Q& q) {
  co_return co_await q.get();
}
template <class Q>
Coro<void> put(Q& q, typename Q::value_type v) {
  co_await q.put(std::move(v));
}

// How a task ended: "value", "cancelled", "shutdown", or what().
template <class T>
std::string outcome(Task<T>& t) {
  try {
    t.result();
    return "value";
  } catch (const stealio::CancelledError&) {
    return "cancelled";
  } catch (const QueueShutDown&) {
    return "shutdown";
  } catch (const std::exception& e) {
    return e.what();
  }
}

TEST(Queue, ReprShowsItemsWaitersAndUnfinishedTasks) {
  run_test([]() -> Coro<void> {
    Queue<int> q;
    EXPECT_EQ(q.repr(), "<Queue maxsize=0>");
    Task<int> g = stealio::create_task(get(q));
    EXPECT_EQ(q.repr(), "<Queue maxsize=0 _getters[1]>");
    q.put_nowait(1);
    co_await run_briefly();
    EXPECT_EQ(g.result(), 1);
    q.put_nowait(2);
    q.put_nowait(3);
    EXPECT_EQ(q.repr(), "<Queue maxsize=0 _queue=[2, 3] tasks=3>");
    Queue<int> bounded(1);
    bounded.put_nowait(5);
    Task<void> p = stealio::create_task(put(bounded, 6));
    EXPECT_EQ(bounded.repr(), "<Queue maxsize=1 _queue=[5] _putters[1] tasks=1>");
    EXPECT_EQ(bounded.get_nowait(), 5);
    co_await p;
    EXPECT_EQ(LifoQueue<int>().repr(), "<LifoQueue maxsize=0>");
    EXPECT_EQ(PriorityQueue<int>(3).repr(), "<PriorityQueue maxsize=3>");
  }());
}

TEST(Queue, GettersWokenBySeparatePutsRunInTheOrderTheyWereWoken) {
  // Each put_nowait wakes the oldest getter; the getters must then run in that order, so each
  // takes the item its wakeup was for (a woken task's step is queued FIFO on the waking worker).
  run_test([]() -> Coro<void> {
    Queue<int> q;
    Task<int> first = stealio::create_task(get(q));
    Task<int> second = stealio::create_task(get(q));
    Task<int> third = stealio::create_task(get(q));
    q.put_nowait(1);
    q.put_nowait(2);
    q.put_nowait(3);
    co_await run_briefly();
    EXPECT_EQ(first.result(), 1);
    EXPECT_EQ(second.result(), 2);
    EXPECT_EQ(third.result(), 3);
  }());
}

TEST(Queue, SizesEmptyAndFull) {
  Queue<int> q(2);
  EXPECT_EQ(q.maxsize(), 2);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());
  q.put_nowait(1);
  EXPECT_EQ(q.qsize(), 1u);
  q.put_nowait(2);
  EXPECT_TRUE(q.full());
  Queue<int> unbounded(0);
  for (int i = 0; i < 100; ++i) unbounded.put_nowait(i);
  EXPECT_FALSE(unbounded.full());
  Queue<int> negative(-1);
  negative.put_nowait(1);
  EXPECT_FALSE(negative.full());
}

TEST(Queue, NowaitErrors) {
  Queue<int> q(1);
  EXPECT_THROW(q.get_nowait(), QueueEmpty);
  q.put_nowait(1);
  EXPECT_THROW(q.put_nowait(2), QueueFull);
  EXPECT_EQ(q.get_nowait(), 1);
  EXPECT_THROW(q.get_nowait(), QueueEmpty);
}

TEST(Queue, OrderOfTheThreeKinds) {
  Queue<int> fifo;
  LifoQueue<int> lifo;
  PriorityQueue<int> prio;
  for (int v : {3, 1, 4, 1, 5, 9, 2}) {
    fifo.put_nowait(v);
    lifo.put_nowait(v);
    prio.put_nowait(v);
  }
  std::vector<int> f, l, p;
  while (!fifo.empty()) f.push_back(fifo.get_nowait());
  while (!lifo.empty()) l.push_back(lifo.get_nowait());
  while (!prio.empty()) p.push_back(prio.get_nowait());
  EXPECT_EQ(f, (std::vector<int>{3, 1, 4, 1, 5, 9, 2}));
  EXPECT_EQ(l, (std::vector<int>{2, 9, 5, 1, 4, 1, 3}));
  EXPECT_EQ(p, (std::vector<int>{1, 1, 2, 3, 4, 5, 9}));
}

TEST(Queue, PriorityQueueWithPairsAndACustomOrder) {
  PriorityQueue<std::pair<int, std::string>> q;
  q.put_nowait({2, "b"});
  q.put_nowait({1, "a"});
  q.put_nowait({3, "c"});
  EXPECT_EQ(q.get_nowait().second, "a");
  EXPECT_EQ(q.get_nowait().second, "b");
  PriorityQueue<int, std::greater<int>> maxq;
  for (int v : {1, 3, 2}) maxq.put_nowait(v);
  EXPECT_EQ(maxq.get_nowait(), 3);
}

TEST(Queue, MoveOnlyItems) {
  run_test([]() -> Coro<void> {
    Queue<std::unique_ptr<int>> q;
    co_await q.put(std::make_unique<int>(7));
    std::unique_ptr<int> v = co_await q.get();
    EXPECT_EQ(*v, 7);
  }());
}

TEST(Queue, BlockingGetIsWokenByPut) {
  run_test([]() -> Coro<void> {
    Queue<int> q;
    Task<int> g1 = stealio::create_task(get(q));
    Task<int> g2 = stealio::create_task(get(q));
    co_await run_briefly();
    EXPECT_FALSE(g1.done());
    co_await q.put(10);
    co_await q.put(20);
    co_await run_briefly();
    // Each woken getter gets one item (which one is up to the order in which they then run).
    EXPECT_EQ(g1.result() + g2.result(), 30);
    EXPECT_NE(g1.result(), g2.result());
    EXPECT_TRUE(q.empty());
  }());
}

TEST(Queue, BlockingPutWaitsForAFreeSlot) {
  run_test([]() -> Coro<void> {
    Queue<int> q(1);
    co_await q.put(1);
    Task<void> p2 = stealio::create_task(put(q, 2));
    Task<void> p3 = stealio::create_task(put(q, 3));
    co_await run_briefly();
    EXPECT_FALSE(p2.done());
    EXPECT_EQ(q.qsize(), 1u);
    EXPECT_EQ(co_await q.get(), 1);
    co_await run_briefly();
    EXPECT_TRUE(p2.done());
    EXPECT_FALSE(p3.done());
    EXPECT_EQ(co_await q.get(), 2);
    co_await run_briefly();
    EXPECT_TRUE(p3.done());
    EXPECT_EQ(q.get_nowait(), 3);
  }());
}

// CPython's test_get_cancelled_race.
TEST(Queue, CancelledGetterDoesNotTakeTheItem) {
  run_test([]() -> Coro<void> {
    Queue<int> q;
    Task<int> g1 = stealio::create_task(get(q));
    Task<int> g2 = stealio::create_task(get(q));
    g1.cancel();
    co_await run_briefly();
    EXPECT_TRUE(g1.cancelled());
    co_await q.put(1);
    co_await run_briefly();
    EXPECT_EQ(g2.result(), 1);
    EXPECT_EQ(q.repr(), "<Queue maxsize=0 tasks=1>");
  }());
}

// A getter woken by put() and cancelled before it runs hands the item to the next getter.
TEST(Queue, WokenGetterCancelledPassesTheItemOn) {
  run_test([]() -> Coro<void> {
    Queue<int> q;
    Task<int> g1 = stealio::create_task(get(q));
    Task<int> g2 = stealio::create_task(get(q));
    q.put_nowait(5);  // wakes g1
    g1.cancel();
    co_await run_briefly();
    EXPECT_TRUE(g1.cancelled());
    EXPECT_TRUE(g2.done());
    EXPECT_EQ(g2.result(), 5);
    EXPECT_TRUE(q.empty());
  }());
}

// A putter woken by get() and cancelled before it runs hands the slot to the next putter.
TEST(Queue, WokenPutterCancelledPassesTheSlotOn) {
  run_test([]() -> Coro<void> {
    Queue<int> q(1);
    q.put_nowait(0);
    Task<void> p1 = stealio::create_task(put(q, 1));
    Task<void> p2 = stealio::create_task(put(q, 2));
    EXPECT_EQ(q.get_nowait(), 0);  // wakes p1
    p1.cancel();
    co_await run_briefly();
    EXPECT_TRUE(p1.cancelled());
    EXPECT_TRUE(p2.done());
    EXPECT_EQ(q.get_nowait(), 2);
    EXPECT_TRUE(q.empty());
  }());
}

TEST(Queue, CancelledPutterLeavesNoPutter) {
  run_test([]() -> Coro<void> {
    Queue<int> q(1);
    q.put_nowait(0);
    Task<void> p = stealio::create_task(put(q, 1));
    p.cancel();
    co_await run_briefly();
    EXPECT_TRUE(p.cancelled());
    EXPECT_EQ(q.repr(), "<Queue maxsize=1 _queue=[0] tasks=1>");
  }());
}

TEST(Queue, TaskDoneTooOftenRaises) {
  Queue<int> q;
  try {
    q.task_done();
    ADD_FAILURE() << "no exception";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "task_done() called too many times");
  }
  q.put_nowait(1);
  q.task_done();
  EXPECT_THROW(q.task_done(), ValueError);
}

TEST(Queue, JoinWaitsForEveryTaskDone) {
  run_test([]() -> Coro<void> {
    Queue<int> q;
    co_await q.join();  // nothing unfinished: at once
    for (int i = 0; i < 3; ++i) q.put_nowait(i);
    Task<void> j1 = stealio::create_task(q.join());
    Task<void> j2 = stealio::create_task(q.join());
    for (int i = 0; i < 3; ++i) q.get_nowait();
    co_await run_briefly();
    EXPECT_FALSE(j1.done());  // gotten but not done
    q.task_done();
    q.task_done();
    co_await run_briefly();
    EXPECT_FALSE(j1.done());
    q.task_done();
    co_await run_briefly();
    EXPECT_TRUE(j1.done() && j2.done());
    // join() after the count went back up waits again.
    q.put_nowait(9);
    Task<void> j3 = stealio::create_task(q.join());
    co_await run_briefly();
    EXPECT_FALSE(j3.done());
    q.get_nowait();
    q.task_done();
    co_await j3;
  }());
}

TEST(Queue, CancelledJoinLeavesNoJoiner) {
  run_test([]() -> Coro<void> {
    Queue<int> q;
    q.put_nowait(1);
    Task<void> j = stealio::create_task(q.join());
    j.cancel();
    co_await run_briefly();
    EXPECT_TRUE(j.cancelled());
    q.get_nowait();
    q.task_done();
    co_await q.join();
  }());
}

// --- shutdown (Python 3.13) ---

TEST(QueueShutdown, EmptyQueueRaisesEverywhere) {
  run_test([]() -> Coro<void> {
    Queue<int> q;
    q.shutdown();
    EXPECT_EQ(q.repr(), "<Queue maxsize=0 shutdown>");
    EXPECT_THROW(q.put_nowait(1), QueueShutDown);
    EXPECT_THROW(q.get_nowait(), QueueShutDown);
    Task<void> p = stealio::create_task(put(q, 1));
    Task<int> g = stealio::create_task(get(q));
    co_await run_briefly();
    EXPECT_EQ(outcome(p), "shutdown");
    EXPECT_EQ(outcome(g), "shutdown");
  }());
}

TEST(QueueShutdown, GettersDrainTheItemsThenRaise) {
  run_test([]() -> Coro<void> {
    Queue<int> q;
    q.put_nowait(1);
    q.put_nowait(2);
    q.shutdown();
    EXPECT_THROW(q.put_nowait(3), QueueShutDown);
    EXPECT_EQ(co_await q.get(), 1);
    EXPECT_EQ(q.get_nowait(), 2);
    EXPECT_THROW(q.get_nowait(), QueueShutDown);
    // join still counts the items gotten but not done.
    Task<void> j = stealio::create_task(q.join());
    co_await run_briefly();
    EXPECT_FALSE(j.done());
    q.task_done();
    q.task_done();
    co_await j;
  }());
}

TEST(QueueShutdown, WakesBlockedGettersAndPutters) {
  run_test([]() -> Coro<void> {
    Queue<int> empty;
    Task<int> g1 = stealio::create_task(get(empty));
    Task<int> g2 = stealio::create_task(get(empty));
    Queue<int> full(1);
    full.put_nowait(0);
    Task<void> p1 = stealio::create_task(put(full, 1));
    Task<void> p2 = stealio::create_task(put(full, 2));
    co_await run_briefly();
    empty.shutdown();
    full.shutdown();
    co_await run_briefly();
    EXPECT_EQ(outcome(g1), "shutdown");
    EXPECT_EQ(outcome(g2), "shutdown");
    EXPECT_EQ(outcome(p1), "shutdown");
    EXPECT_EQ(outcome(p2), "shutdown");
    EXPECT_EQ(full.get_nowait(), 0);  // non-immediate: the items stay to be drained
  }());
}

TEST(QueueShutdown, ImmediateDropsItemsAndReleasesJoin) {
  run_test([]() -> Coro<void> {
    Queue<int> q(2);
    q.put_nowait(1);
    q.put_nowait(2);
    Task<void> p = stealio::create_task(put(q, 3));
    Task<void> j = stealio::create_task(q.join());
    co_await run_briefly();
    q.shutdown(/*immediate=*/true);
    co_await run_briefly();
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(outcome(p), "shutdown");
    EXPECT_TRUE(j.done());
    EXPECT_THROW(q.get_nowait(), QueueShutDown);
    EXPECT_THROW(q.task_done(), ValueError);
  }());
}

TEST(QueueShutdown, ImmediateKeepsItemsGottenButNotDoneUnfinished) {
  run_test([]() -> Coro<void> {
    Queue<int> q;
    q.put_nowait(1);
    q.put_nowait(2);
    EXPECT_EQ(q.get_nowait(), 1);  // being processed
    Task<void> j = stealio::create_task(q.join());
    q.shutdown(true);
    co_await run_briefly();
    EXPECT_FALSE(j.done());
    q.task_done();
    co_await run_briefly();
    EXPECT_TRUE(j.done());
  }());
}

// --- Tasks on different workers ---

Coro<void> produce(Queue<int>& q, int from, int n) {
  for (int i = from; i < from + n; ++i) co_await q.put(i);
}

Coro<long> consume_until_shutdown(Queue<int>& q, std::atomic<int>& got) {
  long sum = 0;
  try {
    for (;;) {
      sum += co_await q.get();
      got.fetch_add(1);
      q.task_done();
    }
  } catch (const QueueShutDown&) {
  }
  co_return sum;
}

TEST(QueueWorkers, ManyProducersAndConsumersLoseNothing) {
  for (int maxsize : {1, 16, 0}) {
    sync_test::run_workers(4, [](int maxsize) -> Coro<void> {
      constexpr int kProducers = 4, kConsumers = 4, kPer = 500;
      Queue<int> q(maxsize);
      std::atomic<int> got{0};
      stealio::Scheduler& sched = stealio::get_running_loop().scheduler();
      std::vector<Task<void>> producers;
      std::vector<Task<long>> consumers;
      for (int i = 0; i < kConsumers; ++i) {
        consumers.push_back(
            sync_test::spawn_pinned(sched.loop(i % 4), consume_until_shutdown(q, got)));
      }
      for (int i = 0; i < kProducers; ++i) {
        producers.push_back(
            sync_test::spawn_pinned(sched.loop((i + 2) % 4), produce(q, i * kPer, kPer)));
      }
      for (auto& t : producers) co_await t;
      co_await q.join();
      EXPECT_EQ(got.load(), kProducers * kPer);
      q.shutdown();
      long total = 0;
      for (auto& t : consumers) total += co_await t;
      const long n = long{kProducers} * kPer;
      EXPECT_EQ(total, n * (n - 1) / 2);
      EXPECT_TRUE(q.empty());
    }(maxsize));
  }
}

}  // namespace
