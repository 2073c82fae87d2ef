// Future<T>: asyncio.Future's state rules, callbacks, and "never retrieved" reporting, with the
// cases of CPython's test_futures.
#include "stealio/future.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include "stealio/stealio.h"
#include "test_support.h"

namespace {

using stealio::CancelledError;
using stealio::Coro;
using stealio::Future;
using stealio::InvalidStateError;
using stealio::RuntimeError;
using stealio::Scheduler;
using stealio::SchedulerOptions;
using stealio_test::run_on;

class FutureTest : public ::testing::Test {
 protected:
  Scheduler sched_{SchedulerOptions{.workers = 2}};
  stealio::Loop& loop_ = sched_.loop(0);
};

template <class E, class F>
std::string message_of(F fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  return "<no exception>";
}

TEST_F(FutureTest, InitialState) {
  Future<int> f(loop_);
  EXPECT_FALSE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(&f.get_loop(), &loop_);
  EXPECT_EQ(message_of<InvalidStateError>([&] { f.result(); }), "Result is not set.");
  EXPECT_EQ(message_of<InvalidStateError>([&] { f.exception(); }), "Exception is not set.");
}

TEST_F(FutureTest, ConstructorWithoutRunningLoopRaises) {
  EXPECT_EQ(message_of<RuntimeError>([] { Future<int> f; }), "no running event loop");
}

TEST_F(FutureTest, Cancel) {
  Future<int> f(loop_);
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(f.cancelled());
  EXPECT_TRUE(f.done());
  EXPECT_THROW(f.result(), CancelledError);
  EXPECT_THROW(f.exception(), CancelledError);
  EXPECT_EQ(message_of<InvalidStateError>([&] { f.set_result(1); }),
            "CANCELLED: <Future cancelled>");
  EXPECT_THROW(f.set_exception(std::runtime_error("x")), InvalidStateError);
  EXPECT_FALSE(f.cancel());
}

TEST_F(FutureTest, CancelMessageReachesCancelledError) {
  Future<int> f(loop_);
  f.cancel("my message");
  EXPECT_EQ(message_of<CancelledError>([&] { f.result(); }), "my message");
}

TEST_F(FutureTest, Result) {
  Future<int> f(loop_);
  f.set_result(42);
  EXPECT_FALSE(f.cancelled());
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.result(), 42);
  EXPECT_EQ(f.exception(), nullptr);
  EXPECT_EQ(message_of<InvalidStateError>([&] { f.set_result(2); }),
            "FINISHED: <Future finished>");
  EXPECT_FALSE(f.cancel());
  EXPECT_EQ(f.result(), 42);
}

TEST_F(FutureTest, Exception) {
  Future<int> f(loop_);
  f.set_exception(std::runtime_error("bad"));
  EXPECT_TRUE(f.done());
  EXPECT_EQ(message_of<std::runtime_error>([&] { f.result(); }), "bad");
  EXPECT_NE(f.exception(), nullptr);
  EXPECT_THROW(f.set_result(1), InvalidStateError);
  EXPECT_FALSE(f.cancel());
}

TEST_F(FutureTest, VoidAndMoveOnly) {
  Future<void> v(loop_);
  v.set_result();
  EXPECT_NO_THROW(v.result());
  Future<std::unique_ptr<int>> m(loop_);
  m.set_result(std::make_unique<int>(4));
  EXPECT_EQ(*m.result(), 4);
}

TEST_F(FutureTest, CallbacksNeverRunInsideSetResultAndRunInOrder) {
  Future<int> f(loop_);
  auto order = std::make_shared<std::vector<int>>();
  std::promise<void> all_ran;
  run_on(loop_, [&] {
    for (int i = 0; i < 3; ++i) f.add_done_callback([order, i] { order->push_back(i); });
    f.add_done_callback([order, &all_ran] { all_ran.set_value(); });
    f.set_result(1);
    // This worker is busy here, so nothing scheduled on its loop has run yet.
    EXPECT_TRUE(order->empty());
  });
  all_ran.get_future().wait();
  EXPECT_EQ(*order, (std::vector<int>{0, 1, 2}));
}

TEST_F(FutureTest, CallbackOnDoneFutureIsScheduledNotRunInline) {
  Future<int> f(loop_);
  f.set_result(3);
  std::promise<int> seen;
  auto ran = std::make_shared<std::atomic<bool>>(false);
  run_on(loop_, [&] {
    f.add_done_callback([&seen, ran](Future<int>& done) {
      *ran = true;
      seen.set_value(done.result());
    });
    EXPECT_FALSE(*ran);
  });
  EXPECT_EQ(seen.get_future().get(), 3);
}

TEST_F(FutureTest, CallbacksRunOnTheFuturesLoop) {
  Future<int> f(sched_.loop(1));
  std::promise<int> where;
  f.add_done_callback([&] { where.set_value(stealio::get_running_loop().index()); });
  f.set_result(0);  // from the test thread
  EXPECT_EQ(where.get_future().get(), 1);
}

