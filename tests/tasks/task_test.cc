// Task<T>: names, the lifetime protocol inside coroutines, eager start, contexts, migration,
// shutdown reporting; the cases of CPython's test_tasks and test_eager_task_factory.
#include "stealio/task.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "stealio/stealio.h"
#include "test_support.h"

namespace {

using stealio::Coro;
using stealio::Future;
using stealio::RuntimeError;
using stealio::Scheduler;
using stealio::SchedulerOptions;
using stealio::Task;
using stealio::TaskOptions;
using stealio::TaskRef;
using stealio_test::contains;
using stealio_test::run_on;

Coro<int> value(int v) { co_return v; }

TEST(Task, DefaultNamesIncreaseAndCanBeChanged) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  Task<int> a = sched.spawn(value(1));
  Task<int> b = sched.spawn(value(2));
  EXPECT_EQ(a.get_name(), "Task-" + std::to_string(a.id()));
  EXPECT_LT(a.id(), b.id());
  Task<int> c = sched.spawn(value(3), TaskOptions().with_name("custom"));
  EXPECT_EQ(c.get_name(), "custom");
  c.set_name("renamed");
  EXPECT_EQ(c.get_name(), "renamed");
  for (Task<int>* t : {&a, &b, &c}) t->wait();
}

TEST(Task, SetResultAndSetExceptionRaise) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  Task<int> t = sched.spawn(value(1));
  try {
    t.set_result(2);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "Task does not support set_result operation");
  }
  try {
    t.set_exception(std::runtime_error("x"));
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "Task does not support set_exception operation");
  }
  t.wait();
  EXPECT_EQ(t.result(), 1);
}

Coro<int> add_children(int n) {
  std::vector<Task<int>> kids;
  for (int i = 0; i < n; ++i) kids.push_back(stealio::create_task(value(i)));
  int sum = 0;
  for (auto& k : kids) sum += co_await k;
  co_return sum;
}

TEST(Task, RunReturnsTheResult) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  EXPECT_EQ(sched.run(add_children(100)), 4950);
}

Coro<std::uint64_t> fib(int n) {
  if (n < 2) co_return n;
  Task<std::uint64_t> a = stealio::create_task(fib(n - 1));
  std::uint64_t b = co_await fib(n - 2);
  co_return co_await a + b;
}

TEST(Task, ForkJoinFib) {
  for (int workers : {1, 2, 4}) {
    Scheduler sched(SchedulerOptions{.workers = workers});
    EXPECT_EQ(sched.run(fib(20)), 6765u) << workers;
  }
}

TEST(Task, RunFromAWorkerRaises) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  EXPECT_THROW(run_on(sched.loop(0), [&] { sched.run(value(1)); }), RuntimeError);
}

Coro<bool> current_is(stealio::Future<TaskRef> me, int yields) {
  TaskRef self = co_await me;
  for (int i = 0; i < yields; ++i) {
    if (stealio::current_task() != self) co_return false;
    co_await stealio::yield();
  }
  co_return stealio::current_task() == self;
}

TEST(Task, CurrentTaskInsideInterleavingTasks) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  std::vector<Task<bool>> tasks;
  for (int i = 0; i < 16; ++i) {
    Future<TaskRef> me(sched.loop(i % 2));
    Task<bool> t = sched.loop(i % 2).create_task(current_is(me, 50));
    me.set_result(t.ref());
    tasks.push_back(t);
  }
  for (auto& t : tasks) {
    t.wait();
    EXPECT_TRUE(t.result());
  }
}

Coro<int> eager_body(std::string* name, bool* current_ok, bool* listed) {
  TaskRef me = stealio::current_task();
  *name = me ? me->get_name() : "";
  *current_ok = me && me->get_loop() == &stealio::get_running_loop();
  *listed = contains(stealio::all_tasks(), me.get());
  co_return 7;
}

