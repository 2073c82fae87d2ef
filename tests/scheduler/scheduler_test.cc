// Scheduler: workers, post(), shutdown, the exception handler, fairness of the turn order,
// pinned tasks, and idle workers parking.
#include "stealio/scheduler.h"

#include <gtest/gtest.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "scheduler/internal/idle.h"
#include "scheduler/internal/parker.h"
#include "scheduler/internal/scheduler_core.h"
#include "scheduler/internal/task_queue.h"
#include "stealio/errors.h"
#include "stealio/lifetime.h"
#include "stealio/loop.h"
#include "test_support.h"

namespace {

using namespace std::chrono_literals;
using stealio::ExceptionContext;
using stealio::Loop;
using stealio::RuntimeError;
using stealio::Scheduler;
using stealio::SchedulerOptions;
using stealio::TaskBase;
using stealio::TaskRef;
using stealio_test::eventually;
using stealio_test::get_within;
using stealio_test::kWaitLimit;
using stealio_test::run_on;




std::atomic<int> g_live_tasks{0};

// A third-party task: each step enters the running loop, calls `body`, and leaves. The body
// decides what comes next (reschedule, finish). Counts its live instances.
class StepTask final : public TaskBase {
 public:
  using Body = std::function<void(StepTask&)>;
  StepTask(Loop& loop, Body body, bool pinned = false)
      : TaskBase(loop, pinned), body_(std::move(body)) {
    g_live_tasks.fetch_add(1);
  }
  ~StepTask() override { g_live_tasks.fetch_sub(1); }
  void step() override {
    Loop& here = stealio::get_running_loop();
    stealio::enter_task(here, *this);
    try {
      body_(*this);
    } catch (...) {
      stealio::leave_task(here, *this);
      throw;
    }
    stealio::leave_task(here, *this);
  }
  void finish() {
    mark_done();
    stealio::unregister_task(*this);
  }
  int abandoned() const { return abandoned_.load(); }
  TaskRef ref() { return TaskRef(this); }

 protected:
  void abandon() noexcept override { abandoned_.fetch_add(1); }

 private:
  Body body_;
  std::atomic<int> abandoned_{0};
};

TaskRef make_step_task(Loop& loop, StepTask::Body body, bool pinned = false) {
  return stealio::make_task<StepTask>(loop, std::move(body), pinned);
}

bool all_parked(Scheduler& s) { return s.core().idle().sleeping() == s.workers(); }

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// --- workers and post -------------------------------------------------------------------------

TEST(Scheduler, WorkersCountAndDefault) {
  Scheduler three(SchedulerOptions{.workers = 3});
  EXPECT_EQ(three.workers(), 3);
  EXPECT_EQ(three.options().workers, 3);
  EXPECT_FALSE(three.options().eager_start);
  std::set<std::thread::id> ids;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(three.loop(i).index(), i);
    ids.insert(run_on(three.loop(i), [] { return std::this_thread::get_id(); }));
  }
  EXPECT_EQ(ids.size(), 3u) << "each loop runs on its own thread";
  EXPECT_FALSE(ids.count(std::this_thread::get_id()));
  EXPECT_THROW(three.loop(3), RuntimeError);
  EXPECT_THROW(three.loop(-1), RuntimeError);

  Scheduler dflt;
  unsigned hw = std::thread::hardware_concurrency();
  EXPECT_EQ(dflt.workers(), hw > 0 ? static_cast<int>(hw) : 1);
  EXPECT_EQ(dflt.options().workers, dflt.workers());
}

TEST(Scheduler, PostFromOutsideRunsEachOnceOnAWorker) {
  Scheduler sched(SchedulerOptions{.workers = 3});
  constexpr int kN = 1000;
  std::vector<std::atomic<int>> runs(kN);
  std::atomic<int> off_worker{0};
  std::atomic<int> count{0};
  std::promise<void> done;
  auto done_f = done.get_future();
  for (int i = 0; i < kN; ++i) {
    sched.post([&, i] {
      runs[static_cast<std::size_t>(i)]++;
      Loop* l = stealio::get_running_loop_or_null();
      if (!l || &l->scheduler() != &sched) off_worker++;
      if (count.fetch_add(1) + 1 == kN) done.set_value();
    });
  }
  get_within(done_f);
  EXPECT_EQ(off_worker.load(), 0);
  for (int i = 0; i < kN; ++i) EXPECT_EQ(runs[static_cast<std::size_t>(i)].load(), 1) << i;
}

