// Task cancellation with asyncio 3.13's semantics (cancel/cancelling/uncancel), and the race of a
// cancel against the completion of the awaited future on another worker.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>
#include <memory>
#include <thread>

#include "stealio/stealio.h"
#include "test_support.h"

namespace {

using stealio::CancelledError;
using stealio::Coro;
using stealio::Future;
using stealio::Scheduler;
using stealio::SchedulerOptions;
using stealio::Task;
using stealio_test::run_on;

std::string cancel_message(Task<int>& t) {
  try {
    t.result();
  } catch (const CancelledError& e) {
    return e.what();
  }
  return "<not cancelled>";
}

Coro<int> mark_ran(std::atomic<bool>* ran) {
  *ran = true;
  co_return 1;
}

TEST(Cancel, BeforeTheTaskStartsItNeverRuns) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  std::atomic<bool> ran{false};
  Task<int> t = run_on(sched.loop(0), [&] {
    Task<int> t = stealio::create_task(mark_ran(&ran));
    EXPECT_TRUE(t.cancel("early"));
    return t;
  });
  t.wait();
  EXPECT_TRUE(t.cancelled());
  EXPECT_FALSE(ran.load());
  EXPECT_EQ(cancel_message(t), "early");
}

TEST(Cancel, CancellingCountsAndASecondCancelStillReturnsTrue) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  Future<int> never(sched.loop(0));
  run_on(sched.loop(0), [&] {
    Task<int> t = stealio::create_task([](Future<int> f) -> Coro<int> { co_return co_await f; }(never));
    EXPECT_EQ(t.cancelling(), 0);
    EXPECT_TRUE(t.cancel());
    EXPECT_EQ(t.cancelling(), 1);
    EXPECT_TRUE(t.cancel());
    EXPECT_EQ(t.cancelling(), 2);
    EXPECT_EQ(t.uncancel(), 1);
    EXPECT_EQ(t.uncancel(), 0);
    EXPECT_EQ(t.uncancel(), 0);
    t.cancel();
  });
}

TEST(Cancel, UncancelResetsACancellationNotYetDelivered) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  std::atomic<bool> ran{false};
  Task<int> t = run_on(sched.loop(0), [&] {
    Task<int> t = stealio::create_task(mark_ran(&ran));
    t.cancel();
    EXPECT_EQ(t.uncancel(), 0);
    return t;
  });
  t.wait();
  EXPECT_FALSE(t.cancelled());
  EXPECT_TRUE(ran.load());
  EXPECT_EQ(t.result(), 1);
}

Coro<int> await_and_report(Future<int> f, std::string* seen) {
  try {
    co_return co_await f;
  } catch (const CancelledError& e) {
    *seen = e.what();
    throw;
  }
}

TEST(Cancel, WhileAwaitingCancelsTheFutureAndDeliversTheMessage) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  Future<int> f(sched.loop(0));
  std::string seen;
  Task<int> t = run_on(sched.loop(0), [&] {
    return stealio::create_task(await_and_report(f, &seen), stealio::TaskOptions().with_eager_start());
  });
  EXPECT_FALSE(t.done());  // suspended on f
  EXPECT_TRUE(t.cancel("stop now"));
  t.wait();
  EXPECT_TRUE(f.cancelled());
  EXPECT_TRUE(t.cancelled());
  EXPECT_EQ(seen, "stop now");
  EXPECT_EQ(cancel_message(t), "stop now");
  EXPECT_FALSE(t.cancel());  // done: false
}

Coro<int> cancel_self_then_return(Future<Task<int>> me) {
  Task<int> self = co_await me;
  self.cancel("at the end");
  co_return 5;  // no await after the cancel: it lands as the coroutine returns
}

TEST(Cancel, AtTheEndTheTaskEndsCancelled) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  Future<Task<int>> me(sched.loop(0));
  Task<int> t = sched.spawn(cancel_self_then_return(me));
  me.set_result(t);
  t.wait();
  EXPECT_TRUE(t.cancelled());
  EXPECT_EQ(cancel_message(t), "at the end");
}

Coro<int> swallow_cancel(Future<int> f) {
  try {
    co_await f;
  } catch (const CancelledError&) {
    co_return -1;
  }
  co_return 0;
}