TEST(Task, EagerStartRunsTheFirstStepInsideCreateTask) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  run_on(sched.loop(0), [&] {
    std::string name;
    bool current_ok = false, listed = false;
    TaskRef before = stealio::current_task();
    Task<int> t = stealio::create_task(eager_body(&name, &current_ok, &listed),
                                       TaskOptions().with_name("eager").with_eager_start(true));
    EXPECT_TRUE(t.done());  // finished without being queued
    EXPECT_EQ(t.result(), 7);
    EXPECT_EQ(name, "eager");
    EXPECT_TRUE(current_ok);
    EXPECT_TRUE(listed);
    EXPECT_FALSE(contains(stealio::all_tasks(), t.ref().get()));
    EXPECT_EQ(stealio::current_task(), before);  // the slot is restored
  });
}

Coro<int> eager_then_wait(Future<int> f) { co_return co_await f; }

TEST(Task, EagerTaskThatSuspendsIsListedWhileBlocked) {
  Scheduler sched(SchedulerOptions{.workers = 1, .eager_start = true});
  Future<int> f(sched.loop(0));
  Task<int> t = run_on(sched.loop(0), [&] { return stealio::create_task(eager_then_wait(f)); });
  EXPECT_FALSE(t.done());
  EXPECT_TRUE(contains(stealio::all_tasks(sched.loop(0)), t.ref().get()));
  f.set_result(3);
  t.wait();
  EXPECT_EQ(t.result(), 3);
  EXPECT_FALSE(contains(sched.all_tasks(), t.ref().get()));
}

stealio::ContextVar<int> g_var("g_var", -1);

Coro<int> set_and_read(int v, Future<void> go) {
  g_var.set(v);
  co_await go;
  co_return g_var.get();
}

TEST(Task, EachTaskRunsInACopyOfItsCreatorsContext) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  Future<void> go(sched.loop(0));
  Task<int> a = sched.spawn(set_and_read(1, go));
  Task<int> b = sched.spawn(set_and_read(2, go));
  go.set_result();
  a.wait();
  b.wait();
  EXPECT_EQ(a.result(), 1);
  EXPECT_EQ(b.result(), 2);
  EXPECT_EQ(g_var.get(), -1);  // nothing leaked into the spawning thread
}

Coro<int> child_reads(Future<void> go) {
  co_await go;
  co_return g_var.get();
}

// A parent that never set a variable hands its creator's values on to its children; what it
// sets later reaches neither the children made before nor its creator, and a token made before
// a suspension (the task may resume on another worker) resets after it.
Coro<std::vector<int>> parent_of_two(Future<void> go) {
  std::vector<int> seen;
  Task<int> before = stealio::create_task(child_reads(go));  // the parent's context not made yet
  stealio::Token t = g_var.set(5);
  Task<int> after = stealio::create_task(child_reads(go));
  co_await go;
  co_await stealio::yield();
  seen.push_back(co_await before);
  seen.push_back(co_await after);
  seen.push_back(g_var.get());
  g_var.reset(t);
  seen.push_back(g_var.get());
  co_return seen;
}

TEST(Task, AContextCopiedOnFirstNeedKeepsEveryTaskIsolated) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  Future<void> go(sched.loop(0));
  stealio::Context ctx;
  ctx.run([] { g_var.set(3); });
  Task<std::vector<int>> p = sched.spawn(
      [](Future<void> go) -> Coro<std::vector<int>> {
        // A task with no set of its own: its child inherits the creator's 3.
        co_return co_await stealio::create_task(parent_of_two(go));
      }(go),
      TaskOptions().with_context(ctx));
  go.set_result();
  p.wait();
  EXPECT_EQ(p.result(), (std::vector<int>{3, 5, 5, 3}));
  EXPECT_EQ(ctx.get(g_var), 3);  // the shared context was never written by the copies
}

Coro<int> read_var() { co_return g_var.get(); }
Coro<void> write_var(int v) {
  g_var.set(v);
  co_return;
}

Coro<int> create_and_read() { co_return co_await stealio::create_task(read_var()); }