TEST(Scheduler, PostFromAWorkerRunsAndIsNotATask) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  constexpr int kN = 100;
  std::atomic<int> count{0};
  std::atomic<int> had_task{0};
  std::promise<void> done;
  auto done_f = done.get_future();
  run_on(sched.loop(0), [&] {
    for (int i = 0; i < kN; ++i) {
      sched.post([&] {
        if (stealio::current_task()) had_task++;
        if (count.fetch_add(1) + 1 == kN) done.set_value();
      });
    }
  });
  get_within(done_f);
  EXPECT_EQ(had_task.load(), 0);
  EXPECT_TRUE(sched.all_tasks().empty()) << "posted functions are not registered tasks";
}

// --- shutdown -----------------------------------------------------------------------------------

TEST(Scheduler, ShutdownIsIdempotent) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  EXPECT_FALSE(sched.is_closed());
  sched.shutdown();
  EXPECT_TRUE(sched.is_closed());
  sched.shutdown();
  EXPECT_TRUE(sched.is_closed());
}

TEST(Scheduler, ConcurrentShutdownCallsAllReturnAfterTheWorkIsDone) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  TaskRef t = make_step_task(sched.loop(0), [](StepTask&) {});
  stealio::register_task(*t);
  auto& task = static_cast<StepTask&>(*t);
  constexpr int kThreads = 4;
  std::latch start(kThreads);
  std::vector<int> seen(kThreads, -1);
  std::vector<std::thread> threads;
  for (int k = 0; k < kThreads; ++k) {
    threads.emplace_back([&, k] {
      start.arrive_and_wait();
      sched.shutdown();
      // Whichever call did the work, every caller returns only after it finished.
      seen[static_cast<std::size_t>(k)] = task.abandoned();
    });
  }
  for (std::thread& th : threads) th.join();
  for (int k = 0; k < kThreads; ++k) EXPECT_EQ(seen[static_cast<std::size_t>(k)], 1) << k;
  EXPECT_TRUE(sched.is_closed());
  EXPECT_TRUE(sched.all_tasks().empty());
}

// The message of the RuntimeError `fn` raises on `loop`'s worker ("" when none). Caught there:
// an exception_ptr handed across threads is reference-counted inside libstdc++, which TSan does
// not see, so it would report the exception's destruction as a race.
template <class F>
std::string error_on(Loop& loop, F fn) {
  return run_on(loop, [&]() -> std::string {
    try {
      fn();
    } catch (const RuntimeError& e) {
      return e.what();
    }
    return "";
  });
}

TEST(Scheduler, ShutdownFromAWorkerRaises) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  EXPECT_EQ(error_on(sched.loop(1), [&] { sched.shutdown(); }),
            "Cannot close a running event loop");
  // From inside a task step too.
  std::promise<std::string> from_step;
  auto from_step_f = from_step.get_future();
  stealio::schedule_step(make_step_task(sched.loop(0), [&](StepTask&) {
    try {
      sched.shutdown();
      from_step.set_value("no exception");
    } catch (const RuntimeError& e) {
      from_step.set_value(e.what());
    }
  }));
  EXPECT_EQ(get_within(from_step_f), "Cannot close a running event loop");
  // Still running.
  EXPECT_FALSE(sched.is_closed());
  EXPECT_EQ(run_on(sched.loop(0), [] { return 7; }), 7);
}

TEST(Scheduler, ShutdownAbandonsRegisteredTasksAndDropsQueuedWork) {
  const int live_before = g_live_tasks.load();
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  TaskRef registered;
  // Outlive the scheduler: the forever task below uses them until the workers are joined.
  std::promise<void> started;
  auto started_f = started.get_future();
  std::atomic<bool> once{false};
  {
    Scheduler sched(SchedulerOptions{.workers = 2});
    registered = make_step_task(sched.loop(1), [](StepTask&) {});
    stealio::register_task(*registered);
    // A timer far in the future holding the token: dropped at shutdown, not run.
    sched.loop(0).call_later(absl::Hours(1), [token] {});
    token = nullptr;
    ASSERT_FALSE(watch.expired());
    // A task that reschedules itself forever: shutdown stops it and drops its queued step.
    stealio::schedule_step(make_step_task(sched.loop(0), [&](StepTask& self) {
      if (!once.exchange(true)) started.set_value();
      stealio::schedule_step(self.ref());
    }));
    get_within(started_f);
    // ~Scheduler shuts down.
  }
  EXPECT_TRUE(watch.expired()) << "the timer callback was not destroyed";
  EXPECT_EQ(static_cast<StepTask&>(*registered).abandoned(), 1);
  EXPECT_EQ(g_live_tasks.load(), live_before + 1) << "only `registered` is still alive";
  registered = nullptr;
  EXPECT_EQ(g_live_tasks.load(), live_before);
}

