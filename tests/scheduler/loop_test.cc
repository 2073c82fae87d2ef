// Loop: call_soon / call_soon_threadsafe / call_later / call_at, TimerHandle, the running loop,
// closing, and the per-loop counters.
#include "stealio/loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "scheduler/internal/scheduler_core.h"
#include "scheduler/internal/timer.h"
#include "stealio/errors.h"
#include "stealio/scheduler.h"
#include "test_support.h"

namespace {

using namespace std::chrono_literals;
using stealio::Loop;
using stealio::RuntimeError;
using stealio::Scheduler;
using stealio::SchedulerOptions;
using stealio::TaskRef;
using stealio::TimePoint;
using stealio::TimerHandle;
using stealio_test::eventually;
using stealio_test::get_within;
using stealio_test::kWaitLimit;
using stealio_test::run_on;



bool all_parked(Scheduler& s) { return s.core().idle().sleeping() == s.workers(); }
// All workers are sleepers and `loop` has parked more than `parks` times. A worker becomes a
// sleeper a moment before it counts the park (and may still back out), so `sleeping()` alone
// can be seen before the count moves.
bool parked_after(Scheduler& s, Loop& loop, std::uint64_t parks) {
  return all_parked(s) && loop.stats().parks > parks;
}


// A task whose step runs a function (no lifetime protocol: these tests only count steps).
class FnTask final : public stealio::TaskBase {
 public:
  FnTask(Loop& loop, std::function<void()> fn) : TaskBase(loop), fn_(std::move(fn)) {}
  void step() override { fn_(); }

 private:
  std::function<void()> fn_;
};

TEST(Loop, CallSoonRunsInFifoOrderOnTheLoopsWorkerOnly) {
  Scheduler sched(SchedulerOptions{.workers = 3});
  constexpr int kN = 200;
  for (int i = 0; i < sched.workers(); ++i) {
    Loop& loop = sched.loop(i);
    std::vector<int> order;
    std::vector<const Loop*> where;
    std::promise<void> done;
    std::future<void> done_f = done.get_future();
    run_on(loop, [&] {
      for (int k = 0; k < kN; ++k) {
        loop.call_soon([&, k] {
          order.push_back(k);
          where.push_back(stealio::get_running_loop_or_null());
          if (k == kN - 1) done.set_value();
        });
      }
    });
    get_within(done_f);
    ASSERT_EQ(order.size(), static_cast<std::size_t>(kN));
    for (int k = 0; k < kN; ++k) {
      EXPECT_EQ(order[static_cast<std::size_t>(k)], k);
      EXPECT_EQ(where[static_cast<std::size_t>(k)], &loop) << "callback " << k << " of loop " << i;
    }
  }
}

// asyncio runs the callbacks ready when a batch starts; those they schedule wait for the next.
TEST(Loop, CallbacksScheduledByACallbackRunAfterTheOnesAlreadyQueued) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  Loop& loop = sched.loop(0);
  std::vector<char> order;
  std::promise<void> done;
  std::future<void> done_f = done.get_future();
  run_on(loop, [&] {
    loop.call_soon([&] {
      order.push_back('A');
      loop.call_soon([&] {
        order.push_back('B');
        done.set_value();
      });
    });
    loop.call_soon([&] { order.push_back('C'); });
  });
  get_within(done_f);
  EXPECT_EQ(order, (std::vector<char>{'A', 'C', 'B'}));
}

TEST(Loop, CallSoonFromAnotherThreadRaises) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  Loop& loop = sched.loop(0);
  std::atomic<bool> ran{false};
  const char* kText = "Non-thread-safe operation invoked on an event loop other than the current one";
  try {
    loop.call_soon([&] { ran = true; });
    FAIL() << "call_soon from a non-worker thread did not raise";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), kText);
  }
  // From the worker of another loop too. Caught there: an exception_ptr handed across threads
  // is reference-counted inside libstdc++, where TSan cannot see it.
  std::string from_worker = run_on(sched.loop(1), [&]() -> std::string {
    try {
      loop.call_soon([&] { ran = true; });
    } catch (const RuntimeError& e) {
      return e.what();
    }
    return "no exception";
  });
  EXPECT_EQ(from_worker, kText);
  run_on(loop, [] {});  // a full turn of loop 0: a queued callback would have run
  EXPECT_FALSE(ran.load());
}