TEST(Cancel, ACoroutineThatCatchesCancelledErrorFinishesNormally) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  Future<int> f(sched.loop(0));
  Task<int> t = run_on(sched.loop(0), [&] {
    return stealio::create_task(swallow_cancel(f), stealio::TaskOptions().with_eager_start());
  });
  t.cancel();
  t.wait();
  EXPECT_FALSE(t.cancelled());
  EXPECT_EQ(t.result(), -1);
  EXPECT_EQ(t.cancelling(), 1);  // still counted: uncancel() is the coroutine's job
}

Coro<int> yield_forever(std::atomic<int>* turns) {
  for (;;) {
    ++*turns;
    co_await stealio::yield();
  }
}

TEST(Cancel, ARunningTaskIsCancelledAtItsNextAwait) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  std::atomic<int> turns{0};
  Task<int> t = sched.spawn(yield_forever(&turns));
  while (turns.load() < 10) std::this_thread::yield();  // it is running: wait for progress
  t.cancel("enough");
  t.wait();
  EXPECT_TRUE(t.cancelled());
  EXPECT_EQ(cancel_message(t), "enough");
}

Coro<int> awaits(Future<void> f) {
  co_await f;
  co_return 1;
}

// The interleaving the race below can hit but cannot force: the future completes and the task's
// wake-up is queued, then cancel() arrives before the task runs again. As in asyncio, the cancel
// still lands (it is thrown in at the resumption) and the future keeps its result.
TEST(Cancel, AfterTheFutureCompletedButBeforeTheTaskResumesItStillCancels) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  Future<void> f(sched.loop(0));
  Task<int> t = run_on(sched.loop(0), [&] {
    return stealio::create_task(awaits(f), stealio::TaskOptions().with_eager_start());
  });
  ASSERT_FALSE(t.done());
  bool cancel_returned = run_on(sched.loop(0), [&] {
    f.set_result();
    return t.cancel("late");  // same callback: the task's wake-up is queued, not yet run
  });
  t.wait();
  EXPECT_TRUE(cancel_returned);
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_TRUE(t.cancelled());
  EXPECT_EQ(cancel_message(t), "late");
}

// Spins until both sides arrive, so neither pays a futex wake-up the other does not.
void spin_arrive(std::atomic<int>& arrived) {
  arrived.fetch_add(1);
  while (arrived.load() < 2) {
  }
}

// Which side wins is up to the machine (on some, every round goes one way): the test asserts what
// must hold for every outcome, and the two orders are pinned one by one by the tests above.
TEST(Cancel, RacingCancelAgainstCompletionOnAnotherWorkerEndsExactlyOnce) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  int results = 0, cancels = 0;
  for (int round = 0; round < 500; ++round) {
    Future<void> f(sched.loop(round % 2));
    Task<int> t = run_on(sched.loop(round % 2), [&] {
      return stealio::create_task(awaits(f), stealio::TaskOptions().with_eager_start());
    });
    ASSERT_FALSE(t.done());
    auto done_calls = std::make_shared<std::atomic<int>>(0);
    auto called = std::make_shared<std::promise<void>>();
    t.add_done_callback([done_calls, called] {
      if (done_calls->fetch_add(1) == 0) called->set_value();
    });
    auto arrived = std::make_shared<std::atomic<int>>(0);
    auto completer_done = std::make_shared<std::promise<bool>>();
    // The completion runs on the other worker, the cancel on this thread, at the same moment.
    sched.loop((round + 1) % 2).call_soon_threadsafe([f, arrived, completer_done]() mutable {
      spin_arrive(*arrived);
      completer_done->set_value(f.core()->try_finish([] {}));
    });
    spin_arrive(*arrived);
    bool cancel_returned = t.cancel("race");
    bool completed_f = completer_done->get_future().get();
    t.wait();
    called->get_future().wait();
    if (t.cancelled()) {
      ++cancels;
      EXPECT_TRUE(cancel_returned);  // only a cancel that found it pending can cancel it
    } else {
      ++results;
      EXPECT_EQ(t.result(), 1);
      EXPECT_TRUE(completed_f);  // only a completed future lets the task finish normally
      EXPECT_FALSE(cancel_returned);  // a cancel that found it pending would have landed
    }
    EXPECT_NE(completed_f, f.cancelled());  // exactly one of the two ended the future
    EXPECT_EQ(done_calls->load(), 1);
  }
  sched.shutdown();
  EXPECT_EQ(results + cancels, 500);
  RecordProperty("cancelled", cancels);
  RecordProperty("finished", results);
}

// A short busy delay of `n` steps, to vary where the two sides meet.
void busy(int n) {
  for (int i = 0; i < n; ++i) asm volatile("" ::: "memory");
}