TEST(Scheduler, ScheduleStepOnAClosedSchedulerDropsTheStep) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  sched.shutdown();
  int before = g_live_tasks.load();
  TaskRef t = make_step_task(sched.loop(0), [](StepTask&) { FAIL() << "step ran"; });
  EXPECT_EQ(g_live_tasks.load(), before + 1);
  stealio::schedule_step(std::move(t));  // the only reference: released with the dropped step
  EXPECT_EQ(g_live_tasks.load(), before);
  TaskRef y = make_step_task(sched.loop(0), [](StepTask&) { FAIL() << "step ran"; });
  stealio::schedule_step_yield(std::move(y));
  EXPECT_EQ(g_live_tasks.load(), before);
}

// Regression: a thread that passed schedule()'s closed() check just before shutdown() and pushed
// to the injection (or a pinned) queue after shutdown's last drain left the step there, and its
// reference leaked when the queue was destroyed. Pushing after shutdown, as such a thread does,
// must not leak.
TEST(Scheduler, WorkQueuedAfterShutdownIsReleasedByTheDestructor) {
  const int live_before = g_live_tasks.load();
  {
    Scheduler sched(SchedulerOptions{.workers = 2});
    sched.shutdown();
    sched.core().inject().push(make_step_task(sched.loop(0), [](StepTask&) {}).leak());
    sched.core().worker(1).push_pinned(
        make_step_task(sched.loop(1), [](StepTask&) {}, /*pinned=*/true).leak());
    EXPECT_EQ(g_live_tasks.load(), live_before + 2);
  }
  EXPECT_EQ(g_live_tasks.load(), live_before);
}

// --- exception handler --------------------------------------------------------------------------

TEST(Scheduler, DefaultExceptionHandlerWritesToStderr) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  Loop& loop = sched.loop(0);
  testing::internal::CaptureStderr();
  loop.call_soon_threadsafe([] { throw std::runtime_error("boom-in-callback"); });
  std::string task_repr;
  TaskRef bad = make_step_task(loop, [&](StepTask& self) {
    task_repr = self.repr();
    throw std::runtime_error("boom-in-step");
  });
  stealio::schedule_step(bad);
  // One worker, FIFO injection queue: this step runs after the throwing one was handled.
  std::promise<void> after;
  auto after_f = after.get_future();
  stealio::schedule_step(make_step_task(loop, [&](StepTask&) { after.set_value(); }));
  get_within(after_f);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("Exception in callback"), std::string::npos) << err;
  EXPECT_NE(err.find("boom-in-callback"), std::string::npos) << err;
  EXPECT_NE(err.find("Exception in task step"), std::string::npos) << err;
  EXPECT_NE(err.find("boom-in-step"), std::string::npos) << err;
  EXPECT_NE(err.find("task: " + task_repr), std::string::npos) << err;
}

