// Tests of stealio/task_group.h: CPython's test_taskgroups.py (error aggregation, cancellation,
// the uncancel interplay with timeouts, protocol misuse), ported, and groups on several workers.
#include "stealio/task_group.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "stealio/sleep.h"
#include "stealio/task.h"
#include "stealio/timeouts.h"
#include "test_support.h"
#include "time_test_util.h"

namespace {

using stealio::CancelledError;
using stealio::Coro;
using stealio::ExceptionGroup;
using stealio::Future;
using stealio::RuntimeError;
using stealio::Task;
using stealio::TaskGroup;
using time_test::kLong;
using time_test::outcome;
using time_test::outcome_of;
using time_test::run_briefly;
using time_test::run_test;
using time_test::run_workers;
using time_test::sleep_then;
using time_test::sleep_then_throw;

stealio::internal::TaskCore& me() { return *stealio::internal::running_task(); }

// How `c` ended: for an ExceptionGroup "group:" and the outcome of each exception inside,
// joined by ","; otherwise outcome().
Coro<std::string> group_outcome(Coro<void> c) {
  try {
    co_await std::move(c);
  } catch (const ExceptionGroup& g) {
    EXPECT_STREQ(g.what(), "unhandled errors in a TaskGroup");
    std::string out = "group:";
    for (std::size_t i = 0; i < g.exceptions().size(); ++i) {
      out += (i ? "," : "") + outcome_of(g.exceptions()[i]);
    }
    co_return out;
  } catch (...) {
    co_return outcome_of(std::current_exception());
  }
  co_return "value";
}

TEST(TaskGroup, WaitsForEveryChild) {
  run_test([]() -> Coro<void> {
    Task<int> t1, t2;
    co_await stealio::task_group([&](TaskGroup& tg) -> Coro<void> {
      t1 = tg.create_task(sleep_then(absl::Milliseconds(1), 42));
      t2 = tg.create_task(sleep_then(absl::Milliseconds(2), 11));
      co_return;
    });
    EXPECT_EQ(t1.result(), 42);
    EXPECT_EQ(t2.result(), 11);
  }());
}

TEST(TaskGroup, ReturnsTheBodysValueAfterTheChildren) {
  run_test([]() -> Coro<void> {
    Task<int> t;
    int v = co_await stealio::task_group([&](TaskGroup& tg) -> Coro<int> {
      t = tg.create_task(sleep_then(absl::Milliseconds(2), 1));
      co_return 5;
    });
    EXPECT_EQ(v, 5);
    EXPECT_TRUE(t.done());
  }());
}

TEST(TaskGroup, AFailingChildCancelsTheOthersAndTheBody) {
  run_test([]() -> Coro<void> {
    Task<int> t1, t2;
    std::string body_saw;
    std::string r = co_await group_outcome(stealio::task_group([&](TaskGroup& tg) -> Coro<void> {
      t1 = tg.create_task(sleep_then_throw(absl::Milliseconds(1), "division by zero"));
      t2 = tg.create_task(sleep_then(kLong, 2));
      body_saw = co_await outcome(stealio::sleep(kLong));
      if (body_saw == "cancelled") throw CancelledError();
    }));
    EXPECT_EQ(r, "group:division by zero");
    EXPECT_EQ(body_saw, "cancelled");
    EXPECT_TRUE(t2.cancelled());
    // The group's own cancellation of the parent was withdrawn.
    EXPECT_EQ(me().cancelling(), 0);
  }());
}

TEST(TaskGroup, EveryChildErrorIsCollected) {
  run_test([]() -> Coro<void> {
    auto fails_on_cancel = []() -> Coro<int> {
      try {
        co_await stealio::sleep(kLong);
      } catch (...) {
      }
      throw stealio::ValueError("second");
    };
    std::string r = co_await group_outcome(stealio::task_group([&](TaskGroup& tg) -> Coro<void> {
      tg.create_task(sleep_then_throw(absl::Milliseconds(1), "first"));
      tg.create_task(fails_on_cancel());
      co_return;
    }));
    EXPECT_EQ(r, "group:first,second");
    EXPECT_EQ(me().cancelling(), 0);
  }());
}

TEST(TaskGroup, TheBodysErrorJoinsTheGroupAndCancelsTheChildren) {
  run_test([]() -> Coro<void> {
    Task<int> t;
    std::string r = co_await group_outcome(stealio::task_group([&](TaskGroup& tg) -> Coro<void> {
      t = tg.create_task(sleep_then(kLong, 1));
      co_await stealio::sleep(absl::Milliseconds(1));
      throw stealio::ValueError("body");
    }));
    EXPECT_EQ(r, "group:body");
    EXPECT_TRUE(t.cancelled());
  }());
}

TEST(TaskGroup, CancellingTheParentCancelsTheChildren) {
  run_test([]() -> Coro<void> {
    std::vector<Task<int>> kids;
    Task<std::string> parent =
        stealio::create_task(group_outcome(stealio::task_group([&](TaskGroup& tg) -> Coro<void> {
          kids.push_back(tg.create_task(sleep_then(kLong, 1)));
          kids.push_back(tg.create_task(sleep_then(kLong, 2)));
          co_await stealio::sleep(kLong);
        })));
    co_await run_briefly();
    parent.cancel();
    EXPECT_EQ(co_await parent, "cancelled");
    for (auto& k : kids) EXPECT_TRUE(k.cancelled());
  }());
}

TEST(TaskGroup, CancellingTheParentWhileTheExitWaitsCancelsTheChildren) {
  run_test([]() -> Coro<void> {
    std::vector<Task<int>> kids;
    Task<std::string> parent =
        stealio::create_task(group_outcome(stealio::task_group([&](TaskGroup& tg) -> Coro<void> {
          kids.push_back(tg.create_task(sleep_then(kLong, 1)));
          co_return;  // the exit waits for the child
        })));
    co_await run_briefly();
    parent.cancel();
    EXPECT_EQ(co_await parent, "cancelled");
    EXPECT_TRUE(kids[0].cancelled());
    EXPECT_EQ(parent.cancelling(), 1);
  }());
}

TEST(TaskGroup, NestedGroupsCancelFromTheOutside) {
  run_test([]() -> Coro<void> {
    std::vector<Task<int>> kids;
    Task<std::string> parent =
        stealio::create_task(group_outcome(stealio::task_group([&](TaskGroup& outer) -> Coro<void> {
          kids.push_back(outer.create_task(sleep_then(kLong, 1)));
          co_await stealio::task_group([&](TaskGroup& inner) -> Coro<void> {
            kids.push_back(inner.create_task(sleep_then(kLong, 2)));
            co_await stealio::sleep(kLong);
          });
        })));
    co_await run_briefly();
    parent.cancel();
    EXPECT_EQ(co_await parent, "cancelled");
    for (auto& k : kids) EXPECT_TRUE(k.cancelled());
  }());
}

TEST(TaskGroup, AnInnerGroupsErrorReachesTheOuterGroup) {
  run_test([]() -> Coro<void> {
    Task<int> sibling;
    std::string r = co_await group_outcome(stealio::task_group([&](TaskGroup& outer) -> Coro<void> {
      sibling = outer.create_task(sleep_then(kLong, 1));
      co_await stealio::task_group([&](TaskGroup& inner) -> Coro<void> {
        inner.create_task(sleep_then_throw(absl::Milliseconds(1), "deep"));
        co_return;
      });
    }));
    // The outer body raised the inner ExceptionGroup: it joins the outer group.
    EXPECT_EQ(r, "group:unhandled errors in a TaskGroup");
    EXPECT_TRUE(sibling.cancelled());
    EXPECT_EQ(me().cancelling(), 0);
  }());
}

TEST(TaskGroup, ChildrenMayCreateTasksInTheGroup) {
  run_workers(2, []() -> Coro<void> {
    std::atomic<int> ran{0};
    co_await stealio::task_group([&](TaskGroup& tg) -> Coro<void> {
      for (int i = 0; i < 10; ++i) {
        tg.create_task([](TaskGroup& g, std::atomic<int>& ran) -> Coro<void> {
          co_await stealio::yield();
          g.create_task([](std::atomic<int>& ran) -> Coro<void> {
            ++ran;
            co_return;
          }(ran));
          ++ran;
        }(tg, ran));
      }
      co_return;
    });
    EXPECT_EQ(ran.load(), 20);
  }());
}

TEST(TaskGroup, ATimeoutAroundTheGroupBecomesTimeoutError) {
  run_test([]() -> Coro<void> {
    Task<int> kid;
    std::string r = co_await group_outcome(stealio::timeout(
        absl::Milliseconds(5), stealio::task_group([&](TaskGroup& tg) -> Coro<void> {
          kid = tg.create_task(sleep_then(kLong, 1));
          co_await stealio::sleep(kLong);
        })));
    EXPECT_EQ(r, "timeout");
    EXPECT_TRUE(kid.cancelled());
    EXPECT_EQ(me().cancelling(), 0);
  }());
}

TEST(TaskGroup, ATimeoutInsideAChildStaysInTheChild) {
  run_test([]() -> Coro<void> {
    Task<std::string> kid;
    co_await stealio::task_group([&](TaskGroup& tg) -> Coro<void> {
      kid = tg.create_task(outcome(stealio::timeout(absl::Milliseconds(1), sleep_then(kLong, 1))));
      co_return;
    });
    EXPECT_EQ(kid.result(), "timeout");
  }());
}

TEST(TaskGroup, AChildErrorInsideATimeoutIsNotATimeout) {
  run_test([]() -> Coro<void> {
    stealio::Timeout cm(absl::Seconds(50));
    std::string r =
        co_await group_outcome(cm.run(stealio::task_group([](TaskGroup& tg) -> Coro<void> {
          tg.create_task(sleep_then_throw(absl::Milliseconds(1), "child"));
          co_await stealio::sleep(kLong);
        })));
    EXPECT_EQ(r, "group:child");
    EXPECT_FALSE(cm.expired());
    EXPECT_EQ(me().cancelling(), 0);
  }());
}

TEST(TaskGroup, CreateTaskAfterTheGroupFinishedIsARuntimeError) {
  run_test([]() -> Coro<void> {
    TaskGroup tg;
    co_await tg.run([](TaskGroup&) -> Coro<void> { co_return; });
    bool ran = false;
    auto c = [](bool& ran) -> Coro<void> {
      ran = true;
      co_return;
    };
    try {
      tg.create_task(c(ran));
      ADD_FAILURE() << "no error";
    } catch (const RuntimeError& e) {
      EXPECT_STREQ(e.what(), "TaskGroup <TaskGroup entered> is finished");
    }
    co_await run_briefly();
    EXPECT_FALSE(ran);  // the coroutine was destroyed unstarted
  }());
}

TEST(TaskGroup, CreateTaskBeforeEnteringIsARuntimeError) {
  run_test([]() -> Coro<void> {
    TaskGroup tg;
    try {
      tg.create_task(sleep_then(kLong, 1));
      ADD_FAILURE() << "no error";
    } catch (const RuntimeError& e) {
      EXPECT_STREQ(e.what(), "TaskGroup <TaskGroup> has not been entered");
    }
    co_return;
  }());
}

TEST(TaskGroup, EnteringTwiceIsARuntimeError) {
  run_test([]() -> Coro<void> {
    TaskGroup tg;
    std::string inside;
    co_await tg.run([&](TaskGroup&) -> Coro<void> {
      inside = co_await outcome(tg.run([](TaskGroup&) -> Coro<void> { co_return; }));
    });
    EXPECT_EQ(inside, "TaskGroup <TaskGroup entered> has already been entered");
    EXPECT_EQ(co_await outcome(tg.run([](TaskGroup&) -> Coro<void> { co_return; })),
              "TaskGroup <TaskGroup entered> has already been entered");
  }());
}

TEST(TaskGroup, CreateTaskWhileAbortingIsARuntimeError) {
  run_test([]() -> Coro<void> {
    std::string error;
    std::string r = co_await group_outcome(stealio::task_group([&](TaskGroup& tg) -> Coro<void> {
      tg.create_task(sleep_then_throw(absl::Milliseconds(1), "boom"));
      std::string saw = co_await outcome(stealio::sleep(kLong));
      EXPECT_EQ(saw, "cancelled");
      try {
        tg.create_task(sleep_then(kLong, 1));
      } catch (const RuntimeError& e) {
        error = e.what();
      }
    }));
    EXPECT_EQ(r, "group:boom");
    // "TaskGroup <TaskGroup tasks=.. errors=.. cancelling> is shutting down"
    EXPECT_EQ(error.rfind("TaskGroup <TaskGroup ", 0), 0u) << error;
    const std::string tail = " cancelling> is shutting down";
    EXPECT_TRUE(error.size() > tail.size() &&
                error.compare(error.size() - tail.size(), tail.size(), tail) == 0)
        << error;
  }());
}

TEST(TaskGroup, OutsideATaskIsARuntimeError) {
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = 1});
  TaskGroup tg;
  Coro<void> c = tg.run([](TaskGroup&) -> Coro<void> { co_return; });
  // On the loop, but in a callback: no current task.
  stealio_test::run_on(sched.loop(0), [&] { c.handle().resume(); });
  ASSERT_TRUE(c.done());
  ASSERT_TRUE(c.handle().promise().exception());
  try {
    std::rethrow_exception(c.handle().promise().exception());
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "TaskGroup <TaskGroup> cannot determine the parent task");
  }
}