TEST_F(FutureTest, RemoveDoneCallbackRemovesEveryRegistrationOfAnId) {
  Future<int> f(loop_);
  std::atomic<int> removed_ran{0};
  stealio::CallbackId id = f.add_done_callback([&] { ++removed_ran; });
  f.add_done_callback([&] { ++removed_ran; }, std::nullopt, id);
  std::promise<void> kept;
  f.add_done_callback([&] { kept.set_value(); });
  EXPECT_EQ(f.remove_done_callback(id), 2u);
  EXPECT_EQ(f.remove_done_callback(id), 0u);
  f.set_result(1);
  kept.get_future().wait();
  // The loop ran callbacks in order: had the removed ones stayed, they would have run first.
  EXPECT_EQ(removed_ran.load(), 0);
}

TEST_F(FutureTest, DroppedPendingFutureDestroysItsCallbacksWithoutRunningThem) {
  // Each callback owns a shared_ptr: the future's last handle going away while it is pending
  // must destroy the callbacks (ASan reports them as leaked otherwise) and run none.
  auto token = std::make_shared<int>(0);
  std::atomic<int> ran{0};
  {
    Future<int> f(loop_);
    for (int i = 0; i < 3; ++i) f.add_done_callback([token, &ran] { ++ran; });
    EXPECT_EQ(token.use_count(), 4);
  }
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_EQ(ran.load(), 0);
}

TEST_F(FutureTest, CallbackRunsInTheContextCapturedWhenAdded) {
  stealio::ContextVar<int> var("var", 0);
  Future<int> f(loop_);
  std::promise<int> seen;
  var.set(5);
  f.add_done_callback([&] { seen.set_value(var.get()); });
  var.set(6);
  f.set_result(0);
  EXPECT_EQ(seen.get_future().get(), 5);
}

struct Reports {
  std::mutex mu;
  std::vector<std::string> messages;
  void install(Scheduler& s) {
    s.set_exception_handler([this](const stealio::ExceptionContext& c) {
      std::lock_guard<std::mutex> l(mu);
      messages.push_back(c.message);
    });
  }
  std::vector<std::string> get() {
    std::lock_guard<std::mutex> l(mu);
    return messages;
  }
};

TEST_F(FutureTest, UnretrievedExceptionIsReported) {
  Reports reports;
  reports.install(sched_);
  {
    Future<int> f(loop_);
    f.set_exception(std::runtime_error("lost"));
  }
  EXPECT_EQ(reports.get(), std::vector<std::string>{"Future exception was never retrieved"});
  {
    Future<int> f(loop_);
    f.set_exception(std::runtime_error("seen"));
    EXPECT_NE(f.exception(), nullptr);
  }
  EXPECT_EQ(reports.get().size(), 1u);
}

TEST_F(FutureTest, RacingCompletersExactlyOneWins) {
  for (int round = 0; round < 200; ++round) {
    Future<int> f(loop_);
    std::atomic<int> wins{0}, errors{0};
    std::latch start(3);
    auto racer = [&](int v) {
      start.arrive_and_wait();
      try {
        if (v < 0) {
          if (f.cancel()) ++wins; else ++errors;
        } else {
          f.set_result(v);
          ++wins;
        }
      } catch (const InvalidStateError&) {
        ++errors;
      }
    };
    std::thread a(racer, 1), b(racer, 2), c(racer, -1);
    a.join();
    b.join();
    c.join();
    EXPECT_EQ(wins.load(), 1);
    EXPECT_EQ(errors.load(), 2);
  }
}

Coro<int> await_future(Future<int> f) { co_return co_await f + 1; }

TEST_F(FutureTest, TasksOnAnyWorkerAwaitIt) {
  Future<int> f(loop_);
  std::vector<stealio::Task<int>> tasks;
  for (int i = 0; i < 8; ++i) {
    tasks.push_back(sched_.loop(i % 2).create_task(await_future(f)));
  }
  f.set_result(1);
  for (auto& t : tasks) {
    t.wait();
    EXPECT_EQ(t.result(), 2);
  }
}

TEST_F(FutureTest, AwaitingAFutureOfAnotherSchedulerRaises) {
  Scheduler other(SchedulerOptions{.workers = 1});
  Future<int> foreign(other.loop(0));
  try {
    sched_.run(await_future(foreign));
    FAIL() << "no exception";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("attached to a different loop"), std::string::npos);
  }
}

TEST_F(FutureTest, BlockingWaitOnAWorkerRaises) {
  Future<int> f(loop_);
  EXPECT_THROW(run_on(loop_, [&] { f.wait(); }), RuntimeError);
  EXPECT_FALSE(f.wait_for(absl::Milliseconds(1)));
  f.set_result(1);
  EXPECT_TRUE(f.wait_for(absl::Seconds(10)));
}

}  // namespace