TEST(Scheduler, SetExceptionHandlerReceivesCallbackAndStepExceptions) {
  // Declared before the scheduler, so the workers are joined before these copies of the
  // exceptions are dropped: a worker's own copy, released after the handler returns, is then
  // never the last (TSan cannot see libstdc++'s exception reference count).
  std::mutex mu;
  std::vector<ExceptionContext> got;
  std::promise<void> two;
  auto two_f = two.get_future();
  Scheduler sched(SchedulerOptions{.workers = 2});
  Loop& loop = sched.loop(1);
  sched.set_exception_handler([&](const ExceptionContext& c) {
    std::lock_guard<std::mutex> lock(mu);
    got.push_back(c);
    if (got.size() == 2) two.set_value();
  });
  loop.call_soon_threadsafe([] { throw std::runtime_error("cb"); });
  std::promise<std::pair<std::string, const Loop*>> step_info;
  auto step_info_f = step_info.get_future();
  stealio::schedule_step(make_step_task(loop, [&](StepTask& self) {
    step_info.set_value({self.repr(), &stealio::get_running_loop()});
    throw std::logic_error("step");
  }));
  get_within(two_f);
  auto [repr, step_loop] = get_within(step_info_f);
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(got.size(), 2u);
  // The two may be handled in either order (the step may run on either worker).
  const ExceptionContext* cb = got[0].message == "Exception in callback" ? &got[0] : &got[1];
  const ExceptionContext* st = cb == &got[0] ? &got[1] : &got[0];
  EXPECT_EQ(cb->message, "Exception in callback");
  EXPECT_EQ(cb->loop, &loop);
  EXPECT_TRUE(cb->task.empty());
  ASSERT_TRUE(cb->exception);
  try {
    std::rethrow_exception(cb->exception);
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "cb");
  }
  EXPECT_EQ(st->message, "Exception in task step");
  EXPECT_EQ(st->loop, step_loop);
  EXPECT_EQ(st->task, repr);
  ASSERT_TRUE(st->exception);
  try {
    std::rethrow_exception(st->exception);
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "step");
  }
}

TEST(Scheduler, AThrowingHandlerDoesNotStopTheLoopAndNullRestoresTheDefault) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  Loop& loop = sched.loop(0);
  std::atomic<int> calls{0};
  sched.set_exception_handler([&](const ExceptionContext&) {
    calls++;
    throw std::runtime_error("handler fails too");
  });
  testing::internal::CaptureStderr();
  loop.call_soon_threadsafe([] { throw std::runtime_error("first"); });
  EXPECT_EQ(run_on(loop, [] { return 1; }), 1);  // the loop goes on
  EXPECT_EQ(calls.load(), 1);
  sched.set_exception_handler(nullptr);
  loop.call_soon_threadsafe([] { throw std::runtime_error("second"); });
  run_on(loop, [] {});
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_NE(err.find("second"), std::string::npos) << err;  // the default handler again
  // call_exception_handler from any thread reaches the handler.
  std::atomic<int> direct{0};
  sched.set_exception_handler([&](const ExceptionContext& c) {
    if (c.message == "direct" && c.loop == &loop) direct++;
  });
  sched.call_exception_handler({"direct", nullptr, "", &loop});
  EXPECT_EQ(direct.load(), 1);
}

// --- fairness -------------------------------------------------------------------------------------

// On one worker, a task that reschedules itself forever must not starve: an older step in the
// worker's deque, the injection queue (schedule_step and post from outside), pinned steps, and
// callbacks.
void check_no_starvation(bool yield) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  Loop& loop = sched.loop(0);
  std::atomic<bool> stop{false};
  std::atomic<long> hog_steps{0};
  std::promise<void> hog_done;
  auto hog_done_f = hog_done.get_future();
  TaskRef hog = make_step_task(loop, [&](StepTask& self) {
    hog_steps++;
    if (stop.load()) {
      hog_done.set_value();
      return;
    }
    if (yield) {
      stealio::schedule_step_yield(self.ref());
    } else {
      stealio::schedule_step(self.ref());
    }
  });

  std::promise<long> older, injected, posted, pinned, callback;
  auto older_f = older.get_future();
  auto injected_f = injected.get_future();
  auto posted_f = posted.get_future();
  auto pinned_f = pinned.get_future();
  auto callback_f = callback.get_future();
  // From the worker: an older step, then the hog (the hog sits above it in a LIFO deque).
  run_on(loop, [&] {
    TaskRef first = make_step_task(loop, [&](StepTask&) { older.set_value(hog_steps.load()); });
    if (yield) {
      stealio::schedule_step_yield(first);
      stealio::schedule_step_yield(hog);
    } else {
      stealio::schedule_step(first);
      stealio::schedule_step(hog);
    }
  });
  // Wait until the hog is going before submitting from outside.
  ASSERT_TRUE(eventually([&] { return hog_steps.load() > 100; }));
  stealio::schedule_step(make_step_task(loop, [&](StepTask&) { injected.set_value(hog_steps.load()); }));
  sched.post([&] { posted.set_value(hog_steps.load()); });
  stealio::schedule_step(
      make_step_task(loop, [&](StepTask&) { pinned.set_value(hog_steps.load()); }, true));
  loop.call_soon_threadsafe([&] { callback.set_value(hog_steps.load()); });

  get_within(older_f);
  long at_injected = get_within(injected_f);
  get_within(posted_f);
  get_within(pinned_f);
  get_within(callback_f);
  EXPECT_GT(at_injected, 100) << "the hog was running when the injected step got its turn";
  EXPECT_FALSE(stop.load());
  stop.store(true);
  get_within(hog_done_f);
}