// Tasks created on both workers, each creating another, under a value set in their root: every
// generation reads the value its creator saw, before and after the root sets another. (Each
// worker hands out references to the root's mapping from its own proxy: context.cc. Under
// ThreadSanitizer this checks that path for races.)
Coro<std::vector<int>> generations_read_the_roots_value() {
  std::vector<int> sums;
  for (int v : {7, 8}) {
    g_var.set(v);
    std::vector<Task<int>> ts;
    for (int i = 0; i < 200; ++i) ts.push_back(stealio::create_task(create_and_read()));
    int sum = 0;
    for (Task<int>& t : ts) sum += co_await t;
    sums.push_back(sum);
  }
  co_return sums;
}

TEST(Task, EveryGenerationOnEveryWorkerReadsTheValueItsRootSet) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  EXPECT_EQ(sched.run(generations_read_the_roots_value()), (std::vector<int>{7 * 200, 8 * 200}));
}

TEST(Task, AnExplicitContextIsShared) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  stealio::Context shared;
  Task<void> w = sched.spawn(write_var(9), TaskOptions().with_context(shared));
  w.wait();
  Task<int> r = sched.spawn(read_var(), TaskOptions().with_context(shared));
  r.wait();
  EXPECT_EQ(r.result(), 9);
  Task<int> other = sched.spawn(read_var());
  other.wait();
  EXPECT_EQ(other.result(), -1);
}

Coro<std::vector<int>> record_loops(Future<void> gate, int expect) {
  std::vector<int> loops;
  loops.push_back(stealio::get_running_loop().index());
  co_await gate;
  for (int i = 0; i < 3; ++i) {
    loops.push_back(stealio::get_running_loop().index());
    if (g_var.get() != expect) throw std::runtime_error("context value lost");
    co_await stealio::yield();
  }
  co_return loops;
}

TEST(Task, MigratesWithItsContextIntact) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  stealio::Context ctx;
  ctx.run([] { g_var.set(42); });
  Future<void> gate(sched.loop(0));
  // The first step runs eagerly on worker 0, up to the gate.
  Task<std::vector<int>> t = run_on(sched.loop(0), [&] {
    return stealio::create_task(record_loops(gate, 42),
                                TaskOptions().with_context(ctx).with_eager_start(true));
  });
  // Hold worker 0; open the gate from this thread: the next steps can only run on worker 1.
  std::latch held(1), release(1);
  sched.loop(0).call_soon_threadsafe([&] {
    held.count_down();
    release.wait();
  });
  held.wait();
  gate.set_result();
  t.wait();
  release.count_down();
  EXPECT_EQ(t.result(), (std::vector<int>{0, 1, 1, 1}));
  EXPECT_GE(sched.loop(1).stats().migrations_in, 1u);
  EXPECT_GE(sched.loop(0).stats().migrations_out, 1u);
}

Coro<int> get_loop_index() { co_return stealio::get_running_loop().index(); }

TEST(Task, GetLoopIsTheLoopOfTheLatestStep) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  Task<int> t = sched.loop(0).create_task(get_loop_index());
  t.wait();
  EXPECT_EQ(&t.get_loop(), &sched.loop(0));
  EXPECT_EQ(t.ref()->get_loop(), &sched.loop(0));
}

Coro<int> wait_forever(Future<int> f) { co_return co_await f; }

TEST(Task, PendingTaskDestroyedAtShutdownIsReported) {
  std::vector<std::string> messages;
  std::mutex mu;
  {
    Scheduler sched(SchedulerOptions{.workers = 1});
    sched.set_exception_handler([&](const stealio::ExceptionContext& c) {
      std::lock_guard<std::mutex> l(mu);
      messages.push_back(c.message);
    });
    Future<int> never(sched.loop(0));
    Task<int> t = sched.spawn(wait_forever(never));
    // Queued or suspended on the future, it is pending either way when shutdown abandons it.
    sched.shutdown();
    EXPECT_FALSE(t.done());
  }
  EXPECT_EQ(messages, std::vector<std::string>{"Task was destroyed but it is pending!"});
}