TEST(Loop, CallSoonThreadsafeFromManyThreadsAllRunInPerThreadOrder) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  Loop& loop = sched.loop(1);
  constexpr int kThreads = 8;
  constexpr int kEach = 500;
  std::vector<int> last(kThreads, -1);  // touched only on loop 1's worker
  std::atomic<int> count{0};
  std::atomic<int> wrong_loop{0};
  std::atomic<int> out_of_order{0};
  std::promise<void> done;
  std::future<void> done_f = done.get_future();
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int p = 0; p < kThreads; ++p) {
    threads.emplace_back([&, p] {
      start.arrive_and_wait();
      for (int k = 0; k < kEach; ++k) {
        loop.call_soon_threadsafe([&, p, k] {
          if (!loop.is_running_here()) wrong_loop.fetch_add(1);
          if (last[static_cast<std::size_t>(p)] != k - 1) out_of_order.fetch_add(1);
          last[static_cast<std::size_t>(p)] = k;
          if (count.fetch_add(1) + 1 == kThreads * kEach) done.set_value();
        });
      }
    });
  }
  for (std::thread& t : threads) t.join();
  get_within(done_f);
  EXPECT_EQ(count.load(), kThreads * kEach);
  EXPECT_EQ(wrong_loop.load(), 0);
  EXPECT_EQ(out_of_order.load(), 0);
}

TEST(Loop, CallLaterFromOutsideFiresOnTheLoopAfterItsDeadline) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  Loop& loop = sched.loop(1);
  std::promise<std::pair<TimePoint, const Loop*>> fired;
  auto fired_f = fired.get_future();
  TimePoint before = loop.time();
  TimerHandle h = loop.call_later(absl::Milliseconds(20), [&] {
    fired.set_value({loop.time(), stealio::get_running_loop_or_null()});
  });
  TimePoint after = loop.time();
  EXPECT_GE(h.when(), before + 20ms);
  EXPECT_LE(h.when(), after + 20ms);
  auto [at, where] = get_within(fired_f);
  EXPECT_GE(at, h.when());
  EXPECT_EQ(where, &loop);
  EXPECT_FALSE(h.cancelled());
}

TEST(Loop, CallAtFromTheWorkerFires) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  Loop& loop = sched.loop(0);
  std::promise<TimePoint> fired;
  auto fired_f = fired.get_future();
  TimePoint when = loop.time() + 5ms;
  TimerHandle h = run_on(loop, [&] { return loop.call_at(when, [&] { fired.set_value(loop.time()); }); });
  EXPECT_EQ(h.when(), when);
  EXPECT_GE(get_within(fired_f), when);
}

TEST(Loop, TimersFireInDeadlineOrderThenArmingOrder) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  Loop& loop = sched.loop(0);
  std::vector<int> order;  // loop 0's worker only
  std::promise<void> done;
  auto done_f = done.get_future();
  // Armed out of order in one callback (so none fires before the last is armed, however slow
  // the machine); 2 and 3 share a deadline and keep their arming order.
  run_on(loop, [&] {
    TimePoint base = loop.time() + 5ms;
    const int offsets_ms[] = {40, 10, 30, 20, 20, 0};
    const int ids[] = {5, 1, 4, 2, 3, 0};
    for (int i = 0; i < 6; ++i) {
      loop.call_at(base + std::chrono::milliseconds(offsets_ms[i]), [&, id = ids[i]] {
        order.push_back(id);
        if (order.size() == 6) done.set_value();
      });
    }
  });
  get_within(done_f);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

