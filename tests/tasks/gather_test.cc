// Tests of stealio/gather.h: the gather cases of CPython's test_tasks.py (GatherTestsBase,
// FutureGatherTests, CoroutineGatherTests), ported, and gathers on several workers.
#include "stealio/gather.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "stealio/sleep.h"
#include "stealio/task.h"
#include "time_test_util.h"

namespace {

using stealio::CancelledError;
using stealio::Coro;
using stealio::Future;
using stealio::Outcome;
using stealio::Task;
using time_test::kLong;
using time_test::outcome;
using time_test::outcome_of;
using time_test::run_briefly;
using time_test::run_test;
using time_test::run_workers;
using time_test::wait_future;

std::string outcome_text(const Outcome<int>& o) {
  return o.index() == 0 ? "value" : outcome_of(std::get<1>(o));
}

// (A braced initializer list inside a coroutine trips g++ 12: "array used as initializer".)
template <class... Fs>
std::vector<Future<int>> futs(Fs... fs) {
  return std::vector<Future<int>>{fs...};
}

TEST(Gather, EmptyGivesAnEmptyResult) {
  run_test([]() -> Coro<void> {
    std::tuple<> none = co_await stealio::gather();
    (void)none;
    std::vector<int> empty = co_await stealio::gather(std::vector<Coro<int>>());
    EXPECT_TRUE(empty.empty());
  }());
}

TEST(Gather, ResultsComeInArgumentOrder) {
  run_test([]() -> Coro<void> {
    Future<int> a, b, c;
    Task<std::vector<int>> t = stealio::create_task(stealio::gather(futs(a, b, c)));
    co_await run_briefly();
    EXPECT_FALSE(t.done());
    b.set_result(1);
    a.set_result(0);
    co_await run_briefly();
    EXPECT_FALSE(t.done());
    c.set_result(3);
    std::vector<int> r = co_await t;
    EXPECT_EQ(r, (std::vector<int>{0, 1, 3}));
  }());
}

TEST(Gather, MixedTypesGiveATuple) {
  run_test([]() -> Coro<void> {
    auto s = []() -> Coro<std::string> { co_return "x"; };
    auto v = []() -> Coro<void> { co_return; };
    Future<int> f;
    f.set_result(5);
    auto [a, b, c] = co_await stealio::gather(s(), v(), f);
    EXPECT_EQ(a, "x");
    EXPECT_EQ(b, std::monostate{});
    EXPECT_EQ(c, 5);
  }());
}

TEST(Gather, OneExceptionIsRaisedAndTheOthersGoOn) {
  run_test([]() -> Coro<void> {
    Future<int> a, b, c, d, e;
    Task<std::vector<int>> t = stealio::create_task(stealio::gather(futs(a, b, c, d, e)));
    co_await run_briefly();
    a.set_result(1);
    b.set_exception(stealio::ValueError("boom"));
    co_await run_briefly();
    EXPECT_TRUE(t.done());
    EXPECT_EQ(co_await outcome(stealio::internal::as_coro(t)), "boom");
    c.set_result(3);
    d.cancel();
    e.set_exception(stealio::ValueError("later"));  // marked retrieved by gather: no report
    EXPECT_FALSE(c.cancelled());
    co_await run_briefly();
  }());
}

TEST(Gather, ReturnExceptionsCollectsThem) {
  run_test([]() -> Coro<void> {
    Future<int> a, b, c, d;
    Task<std::vector<Outcome<int>>> t =
        stealio::create_task(stealio::gather(stealio::return_exceptions, futs(a, b, c, d)));
    co_await run_briefly();
    c.set_exception(stealio::ValueError("c"));
    a.set_exception(stealio::ValueError("a"));
    b.set_result(1);
    co_await run_briefly();
    EXPECT_FALSE(t.done());
    d.set_exception(stealio::ValueError("d"));
    std::vector<Outcome<int>> r = co_await t;
    EXPECT_EQ(r.size(), 4u);
    EXPECT_EQ(outcome_text(r[0]), "a");
    EXPECT_EQ(std::get<0>(r[1]), 1);
    EXPECT_EQ(outcome_text(r[2]), "c");
    EXPECT_EQ(outcome_text(r[3]), "d");
  }());
}

TEST(Gather, ACancelledChildMakesItRaiseCancelledError) {
  run_test([]() -> Coro<void> {
    Future<int> a, b, c;
    Task<std::vector<int>> t = stealio::create_task(stealio::gather(futs(a, b, c)));
    co_await run_briefly();
    a.set_result(1);
    b.cancel("child msg");
    co_await run_briefly();
    EXPECT_TRUE(t.done());
    EXPECT_EQ(co_await outcome(stealio::internal::as_coro(t)), "cancelled");
    c.set_result(3);
  }());
}

TEST(Gather, ACancelledChildIsACancelledErrorUnderReturnExceptions) {
  run_test([]() -> Coro<void> {
    Future<int> a, b, c;
    Task<std::vector<Outcome<int>>> t =
        stealio::create_task(stealio::gather(stealio::return_exceptions, futs(a, b, c)));
    co_await run_briefly();
    a.set_result(1);
    b.cancel("why");
    c.set_exception(stealio::ValueError("c"));
    std::vector<Outcome<int>> r = co_await t;
    EXPECT_EQ(std::get<0>(r[0]), 1);
    EXPECT_EQ(outcome_text(r[1]), "cancelled");
    try {
      std::rethrow_exception(std::get<1>(r[1]));
    } catch (const CancelledError& e) {
      EXPECT_STREQ(e.what(), "why");
    }
    EXPECT_EQ(outcome_text(r[2]), "c");
  }());
}

TEST(Gather, CancellingTheGatherCancelsItsChildren) {
  for (bool return_exceptions : {false, true}) {
    run_test([](bool rx) -> Coro<void> {
      Future<int> never;
      Task<int> a = stealio::create_task(wait_future(never));
      Task<int> b = stealio::create_task(time_test::sleep_then(kLong, 2));
      Task<void> g = stealio::create_task([](Task<int> a, Task<int> b, bool rx) -> Coro<void> {
        if (rx) {
          co_await stealio::gather(stealio::return_exceptions, a, b);
        } else {
          co_await stealio::gather(a, b);
        }
      }(a, b, rx));
      co_await run_briefly();
      EXPECT_TRUE(g.cancel());
      // bpo-32684: the gather raises CancelledError even with return_exceptions.
      EXPECT_EQ(co_await outcome(stealio::internal::as_coro(g)), "cancelled");
      EXPECT_TRUE(g.cancelled());
      co_await run_briefly();  // without return_exceptions the gather ends at the first
      EXPECT_TRUE(a.cancelled());
      EXPECT_TRUE(b.cancelled());
      EXPECT_TRUE(never.cancelled());  // a was awaiting it
    }(return_exceptions));
  }
}

TEST(Gather, CancellingItWhenEveryChildIsDoneCancelsTheTask) {
  run_test([]() -> Coro<void> {
    Future<int> a;
    Task<void> g = stealio::create_task([](Future<int> a) -> Coro<void> {
      co_await stealio::gather(a);
      co_await stealio::sleep(kLong);
    }(a));
    co_await run_briefly();
    a.set_result(1);
    co_await run_briefly();
    EXPECT_FALSE(g.done());
    g.cancel();
    EXPECT_EQ(co_await outcome(stealio::internal::as_coro(g)), "cancelled");
  }());
}

TEST(Gather, CoroutinesBecomeTasksInArgumentOrder) {
  run_workers(1, []() -> Coro<void> {
    std::vector<int> order;
    auto rec = [&](int i) -> Coro<int> {
      order.push_back(i);
      co_return i * 10;
    };
    std::vector<Coro<int>> cs;
    for (int i = 0; i < 4; ++i) cs.push_back(rec(i));
    std::vector<int> r = co_await stealio::gather(std::move(cs));
    EXPECT_EQ(r, (std::vector<int>{0, 10, 20, 30}));
    EXPECT_EQ(order.size(), 4u);
  }());
}

TEST(Gather, MoveOnlyResults) {
  run_test([]() -> Coro<void> {
    auto mk = [](int v) -> Coro<std::unique_ptr<int>> { co_return std::make_unique<int>(v); };
    auto [a, b] = co_await stealio::gather(mk(1), mk(2));
    EXPECT_EQ(*a, 1);
    EXPECT_EQ(*b, 2);
  }());
}

TEST(Gather, TheSameTaskTwice) {
  run_test([]() -> Coro<void> {
    Task<int> t = stealio::create_task(time_test::sleep_then(absl::Milliseconds(1), 4));
    auto [a, b] = co_await stealio::gather(t, t);
    EXPECT_EQ(a, 4);
    EXPECT_EQ(b, 4);
  }());
}

TEST(GatherWorkers, ManyChildrenOnEveryWorker) {
  run_workers(4, []() -> Coro<void> {
    std::vector<Coro<int>> cs;
    for (int i = 0; i < 500; ++i) {
      cs.push_back([](int i) -> Coro<int> {
        for (int k = 0; k < i % 4; ++k) co_await stealio::yield();
        if (i % 7 == 0) co_await stealio::sleep(absl::Microseconds(100));
        co_return i;
      }(i));
    }
    std::vector<int> r = co_await stealio::gather(std::move(cs));
    for (int i = 0; i < 500; ++i) EXPECT_EQ(r[i], i);
  }());
}

TEST(GatherWorkers, CancellingANestedGatherReachesEveryLeaf) {
  run_workers(4, []() -> Coro<void> {
    auto leaf = []() -> Coro<int> { co_return co_await time_test::sleep_then(kLong, 0); };
    auto mid = [leaf]() -> Coro<void> {
      std::vector<Coro<int>> cs;
      for (int i = 0; i < 20; ++i) cs.push_back(leaf());
      co_await stealio::gather(std::move(cs));
    };
    std::vector<Coro<void>> mids;
    for (int i = 0; i < 10; ++i) mids.push_back(mid());
    Task<void> top = stealio::create_task([](std::vector<Coro<void>> m) -> Coro<void> {
      co_await stealio::gather(std::move(m));
    }(std::move(mids)));
    co_await stealio::sleep(absl::Milliseconds(5));
    top.cancel();
    EXPECT_EQ(co_await outcome(stealio::internal::as_coro(top)), "cancelled");
    // The gather raised at the first cancelled child; the other leaves finish their
    // cancellation on their own, soon: none is left but this main task.
    stealio::Scheduler& sched = stealio::get_running_loop().scheduler();
    for (int i = 0; i < 10000 && sched.all_tasks().size() > 1; ++i) {
      co_await stealio::sleep(absl::Milliseconds(1));
    }
    EXPECT_EQ(sched.all_tasks().size(), 1u);
  }());
}

}  // namespace

namespace {

// Regression: a gather with return_exceptions that ends cancelled read no child's exception, so
// a child that failed while being cancelled was reported as "Task exception was never
// retrieved" (asyncio's _done_callback reads them all).
TEST(Gather, ACancelledGatherRetrievesTheChildrensExceptions) {
  std::vector<std::string> reports;
  {
    stealio::Scheduler sched(stealio::SchedulerOptions{.workers = 1, .eager_start = true});
    sched.set_exception_handler(
        [&reports](const stealio::ExceptionContext& c) { reports.push_back(c.message); });
    sched.run([]() -> Coro<void> {
      auto fails_when_cancelled = []() -> Coro<int> {
        try {
          co_await stealio::sleep(kLong);
        } catch (...) {
        }
        throw stealio::ValueError("late");
      };
      Task<int> child = stealio::create_task(fails_when_cancelled());
      Task<void> g = stealio::create_task([](Task<int> c) -> Coro<void> {
        co_await stealio::gather(stealio::return_exceptions, c);
      }(child));
      co_await run_briefly();
      g.cancel();
      EXPECT_EQ(co_await outcome(stealio::internal::as_coro(g)), "cancelled");
    }());
  }
  EXPECT_TRUE(reports.empty()) << reports.front();
}

}  // namespace
