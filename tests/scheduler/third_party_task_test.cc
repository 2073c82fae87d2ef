// A task type that is not stealio's: it derives from TaskBase, follows the lifetime protocol by
// hand, and is driven by callbacks and scheduled steps. all_tasks() and current_task() must see
// it exactly as the protocol says, including after its steps move to another worker.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <latch>
#include <thread>
#include <vector>

#include "stealio/errors.h"
#include "stealio/lifetime.h"
#include "stealio/loop.h"
#include "stealio/scheduler.h"
#include "stealio/task_base.h"
#include "test_support.h"

namespace {

using namespace std::chrono_literals;
using stealio::Loop;
using stealio::LoopStats;
using stealio::Scheduler;
using stealio::SchedulerOptions;
using stealio::TaskBase;
using stealio::TaskRef;
using stealio_test::contains;
using stealio_test::eventually;
using stealio_test::get_within;
using stealio_test::kWaitLimit;
using stealio_test::run_on;


// The third-party task. Each step, however it is started (a scheduled step, a callback), runs
// `body` between enter_task and leave_task on the loop running it.
class Probe final : public TaskBase {
 public:
  using Body = std::function<void(Probe&, Loop&)>;
  explicit Probe(Loop& loop) : TaskBase(loop) {}

  void set_body(Body body) { body_ = std::move(body); }
  // Started by the scheduler (schedule_step): stealable.
  void step() override { run(stealio::get_running_loop()); }
  // Started by a callback on `here`'s worker.
  void run(Loop& here) {
    stealio::enter_task(here, *this);
    body_(*this, here);
    stealio::leave_task(here, *this);
  }
  void finish() {
    mark_done();
    stealio::unregister_task(*this);
  }
  // Done but left registered: a task type may unregister later.
  void finish_without_unregistering() { mark_done(); }

 protected:
  const char* type_name() const noexcept override { return "Probe"; }
  const char* state_name() const noexcept override { return done() ? "finished" : "running"; }