Coro<int> arrive_then_await(std::shared_ptr<std::atomic<int>> arrived, int spins,
                            Future<void> never) {
  spin_arrive(*arrived);
  busy(spins);
  co_await never;  // only a cancellation ends this
  co_return 1;
}

// cancel() from another thread while the task's step runs up to its suspension: whichever side
// is first, the request must reach the future the task suspends on. (It used to be parked in
// must_cancel_ when cancel() looked for the awaited future just before the task published it,
// and the task then slept until that future completed on its own: here, never.)
TEST(Cancel, RacingTheSuspensionStillCancelsTheNewlyAwaitedFuture) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  for (int round = 0; round < 1000; ++round) {
    Future<void> never(sched.loop(0));
    auto arrived = std::make_shared<std::atomic<int>>(0);
    Task<int> t = sched.spawn(arrive_then_await(arrived, round % 64, never));
    auto ended = std::make_shared<std::promise<void>>();
    std::future<void> ended_f = ended->get_future();
    t.add_done_callback([ended] { ended->set_value(); });
    spin_arrive(*arrived);
    busy((round * 7) % 64);
    ASSERT_TRUE(t.cancel("race"));  // pending, and it never finishes on its own
    stealio_test::get_within(ended_f);  // aborts if the request was lost
    ASSERT_TRUE(t.cancelled());
    EXPECT_EQ(cancel_message(t), "race");
    EXPECT_TRUE(never.cancelled());
  }
}

// A future whose cancel() stops twice, before and after it takes effect, until the test lets it
// go: it holds a Task.cancel() that reached it between that call's two critical sections (the
// "in flight" window of TaskCore::cancel).
class StallingFuture final : public stealio::internal::FutureCore {
 public:
  explicit StallingFuture(stealio::Loop& loop) : FutureCore(loop, false) {}
  void retain() const noexcept override { refs_.fetch_add(1); }
  void release() const noexcept override {
    if (refs_.fetch_sub(1) == 1) delete this;
  }
  bool cancel(std::string msg) override {
    reached.count_down();
    before.wait();
    bool took = FutureCore::cancel(std::move(msg));
    after.wait();
    return took;
  }
  stealio::internal::ValueSlot<void> value;
  std::latch reached{1}, before{1}, after{1};

 private:
  mutable std::atomic<int> refs_{1};
};

struct StallingRef {
  StallingFuture* f;
  ~StallingRef() { f->release(); }
};

// Awaits `f`; what it saw of cancelling() when it resumed, and whether it caught CancelledError.
// With `withdraw` it uncancels what it saw (so the request is withdrawn, asyncio's uncancel()).
// With `cancel_self` it cancels itself first, in the step that suspends on `f`.
Coro<int> await_stalling(StallingFuture* f, std::atomic<int>* seen, bool withdraw,
                         bool cancel_self = false) {
  StallingRef keep{f};
  f->retain();
  if (cancel_self) stealio::internal::running_task()->cancel("");
  int caught = 0;
  try {
    co_await stealio::internal::FutureAwaiter<void>{f, &f->value};
  } catch (const CancelledError&) {
    caught = 1;
  }
  stealio::internal::TaskCore& me = *stealio::internal::running_task();
  seen->store(me.cancelling());
  if (withdraw) me.uncancel();
  co_return caught;
}

bool registered(Scheduler& sched, const Task<int>& t) {
  for (const stealio::TaskRef& r : sched.all_tasks()) {
    if (r.get() == t.ref().get()) return true;
  }
  return false;
}

// The task's last step ends while a cancel() is in flight: its completion waits for it.
void wait_until_its_last_step_ended(Scheduler& sched, const Task<int>& t) {
  while (registered(sched, t)) std::this_thread::yield();
}

// A task awaits a StallingFuture; cancel() comes from another thread and stalls in the future's
// cancel(), before it takes effect. With `completes`, the future then completes on its own (so
// its cancel() fails); without, it is cancelled (and the task woken with CancelledError). Either
// way the task's last step ends before cancel() returns.
struct InFlightRun {
  Scheduler sched{SchedulerOptions{.workers = 2}};
  StallingFuture* f = new StallingFuture(sched.loop(0));
  StallingRef hold{f};
  std::atomic<int> seen{-1};  // the task's cancelling() when it resumed
  Task<int> t;
  bool cancel_returned = false;