TEST(Task, CreateTaskOnAClosedLoopRaisesAndDestroysTheCoroutine) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  sched.shutdown();
  try {
    sched.spawn(value(1));
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "Event loop is closed");
  }
}

struct Oops : std::runtime_error {
  using std::runtime_error::runtime_error;
};
Coro<int> thrower() {
  throw Oops("oops");
  co_return 0;
}
Coro<int> middle() { co_return co_await stealio::create_task(thrower()); }
Coro<int> top() { co_return co_await middle(); }

TEST(Task, ExceptionsCrossTasksAndAwaits) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  EXPECT_THROW(sched.run(top()), Oops);
}

TEST(Task, UnretrievedTaskExceptionIsReported) {
  std::vector<std::string> messages;
  std::mutex mu;
  Scheduler sched(SchedulerOptions{.workers = 1});
  sched.set_exception_handler([&](const stealio::ExceptionContext& c) {
    std::lock_guard<std::mutex> l(mu);
    messages.push_back(c.message);
  });
  {
    Task<int> t = sched.spawn(thrower());
    t.wait();
  }
  // The worker may still hold its reference for an instant: shutdown settles it.
  sched.shutdown();
  EXPECT_EQ(messages, std::vector<std::string>{"Task exception was never retrieved"});
}

}  // namespace

namespace {
// Regression: co_await on a create_task call with explicit options in the same full-expression
// (g++ 12 temporaries across a suspension).
stealio::Coro<int> awaits_with_options() {
  co_return co_await stealio::create_task(value(5),
                                          stealio::TaskOptions().with_name("inline-opts"));
}
TEST(Task, AwaitCreateTaskWithOptionsInOneExpression) {
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = 2});
  EXPECT_EQ(sched.run(awaits_with_options()), 5);
}
}  // namespace

namespace {
// Returns an id, not a TaskRef: a task whose result holds a reference to itself is a cycle.
stealio::Coro<std::uint64_t> whoami() { co_return stealio::current_task()->id(); }

stealio::Coro<bool> parent_awaits_child() {
  stealio::TaskRef me = stealio::current_task();
  stealio::Task<std::uint64_t> child = stealio::create_task(whoami());
  std::uint64_t seen = co_await child;
  // The child ran as itself, and this task is current again.
  co_return seen == child.id() && stealio::current_task() == me;
}

TEST(Task, AwaitingAnUnstartedChildRunsItsStepInline) {
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = 1});
  std::uint64_t before = sched.loop(0).stats().steps;
  EXPECT_TRUE(sched.run(parent_awaits_child()));
  // Two steps: the parent's and the child's, run inside it. Suspending and resuming the parent
  // would take a third.
  EXPECT_EQ(sched.loop(0).stats().steps - before, 2u);
}

stealio::Coro<int> chain(int n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await stealio::create_task(chain(n - 1));
}

TEST(Task, ALongChainOfTasksAwaitingChildrenDoesNotOverflowTheStack) {
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = 2});
  EXPECT_EQ(sched.run(chain(100'000)), 100'000);
}
}  // namespace

namespace {
// Counts the live copies of a coroutine's parameter.
struct Probe {
  explicit Probe(std::atomic<int>* live) : live(live) { live->fetch_add(1); }
  Probe(Probe&& o) noexcept : live(o.live) { live->fetch_add(1); }
  Probe(const Probe&) = delete;
  ~Probe() { live->fetch_sub(1); }
  std::atomic<int>* live;
};
stealio::Coro<int> holds(Probe p) {
  (void)p;
  co_return 7;
}
stealio::Coro<void> throws_holding(Probe p) {
  (void)p;
  throw Oops("with a parameter");
  co_return;
}

// A task's coroutine frees its frame within its last step: its parameters are gone by the time
// a thread outside sees the task done (the outcome is published after the frame is freed).
TEST(Task, ACoroutinesParametersAreDestroyedBeforeItsTaskIsDone) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  for (int i = 0; i < 200; ++i) {
    std::atomic<int> live{0};
    Task<int> t = sched.spawn(holds(Probe(&live)));
    t.wait();
    EXPECT_EQ(live.load(), 0) << i;
    EXPECT_EQ(t.result(), 7);
    Task<void> e = sched.spawn(throws_holding(Probe(&live)));
    e.wait();
    EXPECT_EQ(live.load(), 0) << i;
    EXPECT_THROW(e.result(), Oops);
  }
}