TEST(SchedulerFairness, SelfReschedulingTaskDoesNotStarveOthers) { check_no_starvation(false); }

TEST(SchedulerFairness, SelfYieldingTaskDoesNotStarveOthers) { check_no_starvation(true); }

// --- pinned tasks -----------------------------------------------------------------------------------

TEST(SchedulerPinned, PinnedStepsRunOnlyOnTheirLoop) {
  Scheduler sched(SchedulerOptions{.workers = 4});
  Loop& home = sched.loop(2);
  constexpr int kSteps = 300;
  std::atomic<int> elsewhere{0};
  std::atomic<int> steps{0};
  std::promise<void> done;
  auto done_f = done.get_future();
  TaskRef p = make_step_task(
      home,
      [&](StepTask& self) {
        if (&stealio::get_running_loop() != &home) elsewhere++;
        int n = ++steps;
        if (n == kSteps) {
          done.set_value();
          return;
        }
        // Reschedule in every way: from this worker (LIFO and yield) and from other workers.
        switch (n % 3) {
          case 0:
            stealio::schedule_step(self.ref());
            break;
          case 1:
            stealio::schedule_step_yield(self.ref());
            break;
          default:
            sched.loop(n % 4).call_soon_threadsafe([r = self.ref()] { stealio::schedule_step(r); });
        }
      },
      /*pinned=*/true);
  EXPECT_TRUE(p->pinned());
  // Stealable noise, so the other workers are awake and stealing meanwhile.
  std::atomic<bool> stop_noise{false};
  std::thread noise([&] {
    for (int round = 0; round < 400 && !stop_noise.load(); ++round) {
      for (int i = 0; i < 50; ++i) sched.post([] {});
      std::this_thread::yield();
    }
  });
  stealio::schedule_step(p);
  get_within(done_f);
  stop_noise.store(true);
  noise.join();
  EXPECT_EQ(elsewhere.load(), 0);
  EXPECT_EQ(p->get_loop(), &home);
  EXPECT_EQ(home.stats().migrations_out, 0u);
}

// The pinned step waits for its blocked worker while the other workers are awake and idle.
TEST(SchedulerPinned, PinnedStepWaitsForItsBusyWorker) {
  Scheduler sched(SchedulerOptions{.workers = 3});
  Loop& home = sched.loop(0);
  std::latch blocked(1);
  std::latch unblock(1);
  home.call_soon_threadsafe([&] {
    blocked.count_down();
    unblock.wait();
  });
  blocked.wait();
  std::promise<const Loop*> ran_on;
  auto ran_on_f = ran_on.get_future();
  stealio::schedule_step(make_step_task(
      home, [&](StepTask&) { ran_on.set_value(&stealio::get_running_loop()); }, true));
  // Stealable work submitted after the pinned step: the other workers wake, search and run it.
  constexpr int kN = 200;
  std::atomic<int> count{0};
  std::promise<void> noise_done;
  auto noise_done_f = noise_done.get_future();
  for (int i = 0; i < kN; ++i) {
    sched.post([&] {
      if (count.fetch_add(1) + 1 == kN) noise_done.set_value();
    });
  }
  get_within(noise_done_f);
  EXPECT_NE(ran_on_f.wait_for(0s), std::future_status::ready) << "the pinned step was stolen";
  unblock.count_down();
  EXPECT_EQ(get_within(ran_on_f), &home);
}

// --- parking ----------------------------------------------------------------------------------------

// Whitebox: the parker under the idle protocol. A token that arrives before park() is kept.
TEST(Parker, UnparkBeforeParkIsNotLost) {
  stealio::internal::Parker p;
  p.unpark();
  p.unpark();     // tokens do not accumulate
  p.park(std::nullopt);  // returns at once: the token was kept
  // The token was consumed: a deadline is now needed to come back.
  auto t0 = std::chrono::steady_clock::now();
  p.park(absl::Now() + absl::Milliseconds(20));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 15ms);
}

