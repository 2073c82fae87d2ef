// Coro<T>: laziness, inline awaiting, result kinds, exceptions, symmetric transfer.
#include "stealio/coro.h"

#include <gtest/gtest.h>

#include <memory>

#include "stealio/stealio.h"

namespace {

using stealio::Coro;
using stealio::Scheduler;
using stealio::SchedulerOptions;

Coro<int> set_flag(bool& flag) {
  flag = true;
  co_return 1;
}

TEST(Coro, IsLazy) {
  bool ran = false;
  Coro<int> c = set_flag(ran);
  EXPECT_FALSE(ran);
  Scheduler sched(SchedulerOptions{.workers = 1});
  EXPECT_EQ(sched.run(std::move(c)), 1);
  EXPECT_TRUE(ran);
}

Coro<stealio::TaskRef> which_task() { co_return stealio::current_task(); }

Coro<bool> awaits_inline() {
  stealio::TaskRef outer = stealio::current_task();
  stealio::TaskRef inner = co_await which_task();
  co_return outer && outer == inner;
}

TEST(Coro, AwaitRunsInlineInTheSameTask) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  EXPECT_TRUE(sched.run(awaits_inline()));
}

Coro<void> nothing() { co_return; }
Coro<std::unique_ptr<int>> boxed(int v) { co_return std::make_unique<int>(v); }
Coro<int&> ref_to(int& x) { co_return x; }

Coro<int> uses_kinds() {
  co_await nothing();
  std::unique_ptr<int> p = co_await boxed(5);
  static int target = 0;
  int& r = co_await ref_to(target);
  r = 7;
  co_return *p + target;
}

TEST(Coro, VoidMoveOnlyAndReferenceResults) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  EXPECT_EQ(sched.run(uses_kinds()), 12);
  std::unique_ptr<int> p = sched.run(boxed(3));
  EXPECT_EQ(*p, 3);
}

struct Boom : std::runtime_error {
  using std::runtime_error::runtime_error;
};
Coro<int> level3() {
  throw Boom("deep");
  co_return 0;
}
Coro<int> level2() { co_return co_await level3() + 1; }
Coro<int> level1() { co_return co_await level2() + 1; }

TEST(Coro, ExceptionsPropagateThroughThreeLevels) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  try {
    sched.run(level1());
    FAIL() << "no exception";
  } catch (const Boom& e) {
    EXPECT_STREQ(e.what(), "deep");
  }
}

Coro<int> depth(int n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await depth(n - 1);
}

// Symmetric transfer keeps the stack flat only where g++ turns the resume into a tail call. The
// sanitizers' instrumentation prevents that (ASan's stack checks; TSan's function-exit hooks,
// whose own shadow stack is capped at 65,536 frames), so sanitizer builds check a shorter chain;
// the full million runs in the normal build.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kChainDepth = 1'000;
#else
constexpr int kChainDepth = 1'000'000;
#endif

TEST(Coro, MillionNestedAwaitsDoNotOverflowTheStack) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  EXPECT_EQ(sched.run(depth(kChainDepth)), kChainDepth);
}

TEST(Coro, DestroyingAnUnstartedCoroutineRunsNothing) {
  bool ran = false;
  { Coro<int> c = set_flag(ran); }
  EXPECT_FALSE(ran);
}

}  // namespace