TEST(TaskGroup, Repr) {
  run_test([]() -> Coro<void> {
    TaskGroup tg;
    EXPECT_EQ(tg.repr(), "<TaskGroup>");
    co_await tg.run([](TaskGroup& g) -> Coro<void> {
      EXPECT_EQ(g.repr(), "<TaskGroup entered>");
      g.create_task(sleep_then(absl::Milliseconds(1), 1));
      EXPECT_EQ(g.repr(), "<TaskGroup tasks=1 entered>");
      co_return;
    });
    EXPECT_EQ(tg.repr(), "<TaskGroup entered>");
  }());
}

TEST(TaskGroupWorkers, FailuresAndCancellationsAcrossWorkers) {
  run_workers(4, []() -> Coro<void> {
    for (int round = 0; round < 20; ++round) {
      std::vector<Task<int>> kids;
      std::string r = co_await group_outcome(stealio::task_group([&](TaskGroup& tg) -> Coro<void> {
        for (int i = 0; i < 30; ++i) kids.push_back(tg.create_task(sleep_then(kLong, i)));
        kids.push_back(tg.create_task(sleep_then_throw(absl::Microseconds(200), "x")));
        co_await stealio::sleep(kLong);
      }));
      EXPECT_EQ(r, "group:x");
      for (int i = 0; i < 30; ++i) EXPECT_TRUE(kids[i].cancelled());
      EXPECT_EQ(me().cancelling(), 0);
    }
  }());
}

}  // namespace