// Moves out of its source only so many times, then throws.
struct Fragile {
  explicit Fragile(int moves_left) : moves_left(moves_left) {}
  Fragile(Fragile&& o) : moves_left(o.moves_left - 1) {
    if (moves_left < 0) throw Oops("moved once too often");
  }
  int moves_left;
};
stealio::Coro<Fragile> fragile() { co_return Fragile(1); }  // one move into the promise

// The value moves from the coroutine's promise into the task at the coroutine's end; when that
// move throws, the task fails with the exception instead of never ending.
TEST(Task, AValueWhoseMoveIntoTheTaskThrowsFailsTheTask) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  Task<Fragile> t = sched.spawn(fragile());
  t.wait();
  try {
    t.result();
    FAIL() << "the task should have failed";
  } catch (const Oops& e) {
    EXPECT_STREQ(e.what(), "moved once too often");
  }
}

// Bytes per task (issue 5): the state of a task with an 8-byte result fits in a 256-byte block.
// A trivially destructible result keeps no flag beside it (ValueSlot); std::optional's made
// TaskState<std::uint64_t> 264 bytes, a 272-byte block.
TEST(Task, TheStateOfATaskWithAnEightByteResultFitsIn256Bytes) {
  EXPECT_EQ(sizeof(stealio::internal::ValueSlot<std::uint64_t>), sizeof(std::uint64_t));
  EXPECT_LE(sizeof(stealio::internal::TaskState<std::uint64_t>), 256u);
  EXPECT_LE(sizeof(stealio::internal::TaskState<void*>), 256u);
}

struct Span {
  std::uint64_t begin;
  std::uint64_t end;
};
Coro<Span> span(std::uint64_t b) { co_return Span{b, b + 10}; }
Coro<std::string> text(std::uint64_t b) { co_return std::string(40, 'a') + std::to_string(b); }
Coro<std::uint64_t> sum_of(int n) {
  std::vector<Task<Span>> spans;
  std::vector<Task<std::string>> texts;
  for (int i = 0; i < n; ++i) {
    spans.push_back(stealio::create_task(span(static_cast<std::uint64_t>(i))));
    texts.push_back(stealio::create_task(text(static_cast<std::uint64_t>(i))));
  }
  std::uint64_t total = 0;
  for (int i = 0; i < n; ++i) {
    const Span s = co_await spans[static_cast<std::size_t>(i)];
    const std::string t = co_await texts[static_cast<std::size_t>(i)];
    total += s.end - s.begin + (t == std::string(40, 'a') + std::to_string(i) ? 1 : 1000);
  }
  co_return total;
}

// Trivially copyable but move-only: the trivial slot hands it on by move.
struct Ticket {
  explicit Ticket(int n) : number(n) {}
  Ticket(Ticket&&) = default;
  Ticket& operator=(Ticket&&) = default;
  Ticket(const Ticket&) = delete;
  int number;
};
static_assert(std::is_trivially_copyable_v<Ticket> && !std::is_copy_constructible_v<Ticket>);
Coro<Ticket> ticket(int n) { co_return Ticket(n); }
Coro<int> redeem() {
  Task<Ticket> t = stealio::create_task(ticket(41));
  Ticket got = co_await t;
  co_return got.number + 1;
}

TEST(Task, AMoveOnlyTrivialResultIsMovedOut) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  EXPECT_EQ(sched.run(redeem()), 42);
}

// Trivial results (no flag: read only once set) and non-trivial ones come back whole, through
// tasks joined inline and tasks stolen by the other worker alike.
TEST(Task, TrivialAndNonTrivialResultsComeBackWhole) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  EXPECT_EQ(sched.run(sum_of(500)), 500u * 11u);
}
}  // namespace