 private:
  Body body_ = [](Probe&, Loop&) {};
};

Probe& probe(const TaskRef& t) { return static_cast<Probe&>(*t); }

class ThirdPartyTask : public ::testing::Test {
 protected:
  Scheduler sched_{SchedulerOptions{.workers = 2}};
  Loop& a_ = sched_.loop(0);
  Loop& b_ = sched_.loop(1);
};

TEST_F(ThirdPartyTask, ListedWhileRegisteredAndNotDone) {
  TaskRef t = stealio::make_task<Probe>(a_);
  EXPECT_FALSE(contains(stealio::all_tasks(a_), t.get())) << "not registered yet";
  stealio::register_task(*t);
  EXPECT_TRUE(contains(stealio::all_tasks(a_), t.get()));
  EXPECT_FALSE(contains(stealio::all_tasks(b_), t.get()));
  EXPECT_TRUE(contains(sched_.all_tasks(), t.get()));
  EXPECT_TRUE(run_on(a_, [&] { return contains(stealio::all_tasks(), t.get()); }));
  EXPECT_FALSE(run_on(b_, [&] { return contains(stealio::all_tasks(), t.get()); }));
  EXPECT_EQ(t->repr(), "<Probe running name='Task-" + std::to_string(t->id()) +
                           "' id=" + std::to_string(t->id()) + " loop=0>");
  probe(t).finish();
  EXPECT_FALSE(contains(stealio::all_tasks(a_), t.get()));
  EXPECT_FALSE(contains(sched_.all_tasks(), t.get()));
  EXPECT_EQ(t->repr().rfind("<Probe finished ", 0), 0u) << t->repr();
}

// A task marked done while still registered (its type skipped unregister_task) is unregistered
// by mark_done: not listed (registry_test checks that nothing is left in the registry).
TEST_F(ThirdPartyTask, MarkedDoneWhileRegisteredIsUnregistered) {
  TaskRef t = stealio::make_task<Probe>(a_);
  stealio::register_task(*t);
  run_on(a_, [&] { probe(t).run(a_); });
  EXPECT_TRUE(contains(stealio::all_tasks(a_), t.get()));
  probe(t).finish_without_unregistering();
  EXPECT_FALSE(contains(stealio::all_tasks(a_), t.get()));
  EXPECT_FALSE(contains(sched_.all_tasks(), t.get()));
  stealio::unregister_task(*t);  // still allowed: a no-op
}

TEST_F(ThirdPartyTask, CurrentTaskDuringACallbackDrivenStep) {
  TaskRef t = stealio::make_task<Probe>(a_);
  stealio::register_task(*t);
  std::latch inside(1);
  std::latch go_on(1);
  std::promise<std::vector<bool>> seen;
  auto seen_f = seen.get_future();
  probe(t).set_body([&](Probe& self, Loop& here) {
    std::vector<bool> v;
    v.push_back(stealio::current_task() == &self);
    v.push_back(stealio::current_task(here) == &self);
    v.push_back(&here == &a_ && self.get_loop() == &a_);
    v.push_back(!stealio::current_task(b_));
    inside.count_down();
    go_on.wait();  // the test thread looks at the slot from outside meanwhile
    seen.set_value(v);
  });
  EXPECT_FALSE(stealio::current_task(a_));
  a_.call_soon_threadsafe([&] { probe(t).run(a_); });
  inside.wait();
  EXPECT_EQ(stealio::current_task(a_), t);  // from another thread, during the step
  EXPECT_FALSE(stealio::current_task(b_));
  go_on.count_down();
  EXPECT_EQ(get_within(seen_f), (std::vector<bool>{true, true, true, true}));
  run_on(a_, [] {});  // the step has left
  EXPECT_FALSE(stealio::current_task(a_));
  EXPECT_FALSE(run_on(a_, [] { return bool(stealio::current_task()); }));
  probe(t).finish();
}

// Steps started by callbacks on one loop, then on another: the task moves with its steps.
TEST_F(ThirdPartyTask, CallbackDrivenStepsHopLoops) {
  TaskRef t = stealio::make_task<Probe>(a_);
  stealio::register_task(*t);
  LoopStats a0 = a_.stats();
  LoopStats b0 = b_.stats();
  std::promise<bool> hopped;
  auto hopped_f = hopped.get_future();
  probe(t).set_body([&](Probe& self, Loop& here) {
    if (&here == &a_) {
      // Continue on loop b: a callback there runs the next step.
      b_.call_soon_threadsafe([&self, this] { self.run(b_); });
    } else {
      hopped.set_value(stealio::current_task() == &self && self.get_loop() == &b_);
    }
  });
  a_.call_soon_threadsafe([&] { probe(t).run(a_); });
  EXPECT_TRUE(get_within(hopped_f));
  EXPECT_EQ(t->get_loop(), &b_);
  EXPECT_TRUE(contains(stealio::all_tasks(b_), t.get()));
  EXPECT_FALSE(contains(stealio::all_tasks(a_), t.get()));
  EXPECT_EQ(b_.stats().migrations_in, b0.migrations_in + 1);
  EXPECT_EQ(a_.stats().migrations_out, a0.migrations_out + 1);
  EXPECT_EQ(t->repr().find("loop=1>") != std::string::npos, true) << t->repr();
  probe(t).finish();
}

// What a step on the thief records about both loops, from inside the step.
struct StepView {
  bool current_here = false;        // current_task(B) is the task
  bool current_there_is_blocker = false;  // current_task(A) is the blocker, not the task
  bool loop_is_here = false;        // get_loop() == B
  bool listed_here = false;         // all_tasks(B) lists it
  bool listed_there = true;         // all_tasks(A) lists it
  bool on_b_thread = false;
};

// Deterministic migration by stealing. Worker A runs a blocker step (a task entered on A) that
// schedules the probe's step onto A's own deque and then waits on a latch: A cannot take the
// step, so the only way it runs is worker B stealing it.
TEST_F(ThirdPartyTask, MigratesWhenItsStepIsStolen) {
  TaskRef t = stealio::make_task<Probe>(a_);
  TaskRef blocker = stealio::make_task<Probe>(a_);
  run_on(a_, [&] {
    stealio::register_task(*t);
    stealio::register_task(*blocker);
  });
  EXPECT_TRUE(contains(stealio::all_tasks(a_), t.get()));

  std::promise<StepView> view;
  auto view_f = view.get_future();
  probe(t).set_body([&](Probe& self, Loop& here) {
    StepView v;
    v.on_b_thread = b_.is_running_here();
    v.current_here = stealio::current_task(here) == &self && stealio::current_task() == &self;
    v.current_there_is_blocker = stealio::current_task(a_) == blocker;
    v.loop_is_here = self.get_loop() == &here && &here == &b_;
    v.listed_here = contains(stealio::all_tasks(b_), &self);
    v.listed_there = contains(stealio::all_tasks(a_), &self);
    view.set_value(v);
  });
  std::latch release_a(1);
  probe(blocker).set_body([&](Probe&, Loop&) {
    stealio::schedule_step(t);  // on A's deque: A is a worker of t's scheduler
    release_a.wait();
  });

  const LoopStats a0 = a_.stats();
  const LoopStats b0 = b_.stats();
  a_.call_soon_threadsafe([&] { probe(blocker).run(a_); });
  StepView v = get_within(view_f);
  EXPECT_TRUE(v.on_b_thread);
  EXPECT_TRUE(v.current_here) << "current_task(B) during the step on B";
  EXPECT_TRUE(v.current_there_is_blocker) << "current_task(A) is A's own task, not the migrant";
  EXPECT_TRUE(v.loop_is_here);
  EXPECT_TRUE(v.listed_here);
  EXPECT_FALSE(v.listed_there);

  // A is still blocked: everything below is about the single, stolen step.
  EXPECT_EQ(stealio::current_task(a_), blocker);
  run_on(b_, [] {});  // the stolen step has left B's slot
  EXPECT_FALSE(stealio::current_task(b_));
  EXPECT_EQ(t->get_loop(), &b_);
  EXPECT_TRUE(contains(stealio::all_tasks(b_), t.get()));
  EXPECT_FALSE(contains(stealio::all_tasks(a_), t.get()));
  EXPECT_TRUE(contains(stealio::all_tasks(a_), blocker.get()));
  EXPECT_TRUE(contains(sched_.all_tasks(), t.get()));
  LoopStats a1 = a_.stats();
  LoopStats b1 = b_.stats();
  EXPECT_EQ(b1.steals, b0.steals + 1);
  EXPECT_EQ(b1.steps, b0.steps + 1);
  EXPECT_EQ(b1.migrations_in, b0.migrations_in + 1);
  EXPECT_EQ(a1.migrations_out, a0.migrations_out + 1);
  EXPECT_EQ(a1.steps, a0.steps);
  EXPECT_EQ(a1.migrations_in, a0.migrations_in);
  EXPECT_EQ(b1.migrations_out, b0.migrations_out);
  release_a.count_down();
  run_on(a_, [] {});
  EXPECT_FALSE(stealio::current_task(a_));

  // And back: B is held busy while the step is injected from outside, so only A can take it.
  std::latch b_blocked(1);
  std::latch release_b(1);
  b_.call_soon_threadsafe([&] {
    b_blocked.count_down();
    release_b.wait();
  });
  b_blocked.wait();
  std::promise<bool> back;
  auto back_f = back.get_future();
  probe(t).set_body([&](Probe& self, Loop& here) {
    back.set_value(&here == &a_ && stealio::current_task(a_) == &self &&
                   contains(stealio::all_tasks(a_), &self) &&
                   !contains(stealio::all_tasks(b_), &self));
  });
  stealio::schedule_step(t);
  EXPECT_TRUE(get_within(back_f));
  release_b.count_down();
  run_on(b_, [] {});  // B's blocker has returned: the latches may go out of scope
  EXPECT_EQ(t->get_loop(), &a_);
  EXPECT_EQ(a_.stats().migrations_in, a1.migrations_in + 1);
  EXPECT_EQ(b_.stats().migrations_out, b1.migrations_out + 1);
  EXPECT_EQ(a_.stats().steals, a1.steals) << "taken from the injection queue, not stolen";

  probe(t).finish();
  probe(blocker).finish();
  EXPECT_TRUE(sched_.all_tasks().empty());
}

// Misusing the protocol from a third-party step raises asyncio's errors and leaves the slot as
// it was; the scheduler goes on.
TEST_F(ThirdPartyTask, ProtocolErrorsInsideAStep) {
  TaskRef t = stealio::make_task<Probe>(a_);
  TaskRef other = stealio::make_task<Probe>(a_);
  std::promise<std::string> msg;
  auto msg_f = msg.get_future();
  probe(t).set_body([&](Probe& self, Loop& here) {
    try {
      stealio::enter_task(here, *other);
      msg.set_value("no error");
    } catch (const stealio::RuntimeError& e) {
      msg.set_value(std::string(e.what()) + (stealio::current_task() == &self ? "|kept" : "|lost"));
    }
  });
  stealio::schedule_step(t);
  std::string got = get_within(msg_f);
  // After the step: t's repr shows the loop that ran it, as it did inside the step.
  EXPECT_EQ(got, "Cannot enter into task " + other->repr() + " while another task " + t->repr() +
                     " is being executed.|kept");
}

}  // namespace