  InFlightRun(bool completes, bool withdraw) {
    // Eager start: suspended on f (fut_waiter_ set) before create_task returns.
    t = run_on(sched.loop(0), [&] {
      return stealio::create_task(await_stalling(f, &seen, withdraw),
                                  stealio::TaskOptions().with_eager_start());
    });
    std::future<bool> cancelled = std::async(std::launch::async, [this] { return t.cancel(); });
    f->reached.wait();  // cancel() counted itself and is in flight
    if (completes) {
      EXPECT_TRUE(f->try_finish([] {}));
    }
    f->before.count_down();
    wait_until_its_last_step_ended(sched, t);
    f->after.count_down();
    cancel_returned = stealio_test::get_within(cancelled);
    t.wait();
  }
};

// The awaited future completes on its own, and the task finishes, while a cancel() is between
// its two critical sections. The task saw the request (cancelling() == 1): the request must not
// then be withdrawn behind its back (cancel() used to return false and the task to finish
// normally); cancel() returns true and the task ends cancelled, as a request made during the
// last step does.
TEST(Cancel, ARequestTheTaskSawIsNotWithdrawnWhenItsLastStepEndsFirst) {
  InFlightRun run(/*completes=*/true, /*withdraw=*/false);
  EXPECT_TRUE(run.cancel_returned);
  EXPECT_EQ(run.seen.load(), 1);
  EXPECT_TRUE(run.t.cancelled());
  EXPECT_FALSE(run.f->cancelled());
}

// The same, but the task withdrew the request (uncancel() to 0) before it ended: it finishes
// normally, and cancel() still returns true (it took effect; the task withdrew it).
TEST(Cancel, ARequestWithdrawnByUncancelWhileInFlightLetsTheTaskFinish) {
  InFlightRun run(/*completes=*/true, /*withdraw=*/true);
  EXPECT_TRUE(run.cancel_returned);
  EXPECT_EQ(run.seen.load(), 1);
  EXPECT_FALSE(run.t.cancelled());
  EXPECT_EQ(run.t.result(), 0);
  EXPECT_EQ(run.t.cancelling(), 0);
}

// The awaited future took the cancel (CancelledError reached the task, which caught it) and the
// task finished before cancel() returned: the request was delivered, so the task keeps its own
// outcome.
TEST(Cancel, ADeliveredRequestDoesNotCancelTheTaskAgainWhenItEndsFirst) {
  InFlightRun run(/*completes=*/false, /*withdraw=*/false);
  EXPECT_TRUE(run.cancel_returned);
  EXPECT_EQ(run.seen.load(), 1);
  EXPECT_TRUE(run.f->cancelled());
  EXPECT_FALSE(run.t.cancelled());
  EXPECT_EQ(run.t.result(), 1);  // it caught the CancelledError
  EXPECT_EQ(run.t.cancelling(), 1);
}

// A task cancels itself and suspends on a future in the same step: the end of that step hands
// the request to the future (asyncio's __step cancels the new _fut_waiter), outside the task's
// lock. The future completes on its own meanwhile, and the task's next step runs and ends on
// the other worker before that hand-over learns it failed: the request (which the task saw in
// cancelling()) must still end the task cancelled, not be put back on a task that already
// finished.
TEST(Cancel, ARequestHandedToTheAwaitedFutureAtTheEndOfAStepIsNotLostWhenTheTaskEndsFirst) {
  Scheduler sched{SchedulerOptions{.workers = 2}};
  StallingFuture* f = new StallingFuture(sched.loop(0));
  StallingRef hold{f};
  std::atomic<int> seen{-1};
  // Eager start on loop 0: its worker runs the first step and stalls in f->cancel().
  std::future<Task<int>> made = std::async(std::launch::async, [&] {
    return run_on(sched.loop(0), [&] {
      return stealio::create_task(await_stalling(f, &seen, false, /*cancel_self=*/true),
                                  stealio::TaskOptions().with_eager_start());
    });
  });
  f->reached.wait();
  EXPECT_TRUE(f->try_finish([] {}));  // wakes the task: the other worker runs its last step
  f->before.count_down();
  while (!sched.all_tasks().empty()) std::this_thread::yield();  // its last step ended
  f->after.count_down();
  Task<int> t = stealio_test::get_within(made);
  t.wait();
  EXPECT_EQ(seen.load(), 1);
  EXPECT_FALSE(f->cancelled());
  EXPECT_TRUE(t.cancelled());
}

}  // namespace
