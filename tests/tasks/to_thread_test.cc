// Tests of stealio/to_thread.h: blocking calls on the scheduler's bounded pool, their results and
// exceptions, cancellation of the awaiting task, and the scheduler's shutdown (waits, or gives up
// after its timeout without hanging).
#include "stealio/to_thread.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "stealio/context.h"
#include "stealio/gather.h"
#include "stealio/sleep.h"
#include "stealio/task.h"
#include "time_test_util.h"

namespace {

using stealio::Coro;
using stealio::RuntimeError;
using stealio::Scheduler;
using stealio::SchedulerOptions;
using stealio::Task;
using time_test::outcome;
using time_test::run_test;
using time_test::run_workers;

// Callables with non-trivial captures are named before `co_await to_thread(...)`: g++ 12
// destroys a closure temporary that appears inside a co_await expression twice (the bug noted
// at TaskOptions in task.h), which double-released the captured shared_ptrs here.

TEST(ToThread, ReturnsTheResultFromAnotherThread) {
  run_test([]() -> Coro<void> {
    std::thread::id worker = std::this_thread::get_id();
    std::pair<std::thread::id, int> r = co_await stealio::to_thread(
        [](int a, int b) { return std::make_pair(std::this_thread::get_id(), a + b); }, 40, 2);
    EXPECT_NE(r.first, worker);
    EXPECT_EQ(r.second, 42);
    bool on_loop =
        co_await stealio::to_thread([] { return stealio::get_running_loop_or_null() != nullptr; });
    EXPECT_FALSE(on_loop);
  }());
}

TEST(ToThread, VoidAndMoveOnlyResults) {
  run_test([]() -> Coro<void> {
    int hit = 0;
    co_await stealio::to_thread([&hit] { hit = 1; });
    EXPECT_EQ(hit, 1);
    std::unique_ptr<int> p = co_await stealio::to_thread([] { return std::make_unique<int>(9); });
    EXPECT_EQ(*p, 9);
  }());
}

TEST(ToThread, TheExceptionComesBackToTheTask) {
  run_test([]() -> Coro<void> {
    EXPECT_EQ(
        co_await outcome(stealio::to_thread([]() -> int { throw stealio::ValueError("io"); })),
        "io");
  }());
}

const stealio::ContextVar<std::string> request_id("request_id", "none");

TEST(ToThread, RunsInACopyOfTheTasksContext) {
  run_test([]() -> Coro<void> {
    stealio::Token tok = request_id.set("r-42");
    (void)tok;
    std::string seen = co_await stealio::to_thread([] {
      std::string v = request_id.get();
      (void)request_id.set("changed");  // stays in the copy
      return v;
    });
    EXPECT_EQ(seen, "r-42");
    EXPECT_EQ(request_id.get(), "r-42");
  }());
}

TEST(ToThread, TheWorkerKeepsRunningTasksMeanwhile) {
  // One worker: the blocking call waits for a task, which can only run if the worker is free.
  run_test([]() -> Coro<void> {
    auto released = std::make_shared<std::promise<void>>();
    Task<int> blocking = stealio::create_task(stealio::to_thread([released] {
      released->get_future().wait();
      return 1;
    }));
    Task<void> other =
        stealio::create_task([](std::shared_ptr<std::promise<void>> p) -> Coro<void> {
          co_await stealio::yield();
          p->set_value();
        }(released));
    EXPECT_EQ(co_await blocking, 1);
    co_await other;
  }());
}

TEST(ToThread, ThePoolIsBounded) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  stealio::set_to_thread_options(sched, {.max_threads = 2});
  EXPECT_EQ(stealio::get_to_thread_options(sched).max_threads, 2);
  auto running = std::make_shared<std::atomic<int>>(0);
  auto most = std::make_shared<std::atomic<int>>(0);
  sched.run([](auto running, auto most) -> Coro<void> {
    std::vector<Coro<int>> calls;
    for (int i = 0; i < 8; ++i) {
      calls.push_back(stealio::to_thread([running, most, i] {
        int now = ++*running;
        int m = most->load();
        while (now > m && !most->compare_exchange_weak(m, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        --*running;
        return i;
      }));
    }
    std::vector<int> r = co_await stealio::gather(std::move(calls));
    for (int i = 0; i < 8; ++i) EXPECT_EQ(r[i], i);
  }(running, most));
  EXPECT_LE(most->load(), 2);
  EXPECT_GE(most->load(), 1);
}

TEST(ToThread, CancellingTheAwaitingTaskDoesNotWaitForTheCall) {
  run_test([]() -> Coro<void> {
    auto started = std::make_shared<std::promise<void>>();
    auto release = std::make_shared<std::promise<void>>();
    auto started_f = std::make_shared<std::shared_future<void>>(started->get_future());
    Task<int> t = stealio::create_task(stealio::to_thread([started, release] {
      started->set_value();
      release->get_future().wait();
      return 1;
    }));
    // Wait (off the worker) until the call runs.
    auto wait_started = [started_f] { started_f->wait(); };
    co_await stealio::to_thread(std::move(wait_started));
    t.cancel();
    EXPECT_EQ(co_await outcome(stealio::internal::as_coro(t)), "cancelled");
    release->set_value();  // the call ends; its result is dropped quietly
  }());
}

TEST(ToThread, ShutdownWaitsForTheCallsInFlight) {
  auto finished = std::make_shared<std::atomic<bool>>(false);
  auto started = std::make_shared<std::promise<void>>();
  std::future<void> started_f = started->get_future();
  {
    Scheduler sched(SchedulerOptions{.workers = 2});
    Task<int> t = sched.spawn([](auto finished, auto started) -> Coro<int> {
      auto call = [finished, started] {
        started->set_value();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        *finished = true;
        return 5;
      };
      co_return co_await stealio::to_thread(std::move(call));
    }(finished, started));
    started_f.wait();
    // The task woken by the result may or may not run before the workers stop (shutdown then
    // abandons it): only the call is waited for.
    sched.set_exception_handler([](const stealio::ExceptionContext&) {});
    sched.shutdown();
    EXPECT_TRUE(finished->load());
    if (t.done()) {
      EXPECT_EQ(t.result(), 5);
    }
  }
}

TEST(ToThread, ShutdownGivesUpAfterItsTimeout) {
  auto release = std::make_shared<std::promise<void>>();
  auto started = std::make_shared<std::promise<void>>();
  auto exited = std::make_shared<std::promise<void>>();
  std::future<void> started_f = started->get_future();
  std::future<void> exited_f = exited->get_future();
  std::vector<std::string> reports;
  {
    Scheduler sched(SchedulerOptions{.workers = 1});
    sched.set_exception_handler(
        [&reports](const stealio::ExceptionContext& c) { reports.push_back(c.message); });
    stealio::set_to_thread_options(sched,
                                   {.max_threads = 1, .shutdown_timeout = absl::Milliseconds(20)});
    struct OnExit {
      std::shared_ptr<std::promise<void>> p;
      ~OnExit() { p->set_value(); }
    };
    Task<int> t = sched.spawn([](auto release, auto started, auto exited) -> Coro<int> {
      auto call = [release, started, exited] {
        OnExit on_exit{exited};
        started->set_value();
        release->get_future().wait();
        return 1;
      };
      co_return co_await stealio::to_thread(std::move(call));
    }(release, started, exited));
    // A second call queued behind the first (max_threads = 1): dropped at the timeout.
    Task<int> queued = sched.spawn(
        []() -> Coro<int> { co_return co_await stealio::to_thread([] { return 2; }); }());
    started_f.wait();
    sched.shutdown();  // must not hang although the call never returns by itself
    EXPECT_TRUE(std::find(reports.begin(), reports.end(),
                          "The executor did not finishing joining its threads within 20ms.") !=
                reports.end());
    try {
      stealio::set_to_thread_options(sched, {});
      ADD_FAILURE() << "no error";
    } catch (const RuntimeError& e) {
      EXPECT_STREQ(e.what(), "Executor shutdown has been called");
    }
  }
  release->set_value();
  exited_f.wait();  // the abandoned call ends on its own, touching nothing of the scheduler
}

TEST(ToThreadWorkers, ManyCallsFromManyTasks) {
  run_workers(4, []() -> Coro<void> {
    std::vector<Coro<int>> tasks;
    for (int i = 0; i < 100; ++i) {
      tasks.push_back([](int i) -> Coro<int> {
        int r = co_await stealio::to_thread([i] { return i * 2; });
        co_await stealio::yield();
        co_return r;
      }(i));
    }
    std::vector<int> r = co_await stealio::gather(std::move(tasks));
    for (int i = 0; i < 100; ++i) EXPECT_EQ(r[i], i * 2);
  }());
}

}  // namespace
