// Stress of the coroutine layer, swept over worker counts, bounded in time: fork-join trees with
// random cancellations while outside threads sample all_tasks; futures completed from outside
// threads while tasks on every worker await them; shutdown with tasks in every state.
#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "stealio/stealio.h"

namespace {

using stealio::CancelledError;
using stealio::Coro;
using stealio::Future;
using stealio::Scheduler;
using stealio::SchedulerOptions;
using stealio::Task;

class TasksStress : public ::testing::TestWithParam<int> {};

Coro<std::uint64_t> tree(int depth, int fanout) {
  if (depth == 0) {
    co_await stealio::yield();  // suspend once, so leaves migrate
    co_return 1;
  }
  std::vector<Task<std::uint64_t>> kids;
  for (int i = 0; i < fanout; ++i) kids.push_back(stealio::create_task(tree(depth - 1, fanout)));
  std::uint64_t n = 1;
  for (auto& k : kids) n += co_await k;
  co_return n;
}

// Samples every loop's all_tasks and current task, and checks them, until told to stop. The
// current task is read while the workers swap it for steps they run nested (eager starts, inline
// joins) and free it right after: a reference current_task() hands out must keep it alive (ASan
// reports the use of a freed task otherwise).
void sample_until(Scheduler& sched, const std::atomic<bool>& stop, std::atomic<int>& bad,
                  std::atomic<int>& samples) {
  while (!stop.load(std::memory_order_acquire)) {
    for (int i = 0; i < sched.workers(); ++i) {
      stealio::Loop& loop = sched.loop(i);
      if (stealio::TaskRef t = stealio::current_task(loop)) {
        if (t->get_loop() == nullptr || t->repr().empty()) ++bad;
      }
      std::vector<stealio::TaskRef> snap = stealio::all_tasks(loop);
      for (const auto& t : snap) {
        if (t->get_loop() == nullptr || t->get_name().empty()) ++bad;
      }
      samples.fetch_add(1, std::memory_order_relaxed);
    }
    std::vector<stealio::TaskRef> every = sched.all_tasks();
    std::sort(every.begin(), every.end(),
              [](const auto& a, const auto& b) { return a.get() < b.get(); });
    if (std::adjacent_find(every.begin(), every.end()) != every.end()) ++bad;  // duplicates
  }
}

TEST_P(TasksStress, ForkJoinTreesWhileOutsideThreadsSampleAllTasks) {
  Scheduler sched(SchedulerOptions{.workers = GetParam()});
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, samples{0};
  std::thread s1(sample_until, std::ref(sched), std::cref(stop), std::ref(bad), std::ref(samples));
  std::thread s2(sample_until, std::ref(sched), std::cref(stop), std::ref(bad), std::ref(samples));
  // The samplers are going before the trees start, so their snapshots overlap the trees.
  while (samples.load() == 0) std::this_thread::yield();
  for (int round = 0; round < 10; ++round) {
    // 1 + 4 + ... + 4096 tasks.
    EXPECT_EQ(sched.run(tree(6, 4)), 5461u);
  }
  stop = true;
  s1.join();
  s2.join();
  EXPECT_EQ(bad.load(), 0);
  RecordProperty("samples", samples.load());
  EXPECT_TRUE(sched.all_tasks().empty());
}

Coro<int> await_value(Future<int> f) { co_return co_await f; }

TEST_P(TasksStress, OutsideCompletionsAndCancellationsRace) {
  Scheduler sched(SchedulerOptions{.workers = GetParam()});
  constexpr int kTasks = 10000;
  std::vector<Future<int>> futures;
  std::vector<Task<int>> tasks;
  for (int i = 0; i < kTasks; ++i) {
    futures.emplace_back(sched.loop(i % sched.workers()));
    tasks.push_back(sched.spawn(await_value(futures.back())));
  }
  // Two threads complete futures, one cancels tasks; they overlap on purpose.
  std::thread completer_even([&] {
    for (int i = 0; i < kTasks; i += 2) futures[i].core()->try_finish([] {});
  });
  std::thread completer_odd([&] {
    for (int i = 1; i < kTasks; i += 2) {
      try {
        futures[i].set_result(i);
      } catch (const stealio::InvalidStateError&) {
        // Cancelled first, through its task: fine.
      }
    }
  });
  std::thread canceller([&] {
    std::minstd_rand rng(7);
    for (int i = 0; i < kTasks; ++i) {
      if (rng() % 3 == 0) tasks[i].cancel("random");
    }
  });
  completer_even.join();
  completer_odd.join();
  canceller.join();
  int cancelled = 0, finished = 0;
  for (int i = 0; i < kTasks; ++i) {
    tasks[i].wait();
    if (tasks[i].cancelled()) {
      ++cancelled;
    } else if (i % 2 == 1) {
      EXPECT_EQ(tasks[i].result(), i);
      ++finished;
    } else {
      ++finished;  // an even future finished without a value: only done() is checked
    }
  }
  EXPECT_EQ(cancelled + finished, kTasks);
  EXPECT_TRUE(sched.all_tasks().empty());
}

Coro<int> spin_and_wait(Future<int> f) {
  for (int i = 0; i < 3; ++i) co_await stealio::yield();
  co_return co_await f;
}

TEST_P(TasksStress, ShutdownWithTasksInEveryState) {
  for (int round = 0; round < 10; ++round) {
    std::atomic<int> pending_reports{0};
    std::optional<Future<int>> never;  // outlives its scheduler, on purpose
    {
      Scheduler sched(SchedulerOptions{.workers = GetParam()});
      sched.set_exception_handler([&](const stealio::ExceptionContext& c) {
        if (c.message == "Task was destroyed but it is pending!") ++pending_reports;
      });
      never.emplace(sched.loop(0));
      std::vector<Task<int>> tasks;
      for (int i = 0; i < 200; ++i) tasks.push_back(sched.spawn(spin_and_wait(*never)));
      sched.run(tree(3, 3));
      sched.shutdown();
      for (auto& t : tasks) EXPECT_FALSE(t.done());
      EXPECT_EQ(pending_reports.load(), 200);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Workers, TasksStress, ::testing::Values(1, 2, 4, 8));

}  // namespace