TEST(Loop, TimerHandleDefaultsAndCancel) {
  TimerHandle none;
  EXPECT_FALSE(none.cancelled());
  EXPECT_EQ(none.when(), TimePoint());
  none.cancel();  // no-op
  EXPECT_FALSE(none.cancelled());

  Scheduler sched(SchedulerOptions{.workers = 1});
  Loop& loop = sched.loop(0);
  TimePoint when = loop.time() + 1h;
  TimerHandle h = loop.call_at(when, [] {});
  TimerHandle copy = h;
  EXPECT_FALSE(h.cancelled());
  copy.cancel();  // copies name one timer
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(h.when(), when);
  h.cancel();  // idempotent
  EXPECT_TRUE(h.cancelled());
}

// The loop's worker is held on a latch while another thread cancels, so the cancel certainly
// comes before the deadline is seen. A sentinel armed for the same instant fires after the
// cancelled timers would have (equal deadlines fire in arming order).
TEST(Loop, CancelFromAnotherThreadPreventsTheCallback) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  Loop& loop = sched.loop(0);
  std::atomic<bool> ran_outside{false};
  std::atomic<bool> ran_inside{false};
  TimePoint when = loop.time() + 1ms;
  std::promise<TimerHandle> inside_p;
  auto inside_f = inside_p.get_future();
  std::latch blocked(1);
  std::latch unblock(1);
  // Arms a timer on the worker itself, then holds the worker: nothing fires until released.
  loop.call_soon_threadsafe([&] {
    inside_p.set_value(loop.call_at(when, [&] { ran_inside = true; }));
    blocked.count_down();
    unblock.wait();
  });
  blocked.wait();
  TimerHandle inside = inside_f.get();
  TimerHandle outside = loop.call_at(when, [&] { ran_outside = true; });
  std::thread([&] {
    inside.cancel();
    outside.cancel();
  }).join();
  EXPECT_TRUE(inside.cancelled());
  EXPECT_TRUE(outside.cancelled());
  std::promise<void> sentinel;
  auto sentinel_f = sentinel.get_future();
  loop.call_at(when, [&] { sentinel.set_value(); });
  unblock.count_down();
  get_within(sentinel_f);
  EXPECT_FALSE(ran_inside.load());
  EXPECT_FALSE(ran_outside.load());
}

// Cancels racing the deadline: for every timer exactly one of "ran" and "cancelled()" holds.
TEST(Loop, CancelRacingTheDeadlineEitherWinsOrLosesCleanly) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  Loop& loop = sched.loop(1);
  constexpr int kTimers = 300;
  std::vector<std::atomic<int>> ran(kTimers);
  std::vector<TimerHandle> handles;
  TimePoint base = loop.time();
  TimePoint latest = base;
  for (int i = 0; i < kTimers; ++i) {
    TimePoint when = base + std::chrono::microseconds(10 * i);
    latest = std::max(latest, when);
    handles.push_back(loop.call_at(when, [&ran, i] { ran[static_cast<std::size_t>(i)]++; }));
  }
  std::thread canceller([&] {
    for (int i = 0; i < kTimers; i += 2) handles[static_cast<std::size_t>(i)].cancel();
  });
  for (int i = kTimers - 1; i >= 0; i -= 2) handles[static_cast<std::size_t>(i)].cancel();
  canceller.join();
  std::promise<void> sentinel;
  auto sentinel_f = sentinel.get_future();
  loop.call_at(latest, [&] { sentinel.set_value(); });
  get_within(sentinel_f);
  for (int i = 0; i < kTimers; ++i) {
    int r = ran[static_cast<std::size_t>(i)].load();
    bool c = handles[static_cast<std::size_t>(i)].cancelled();
    EXPECT_LE(r, 1) << i;
    EXPECT_NE(r == 1, c) << "timer " << i << ": ran=" << r << " cancelled=" << c;
  }
}