TEST(Parker, UnparkWakesAParkedThread) {
  stealio::internal::Parker p;
  std::atomic<int> phase{0};
  std::thread sleeper([&] {
    for (int i = 0; i < 200; ++i) {
      // Spurious returns are allowed, so wait for the matching phase.
      while (phase.load() == 2 * i) p.park(std::nullopt);
      phase.store(2 * i + 2);
    }
  });
  for (int i = 0; i < 200; ++i) {
    phase.store(2 * i + 1);
    p.unpark();
    while (phase.load() != 2 * i + 2) std::this_thread::yield();
  }
  sleeper.join();
  EXPECT_EQ(phase.load(), 400);
}

TEST(SchedulerIdle, IdleWorkersParkAndBurnNoCpu) {
  Scheduler sched(SchedulerOptions{.workers = 4});
  // Some work first, so every worker has been through the search and sleep path.
  constexpr int kN = 2000;
  std::atomic<int> count{0};
  std::promise<void> done;
  auto done_f = done.get_future();
  for (int i = 0; i < kN; ++i) {
    sched.post([&] {
      if (count.fetch_add(1) + 1 == kN) done.set_value();
    });
  }
  get_within(done_f);
  ASSERT_TRUE(eventually([&] { return all_parked(sched); })) << "workers did not all go to sleep";
  for (int i = 0; i < sched.workers(); ++i) EXPECT_GE(sched.loop(i).stats().parks, 1u) << i;

  std::uint64_t parks_before = 0;
  for (int i = 0; i < sched.workers(); ++i) parks_before += sched.loop(i).stats().parks;
  double cpu0 = process_cpu_seconds();
  // A measurement window, not synchronization: nothing is waited for, the process just stays
  // quiet while its CPU time is measured.
  std::this_thread::sleep_for(300ms);
  double cpu = process_cpu_seconds() - cpu0;
  std::uint64_t parks_after = 0;
  for (int i = 0; i < sched.workers(); ++i) parks_after += sched.loop(i).stats().parks;
  EXPECT_TRUE(all_parked(sched));
  // Four spinning workers would burn ~1.2 s; parked ones burn nothing (sanitizer runtimes have
  // a background thread or two, hence the slack).
  EXPECT_LT(cpu, 0.06) << "idle workers used " << cpu << " s of CPU in 0.3 s";
  EXPECT_LE(parks_after - parks_before, 4u) << "workers kept waking up";
}

// Idle workers that poll before parking are capped: a quarter of the workers, at least 2.
TEST(SchedulerIdle, AtMostAQuarterOfTheWorkersPollAtLeastTwo) {
  for (auto [workers, limit] : {std::pair{1, 2}, {2, 2}, {8, 2}, {12, 3}, {16, 4}}) {
    stealio::internal::Idle idle(std::vector<stealio::internal::Parker*>(
        static_cast<std::size_t>(workers), nullptr));
    for (int i = 0; i < limit; ++i) EXPECT_TRUE(idle.begin_poll()) << workers << " " << i;
    EXPECT_FALSE(idle.begin_poll()) << workers;
    idle.end_poll();
    EXPECT_TRUE(idle.begin_poll()) << workers;
    EXPECT_FALSE(idle.begin_poll()) << workers;
  }
}

// The wake-up rule (idle.h): a pusher wakes a sleeper only when nobody searches or polls, since a
// searcher or poller sees the work itself (and re-checks the queues after announcing itself as a
// sleeper when it gives up).
TEST(SchedulerIdle, APusherWakesNobodyWhileAWorkerSearchesOrPolls) {
  stealio::internal::Parker p0;
  stealio::internal::Parker p1;
  stealio::internal::Idle idle({&p0, &p1});
  idle.add_sleeper(0);
  ASSERT_EQ(idle.sleeping(), 1);

  ASSERT_TRUE(idle.begin_poll());  // worker 1 polls
  idle.notify_work();
  EXPECT_EQ(idle.sleeping(), 1) << "woke a sleeper while a worker polled";
  idle.end_poll();

  ASSERT_TRUE(idle.begin_search());  // worker 1 searches
  idle.notify_work();
  EXPECT_EQ(idle.sleeping(), 1) << "woke a sleeper while a worker searched";
  idle.end_search();

  idle.notify_work();  // nobody searches or polls: the sleeper is woken
  EXPECT_EQ(idle.sleeping(), 0);
  p0.park(std::nullopt);  // returns at once: the wake left its token
}

