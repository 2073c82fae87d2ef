// The asyncio task lifetime protocol, with the cases of CPython's BaseTaskIntrospectionTests.
#include "stealio/lifetime.h"

#include <gtest/gtest.h>

#include "stealio/errors.h"
#include "stealio/scheduler.h"
#include "test_support.h"

namespace {

using stealio::RuntimeError;
using stealio::Scheduler;
using stealio::SchedulerOptions;
using stealio::TaskRef;
using stealio_test::contains;
using stealio_test::InertTask;

class LifetimeTest : public ::testing::Test {
 protected:
  Scheduler sched_{SchedulerOptions{.workers = 2}};
  stealio::Loop& loop_ = sched_.loop(0);
  TaskRef make() { return stealio::make_task<InertTask>(loop_); }
};

TEST_F(LifetimeTest, RegisteredPendingTaskIsListed) {
  TaskRef t = make();
  stealio::register_task(*t);
  EXPECT_TRUE(contains(stealio::all_tasks(loop_), t.get()));
  EXPECT_FALSE(contains(stealio::all_tasks(sched_.loop(1)), t.get()));
  stealio::unregister_task(*t);
}

TEST_F(LifetimeTest, RegisteredTaskIsListedThroughGetLoop) {
  TaskRef t = make();
  stealio::register_task(*t);
  EXPECT_TRUE(contains(stealio::all_tasks(*t->get_loop()), t.get()));
  stealio::unregister_task(*t);
}

TEST_F(LifetimeTest, DoneTaskIsNotListed) {
  TaskRef t = make();
  stealio::register_task(*t);
  static_cast<InertTask&>(*t).finish();
  EXPECT_FALSE(contains(stealio::all_tasks(loop_), t.get()));
  stealio::unregister_task(*t);
}

TEST_F(LifetimeTest, RegisterIsIdempotent) {
  TaskRef t = make();
  stealio::register_task(*t);
  stealio::register_task(*t);
  auto tasks = stealio::all_tasks(loop_);
  EXPECT_EQ(std::count_if(tasks.begin(), tasks.end(), [&](auto& r) { return r == t; }), 1);
  stealio::unregister_task(*t);
  EXPECT_FALSE(contains(stealio::all_tasks(loop_), t.get()));
}

TEST_F(LifetimeTest, UnregisterRemoves) {
  TaskRef t = make();
  stealio::register_task(*t);
  stealio::unregister_task(*t);
  EXPECT_FALSE(contains(stealio::all_tasks(loop_), t.get()));
  EXPECT_FALSE(contains(sched_.all_tasks(), t.get()));
}

TEST_F(LifetimeTest, UnregisterUnknownTaskIsNoop) {
  TaskRef t = make();
  stealio::unregister_task(*t);
  EXPECT_FALSE(contains(stealio::all_tasks(loop_), t.get()));
}

TEST_F(LifetimeTest, EnterThenLeave) {
  TaskRef t = make();
  stealio::enter_task(loop_, *t);
  EXPECT_EQ(stealio::current_task(loop_), t);
  stealio::leave_task(loop_, *t);
  EXPECT_FALSE(stealio::current_task(loop_));
}

TEST_F(LifetimeTest, EnteringASecondTaskFailsAndKeepsTheFirst) {
  TaskRef a = make();
  TaskRef b = make();
  stealio::enter_task(loop_, *a);
  try {
    stealio::enter_task(loop_, *b);
    FAIL() << "enter_task did not raise";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), "Cannot enter into task " + b->repr() +
                                         " while another task " + a->repr() +
                                         " is being executed.");
  }
  EXPECT_EQ(stealio::current_task(loop_), a);
  stealio::leave_task(loop_, *a);
}