TEST(Loop, CallSoonThreadsafeFromItsOwnWorkerRuns) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  Loop& loop = sched.loop(0);
  std::promise<const Loop*> ran;
  auto ran_f = ran.get_future();
  // No unpark is needed (the worker is awake), but the inbox must still be drained.
  run_on(loop, [&] {
    loop.call_soon_threadsafe([&] { ran.set_value(stealio::get_running_loop_or_null()); });
  });
  EXPECT_EQ(get_within(ran_f), &loop);
}

// Whitebox: the heap behind call_later. Cancelled entries never come out, and once more than
// half of the heap is cancelled it is rebuilt without them (checked every 1024 additions).
TEST(TimerHeap, DropsCancelledEntriesAndCompacts) {
  stealio::internal::TimerHeap heap;
  std::vector<std::shared_ptr<stealio::internal::TimerState>> states;
  const TimePoint base = stealio::Clock::now();
  std::vector<int> fired;
  for (int i = 0; i < 1023; ++i) {
    stealio::Callback fn = [&fired, i] { fired.push_back(i); };
    auto st = std::make_shared<stealio::internal::TimerState>(base + std::chrono::microseconds(i),
                                                             std::move(fn));
    states.push_back(st);
    heap.add(st);
  }
  for (int i = 0; i < 1023; ++i) {
    if (i % 4 != 0) {
      EXPECT_TRUE(states[static_cast<std::size_t>(i)]->cancel());
    }
  }
  EXPECT_EQ(heap.size(), 1023u);
  // The 1024th addition triggers the check: 256 live of 1024 -> compacted.
  stealio::Callback nothing = [] {};
  auto last = std::make_shared<stealio::internal::TimerState>(base + 1h, std::move(nothing));
  heap.add(last);
  EXPECT_EQ(heap.size(), 256u + 1u);
  ASSERT_TRUE(heap.next_deadline().has_value());
  EXPECT_EQ(*heap.next_deadline(), base);
  std::vector<stealio::Callback> due;
  heap.pop_due(base + 2000us, due);
  for (auto& fn : due) fn();
  ASSERT_EQ(fired.size(), 256u);
  for (std::size_t k = 0; k < fired.size(); ++k) EXPECT_EQ(fired[k], static_cast<int>(4 * k));
  // Fired entries are claimed: a late cancel loses.
  EXPECT_FALSE(states[0]->cancel());
  EXPECT_FALSE(states[0]->is_cancelled());
  EXPECT_EQ(heap.size(), 1u);
  EXPECT_EQ(*heap.next_deadline(), base + 1h);
  last->cancel();
  EXPECT_FALSE(heap.next_deadline().has_value());
  EXPECT_TRUE(heap.empty());
}

TEST(Loop, TimerArmedFromOutsideWakesAParkedWorker) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  Loop& loop = sched.loop(0);
  ASSERT_TRUE(eventually([&] { return parked_after(sched, loop, 0); }));
  std::uint64_t parks_before = loop.stats().parks;
  std::promise<std::uint64_t> fired;
  auto fired_f = fired.get_future();
  TimerHandle h = loop.call_later(absl::Milliseconds(30), [&] { fired.set_value(loop.stats().parks); });
  std::uint64_t parks_at_fire = get_within(fired_f);
  // The worker woke for the inbox, armed the timer, slept again until the deadline.
  EXPECT_GT(parks_at_fire, parks_before);
}

TEST(Loop, TimerArmedOnTheWorkerFiresAfterItParks) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  Loop& loop = sched.loop(1);
  std::promise<std::uint64_t> fired;
  auto fired_f = fired.get_future();
  std::uint64_t parks_at_arm = run_on(loop, [&] {
    loop.call_later(absl::Milliseconds(30), [&] { fired.set_value(loop.stats().parks); });
    return loop.stats().parks;
  });
  // Nothing else to do: the worker parks with the timer's deadline, and the deadline wakes it.
  EXPECT_GT(get_within(fired_f), parks_at_arm);
}