// try_pop_batch takes nothing while the queue's lock is held (by a pusher or another worker), and
// otherwise what pop_batch would.
// A TaskQueue holding `n` inert tasks, oldest first (tasks[0]).
struct QueuedTasks {
  explicit QueuedTasks(int n) {
    for (int i = 0; i < n; ++i) {
      tasks.push_back(stealio::make_task<stealio_test::InertTask>(sched.loop(0)));
      q.push(tasks.back().get());
    }
  }
  Scheduler sched{SchedulerOptions{.workers = 1}};
  std::vector<TaskRef> tasks;
  stealio::internal::TaskQueue q;
};

TEST(TaskQueue, TryPopBatchGivesUpWhileTheLockIsHeld) {
  QueuedTasks queued(3);
  auto& tasks = queued.tasks;
  auto& q = queued.q;
  TaskBase* out[4] = {};
  auto none = [](TaskBase&) {};
  std::size_t taken_while_locked = 99;
  q.visit_then([](TaskBase&) {},
               [&] {  // the lock is held here
                 std::thread other([&] { taken_while_locked = q.try_pop_batch(out, 4, none); });
                 other.join();
               });
  EXPECT_EQ(taken_while_locked, 0u);
  EXPECT_EQ(q.size(), 3u);
  ASSERT_EQ(q.try_pop_batch(out, 2, none), 2u);
  EXPECT_EQ(out[0], tasks[0].get());
  EXPECT_EQ(out[1], tasks[1].get());
  ASSERT_EQ(q.try_pop_batch(out, 4, none), 1u);
  EXPECT_EQ(out[0], tasks[2].get());
  EXPECT_EQ(q.try_pop_batch(out, 4, none), 0u);
}

// pop_batch takes the oldest steps first, at most `max`, and keeps the rest queued in order.
TEST(TaskQueue, PopBatchTakesTheOldestInOrder) {
  QueuedTasks queued(5);
  auto& tasks = queued.tasks;
  auto& q = queued.q;
  TaskBase* out[4] = {};
  EXPECT_EQ(q.pop_batch(out, 0), 0u);
  ASSERT_EQ(q.pop_batch(out, 3), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(out[i], tasks[static_cast<std::size_t>(i)].get()) << i;
  EXPECT_EQ(q.size(), 2u);
  ASSERT_EQ(q.pop_batch(out, 4), 2u);
  EXPECT_EQ(out[0], tasks[3].get());
  EXPECT_EQ(out[1], tasks[4].get());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.pop_batch(out, 4), 0u);
  q.push(tasks[0].get());  // the queue is usable again after it emptied
  EXPECT_EQ(q.pop(), tasks[0].get());
}

// With one worker, steps posted from outside run in submission order, also when many are queued
// (workers of a larger scheduler take the injection queue in batches).
TEST(Scheduler, OutsideStepsRunInSubmissionOrderOnOneWorker) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  stealio_test::HeldWorker held(sched);
  constexpr int kN = 500;
  std::vector<int> order;  // only the one worker writes it
  std::promise<void> done;
  auto done_f = done.get_future();
  for (int i = 0; i < kN; ++i) {
    sched.post([&, i] {
      order.push_back(i);
      if (i == kN - 1) done.set_value();
    });
  }
  held.release();
  get_within(done_f);
  ASSERT_EQ(order.size(), static_cast<std::size_t>(kN));
  for (int i = 0; i < kN; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

// The same when every step also queues a step of its own on the worker's deque, which the loop
// runs first except on its fairness turns (the injection queue first, every 61st turn): the lone
// worker takes the injection queue in batches, and serves the rest of a batch before a newer one.
TEST(Scheduler, OutsideStepsRunInSubmissionOrderOnOneWorkerBesideLocalSteps) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  stealio_test::HeldWorker held(sched);
  constexpr int kN = 500;
  std::vector<int> order;  // only the one worker writes these
  int local = 0;
  std::promise<void> done;
  auto done_f = done.get_future();
  for (int i = 0; i < kN; ++i) {
    sched.post([&, i] {
      order.push_back(i);
      sched.post([&] {  // from the worker: onto its deque
        if (++local == kN) done.set_value();
      });
    });
  }
  held.release();
  get_within(done_f);
  ASSERT_EQ(order.size(), static_cast<std::size_t>(kN));
  for (int i = 0; i < kN; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

}  // namespace