TEST_F(LifetimeTest, LeavingTheWrongTaskFailsAndKeepsTheSlot) {
  TaskRef a = make();
  TaskRef b = make();
  stealio::enter_task(loop_, *a);
  try {
    stealio::leave_task(loop_, *b);
    FAIL() << "leave_task did not raise";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), "Leaving task " + b->repr() +
                                         " does not match the current task " + a->repr() + ".");
  }
  EXPECT_EQ(stealio::current_task(loop_), a);
  stealio::leave_task(loop_, *a);
}

TEST_F(LifetimeTest, LeavingWithNothingEnteredFails) {
  TaskRef a = make();
  try {
    stealio::leave_task(loop_, *a);
    FAIL() << "leave_task did not raise";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()),
              "Leaving task " + a->repr() + " does not match the current task None.");
  }
  EXPECT_FALSE(stealio::current_task(loop_));
}

TEST_F(LifetimeTest, CurrentTaskOutsideAWorkerRaises) {
  try {
    stealio::current_task();
    FAIL() << "current_task did not raise";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "no running event loop");
  }
  EXPECT_THROW(stealio::all_tasks(), RuntimeError);
  EXPECT_THROW(stealio::get_running_loop(), RuntimeError);
}

TEST_F(LifetimeTest, CurrentTaskOfAnIdleLoopIsNone) {
  EXPECT_FALSE(stealio::current_task(loop_));
  // From the loop's own worker too, between steps.
  EXPECT_FALSE(stealio_test::run_on(loop_, [] { return bool(stealio::current_task()); }));
}

TEST_F(LifetimeTest, EnterRecordsTheLoop) {
  TaskRef t = make();
  stealio::register_task(*t);
  stealio::Loop& other = sched_.loop(1);
  stealio::enter_task(other, *t);
  EXPECT_EQ(t->get_loop(), &other);
  stealio::leave_task(other, *t);
  EXPECT_TRUE(contains(stealio::all_tasks(other), t.get()));
  EXPECT_FALSE(contains(stealio::all_tasks(loop_), t.get()));
  EXPECT_EQ(other.stats().migrations_in, 1u);
  EXPECT_EQ(loop_.stats().migrations_out, 1u);
  stealio::unregister_task(*t);
}

TEST_F(LifetimeTest, ReprShowsNameIdLoopAndState) {
  TaskRef t = make();
  EXPECT_EQ(t->repr(), "<Task pending name='Task-" + std::to_string(t->id()) +
                           "' id=" + std::to_string(t->id()) + " loop=0>");
  t->set_name("worker");
  EXPECT_EQ(t->get_name(), "worker");
  static_cast<InertTask&>(*t).finish();
  EXPECT_EQ(t->repr(), "<Task done name='worker' id=" + std::to_string(t->id()) + " loop=0>");
}

TEST_F(LifetimeTest, DefaultNamesIncrease) {
  TaskRef a = make();
  TaskRef b = make();
  EXPECT_LT(a->id(), b->id());
  EXPECT_EQ(a->get_name(), "Task-" + std::to_string(a->id()));
  EXPECT_EQ(b->get_name(), "Task-" + std::to_string(b->id()));
}

TEST(LifetimeShutdown, RegisterAfterShutdownRaises) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  TaskRef t = stealio::make_task<InertTask>(sched.loop(0));
  sched.shutdown();
  try {
    stealio::register_task(*t);
    FAIL() << "register_task did not raise";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "Event loop is closed");
  }
  EXPECT_TRUE(sched.all_tasks().empty());
}

TEST(LifetimeShutdown, ShutdownUnregistersPendingTasks) {
  TaskRef t;
  {
    Scheduler sched(SchedulerOptions{.workers = 1});
    t = stealio::make_task<InertTask>(sched.loop(0));
    stealio::register_task(*t);
    ASSERT_EQ(sched.all_tasks().size(), 1u);
    sched.shutdown();
    EXPECT_TRUE(sched.all_tasks().empty());
  }
  // The scheduler is gone; dropping the last reference must not touch it.
  t = nullptr;
}

}  // namespace
