// Joins that help: a task awaiting a child whose step is still in its worker's queue runs it
// (and the steps pushed after it) nested in its own step instead of suspending. What must hold:
// the order is the one the worker would have used, the awaiting task does not suspend, steps of
// task types that cannot nest are queued again untouched, and the loop's callbacks still get
// their turn during a long nested join.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <vector>

#include "stealio/stealio.h"

namespace {

using stealio::Coro;
using stealio::Scheduler;
using stealio::SchedulerOptions;
using stealio::Task;

Coro<void> record(std::vector<int>* order, int i) {
  EXPECT_EQ(stealio::current_task()->get_name(), "child-" + std::to_string(i));
  order->push_back(i);
  co_return;
}

TEST(Join, AwaitingTheFirstChildRunsTheNewerOnesFirstWithoutSuspending) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  sched.run([]() -> Coro<void> {
    stealio::Loop& loop = stealio::get_running_loop();
    stealio::TaskRef parent = stealio::current_task();
    std::vector<int> order;
    std::vector<Task<void>> children;
    const std::uint64_t steps_before = loop.stats().steps;
    for (int i = 0; i < 3; ++i) {
      children.push_back(stealio::create_task(
          record(&order, i), stealio::TaskOptions().with_name("child-" + std::to_string(i))));
    }
    co_await children[0];
    // One nested step per child and none for this task: it never suspended.
    EXPECT_EQ(loop.stats().steps - steps_before, 3u);
    EXPECT_EQ(order, (std::vector<int>{2, 1, 0}));
    for (auto& c : children) EXPECT_TRUE(c.done());
    EXPECT_EQ(stealio::current_task(), parent);  // the slot is ours again
  }());
}

// A step of a task type that does not support nesting (TaskBase::step_nested's default).
class PlainStep final : public stealio::TaskBase {
 public:
  explicit PlainStep(stealio::Loop& loop, std::vector<int>* order)
      : TaskBase(loop), order_(order) {}
  void step() override {
    stealio::Loop& loop = stealio::get_running_loop();
    stealio::enter_task(loop, *this);  // raises if the slot still held the awaiting task
    order_->push_back(-1);
    stealio::leave_task(loop, *this);
    mark_done();
  }

 private:
  std::vector<int>* order_;
};

TEST(Join, AStepThatCannotNestIsQueuedAgainAndTheJoinSuspends) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  std::vector<int> order;
  sched.run([](std::vector<int>* order) -> Coro<void> {
    stealio::Loop& loop = stealio::get_running_loop();
    Task<void> child = stealio::create_task(
        record(order, 0), stealio::TaskOptions().with_name("child-0"));
    stealio::TaskRef plain = stealio::TaskRef::adopt(new PlainStep(loop, order));
    stealio::schedule_step(plain);  // above the child in the worker's queue
    const std::uint64_t steps_before = loop.stats().steps;
    co_await child;
    // The plain step and the child ran as ordinary steps, then this task resumed: 3 steps.
    EXPECT_EQ(loop.stats().steps - steps_before, 3u);
    EXPECT_TRUE(plain->done());
  }(&order));
  EXPECT_EQ(order, (std::vector<int>{-1, 0}));
}

std::atomic<long> g_leaves{0};

Coro<long> tree(int n) {
  if (n < 2) {
    g_leaves.fetch_add(1, std::memory_order_relaxed);
    co_return 1;
  }
  Task<long> a = stealio::create_task(tree(n - 1));
  long b = co_await tree(n - 2);
  long av = co_await a;
  co_return av + b;
}

TEST(Join, CallbacksRunDuringALongNestedJoin) {
  // tree(20) has 10946 leaves and ~6,800 tasks, far more than the nested steps a step of the
  // loop may run (Worker::kMaxNestedSteps): the callback must run before the tree is done.
  Scheduler sched(SchedulerOptions{.workers = 1});
  g_leaves = 0;
  long leaves_when_called = -1;
  const long total = sched.run([](long* seen) -> Coro<long> {
    stealio::get_running_loop().call_soon(
        [seen] { *seen = g_leaves.load(std::memory_order_relaxed); });
    co_return co_await tree(20);
  }(&leaves_when_called));
  EXPECT_EQ(total, 10946);
  EXPECT_GE(leaves_when_called, 0);
  EXPECT_LT(leaves_when_called, total);
}

// An inline join hands the queue's reference to the child over to the handle it awaits, which
// then holds two: its copies hold one each, a move carries both, and the task is freed once, when
// the last handle goes. `probe` counts the task's hold on its result.
Coro<std::shared_ptr<int>> give(std::shared_ptr<int> p) { co_return p; }

TEST(Join, TheAwaitedHandleTakesOverTheQueuesReference) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  sched.run([]() -> Coro<void> {
    stealio::Loop& loop = stealio::get_running_loop();
    auto probe = std::make_shared<int>(7);
    {
      Task<std::shared_ptr<int>> t = stealio::create_task(give(probe));
      const std::uint64_t steps_before = loop.stats().steps;
      EXPECT_EQ(*co_await t, 7);
      EXPECT_EQ(loop.stats().steps - steps_before, 1u);  // joined inline: the child's step only
      EXPECT_EQ(probe.use_count(), 2);                   // ours and the task's result
      Task<std::shared_ptr<int>> copy = t;
      { Task<std::shared_ptr<int>> moved = std::move(t); }  // both of t's references go
      EXPECT_EQ(probe.use_count(), 2);                      // the copy keeps the task
      EXPECT_EQ(*copy.result(), 7);
    }
    EXPECT_EQ(probe.use_count(), 1);  // freed with the copy

    // A joined handle moved into a Future, or assigned over, drops both references too.
    Task<std::shared_ptr<int>> a = stealio::create_task(give(probe));
    co_await a;
    {
      stealio::Future<std::shared_ptr<int>> f = std::move(a);
      EXPECT_EQ(probe.use_count(), 2);
    }
    EXPECT_EQ(probe.use_count(), 1);
    Task<std::shared_ptr<int>> b = stealio::create_task(give(probe));
    co_await b;
    b = stealio::create_task(give(nullptr));
    EXPECT_EQ(probe.use_count(), 1);
    EXPECT_EQ(co_await b, nullptr);
  }());
}

Coro<int> value_of(int v) { co_return v; }
Coro<int> await_shared(const Task<int>* t) { co_return co_await *t; }

// Tasks on both workers await one handle object at once, by reference: the join that runs the
// child marks the handle while the others read it (ThreadSanitizer checks the accesses), and
// every task is freed once (AddressSanitizer).
TEST(Join, TasksAwaitingOneHandleTogetherAllGetItsResult) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  sched.run([]() -> Coro<void> {
    for (int round = 0; round < 300; ++round) {
      Task<int> shared = stealio::create_task(value_of(round));
      std::vector<Task<int>> readers;
      for (int i = 0; i < 4; ++i) readers.push_back(stealio::create_task(await_shared(&shared)));
      int sum = co_await shared;
      for (auto& r : readers) sum += co_await r;
      EXPECT_EQ(sum, 5 * round);
    }
  }());
}

}  // namespace