TEST(Loop, GetRunningLoopInsideAndOutsideWorkers) {
  Scheduler sched(SchedulerOptions{.workers = 3});
  for (int i = 0; i < sched.workers(); ++i) {
    Loop& loop = sched.loop(i);
    EXPECT_EQ(loop.index(), i);
    EXPECT_EQ(&loop.scheduler(), &sched);
    EXPECT_FALSE(loop.is_running_here());
    run_on(loop, [&] {
      EXPECT_EQ(&stealio::get_running_loop(), &loop);
      EXPECT_EQ(stealio::get_running_loop_or_null(), &loop);
      EXPECT_TRUE(loop.is_running_here());
      EXPECT_FALSE(sched.loop((i + 1) % 3).is_running_here());
    });
  }
  EXPECT_EQ(stealio::get_running_loop_or_null(), nullptr);
  try {
    stealio::get_running_loop();
    FAIL() << "get_running_loop outside a worker did not raise";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "no running event loop");
  }
  // A worker of another scheduler is not "running" this one's loops.
  Scheduler other(SchedulerOptions{.workers = 1});
  run_on(other.loop(0), [&] {
    EXPECT_EQ(stealio::get_running_loop_or_null(), &other.loop(0));
    EXPECT_FALSE(sched.loop(0).is_running_here());
  });
}

TEST(Loop, ClosedLoopRaises) {
  Scheduler sched(SchedulerOptions{.workers = 2});
  Loop& loop = sched.loop(1);
  EXPECT_FALSE(loop.is_closed());
  sched.shutdown();
  EXPECT_TRUE(loop.is_closed());
  EXPECT_TRUE(sched.loop(0).is_closed());
  auto expect_closed = [](const char* what, auto&& fn) {
    try {
      fn();
      ADD_FAILURE() << what << " on a closed loop did not raise";
    } catch (const RuntimeError& e) {
      EXPECT_STREQ(e.what(), "Event loop is closed") << what;
    }
  };
  expect_closed("call_soon", [&] { loop.call_soon([] {}); });
  expect_closed("call_soon_threadsafe", [&] { loop.call_soon_threadsafe([] {}); });
  expect_closed("call_later", [&] { loop.call_later(absl::Milliseconds(1), [] {}); });
  expect_closed("call_at", [&] { loop.call_at(loop.time(), [] {}); });
  expect_closed("post", [&] { sched.post([] {}); });
}

TEST(Loop, StatsCountCallbacksStepsAndParks) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  Loop& loop = sched.loop(0);
  ASSERT_TRUE(eventually([&] { return parked_after(sched, loop, 0); }));
  stealio::LoopStats s0 = loop.stats();

  constexpr int kN = 10;
  std::promise<void> done;
  auto done_f = done.get_future();
  for (int k = 0; k < kN; ++k) {
    loop.call_soon_threadsafe([&, k] {
      if (k == kN - 1) done.set_value();
    });
  }
  get_within(done_f);
  stealio::LoopStats s1 = loop.stats();
  EXPECT_EQ(s1.callbacks, s0.callbacks + kN);
  EXPECT_EQ(s1.steps, s0.steps);

  std::atomic<int> stepped{0};
  std::promise<void> stepped_all;
  auto stepped_f = stepped_all.get_future();
  for (int k = 0; k < kN; ++k) {
    stealio::schedule_step(stealio::make_task<FnTask>(loop, [&] {
      if (stepped.fetch_add(1) + 1 == kN) stepped_all.set_value();
    }));
  }
  get_within(stepped_f);
  ASSERT_TRUE(eventually([&] { return loop.stats().steps == s1.steps + kN; }));
  stealio::LoopStats s2 = loop.stats();
  EXPECT_EQ(s2.steps, s1.steps + kN);
  EXPECT_EQ(s2.steals, 0u);  // one worker: nobody to steal from
  EXPECT_EQ(s2.migrations_in, 0u);
  EXPECT_EQ(s2.migrations_out, 0u);
  EXPECT_TRUE(eventually([&] { return parked_after(sched, loop, s1.parks); }));
}

}  // namespace
