// Tasks spawned from outside the workers are registered through the injection queue
// (registry.h): all_tasks lists them from the queue until a worker takes their first step and
// moves them into its shard. These tests pin what a user sees: such a task is listed while its
// step waits, unregister_task unlists it, shutdown abandons it, a spawn after shutdown raises, and
// under churn no pending task is ever missing from a snapshot while it moves.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <latch>
#include <limits>
#include <set>
#include <thread>
#include <vector>

#include "scheduler/internal/mutex.h"  // STEALIO_TSAN
#include "scheduler/internal/scheduler_core.h"
#include "stealio/errors.h"
#include "stealio/lifetime.h"
#include "stealio/loop.h"
#include "stealio/scheduler.h"
#include "test_support.h"

namespace {

using stealio::Loop;
using stealio::RuntimeError;
using stealio::Scheduler;
using stealio::SchedulerOptions;
using stealio::TaskBase;
using stealio::TaskRef;
using stealio_test::eventually;
using stealio_test::get_within;

std::atomic<int> g_live{0};

// A task whose step runs `body` inside enter/leave: the body returns true to run again (the step
// is rescheduled), false to finish. Counts its live instances and its abandonments.
class LoopingTask final : public TaskBase {
 public:
  using Body = std::function<bool()>;
  LoopingTask(Loop& loop, Body body) : TaskBase(loop), body_(std::move(body)) { ++g_live; }
  ~LoopingTask() override { --g_live; }
  void step() override {
    Loop& here = stealio::get_running_loop();
    stealio::enter_task(here, *this);
    const bool again = body_();
    stealio::leave_task(here, *this);
    if (again) {
      stealio::schedule_step(TaskRef(this));
    } else {
      mark_done();
    }
  }
  int abandoned() const { return abandoned_.load(); }

 protected:
  void abandon() noexcept override { ++abandoned_; }

 private:
  Body body_;
  std::atomic<int> abandoned_{0};
};

// Creates the task and spawns it as Task::make does from this (outside) thread.
TaskRef spawn(Loop& loop, LoopingTask::Body body) {
  TaskRef t = stealio::make_task<LoopingTask>(loop, std::move(body));
  TaskRef first_step = t;
  stealio::internal::register_new_and_schedule(std::move(first_step));
  return t;
}

bool listed(const std::vector<TaskRef>& tasks, const TaskRef& t) {
  return std::find(tasks.begin(), tasks.end(), t.get()) != tasks.end();
}

TEST(InjectRegistration, ATaskSpawnedFromOutsideIsListedWhileItsStepWaitsInTheQueue) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  stealio_test::HeldWorker worker(sched);
  std::promise<bool> listed_while_running;
  auto listed_f = listed_while_running.get_future();
  TaskRef t;
  t = spawn(sched.loop(0), [&] {
    listed_while_running.set_value(listed(stealio::all_tasks(), t));
    return false;
  });
  EXPECT_TRUE(listed(sched.all_tasks(), t));
  EXPECT_TRUE(listed(stealio::all_tasks(sched.loop(0)), t));
  EXPECT_EQ(sched.core().registry().size(), 0u) << "listed from the injection queue, no shard";
  worker.release();
  EXPECT_TRUE(get_within(listed_f)) << "listed from its worker's shard once its step runs";
  ASSERT_TRUE(eventually([&] { return t->done(); }));
  EXPECT_FALSE(listed(sched.all_tasks(), t));
  EXPECT_EQ(sched.core().registry().size(), 0u);
}

TEST(InjectRegistration, UnregisteringATaskWhileItsStepWaitsUnlistsItAndItStillRuns) {
  Scheduler sched(SchedulerOptions{.workers = 1});
  stealio_test::HeldWorker worker(sched);
  std::promise<bool> listed_while_running;
  auto listed_f = listed_while_running.get_future();
  TaskRef kept = spawn(sched.loop(0), [] { return false; });
  TaskRef dropped;
  dropped = spawn(sched.loop(0), [&] {
    listed_while_running.set_value(listed(stealio::all_tasks(), dropped));
    return false;
  });
  stealio::unregister_task(*dropped);
  stealio::unregister_task(*dropped);  // idempotent
  std::vector<TaskRef> all = sched.all_tasks();
  EXPECT_TRUE(listed(all, kept));
  EXPECT_FALSE(listed(all, dropped));
  worker.release();
  EXPECT_FALSE(get_within(listed_f)) << "its worker did not register it again";
  ASSERT_TRUE(eventually([&] { return kept->done() && dropped->done(); }));
  EXPECT_TRUE(sched.all_tasks().empty());
}

TEST(InjectRegistration, ShutdownAbandonsATaskWhoseStepNeverLeftTheQueue) {
  const int live_before = g_live.load();
  std::atomic<int> ran{0};
  TaskRef t;
  {
    Scheduler sched(SchedulerOptions{.workers = 1});
    std::promise<void> held;
    auto held_f = held.get_future();
    // The worker stays in this function until shutdown has begun stopping it, so it never takes
    // the step spawned below.
    sched.post([&] {
      held.set_value();
      EXPECT_TRUE(eventually([&] { return sched.core().stopping(); }));
    });
    get_within(held_f);
    t = spawn(sched.loop(0), [&] {
      ++ran;
      return false;
    });
    ASSERT_TRUE(listed(sched.all_tasks(), t));
    sched.shutdown();
    EXPECT_TRUE(sched.all_tasks().empty());
  }
  EXPECT_EQ(ran.load(), 0);
  EXPECT_EQ(static_cast<LoopingTask&>(*t).abandoned(), 1);
  EXPECT_FALSE(t->done());
  t = nullptr;
  EXPECT_EQ(g_live.load(), live_before) << "the queue's reference was released";
}

TEST(InjectRegistration, ASpawnAfterShutdownRaisesAndLeaksNothing) {
  const int live_before = g_live.load();
  Scheduler sched(SchedulerOptions{.workers = 1});
  sched.shutdown();
  try {
    spawn(sched.loop(0), [] { return false; });
    FAIL() << "no exception";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "Event loop is closed");
  }
  EXPECT_EQ(g_live.load(), live_before);
  EXPECT_EQ(sched.core().inject().size(), 0u);
}

// Outside threads spawn tasks that keep rescheduling themselves (so none is done) while the
// workers take them from the injection queue into their shards and a checker takes snapshots:
// every task whose spawn returned before a snapshot began must be in it. Each spawner waits for
// a snapshot to finish after every chunk of spawns, so snapshots overlap the spawning however
// the threads are scheduled.
TEST(InjectRegistrationStress, NoPendingTaskIsMissingFromASnapshotWhileWorkersTakeThem) {
#if defined(STEALIO_TSAN)
  constexpr int kPerSpawner = 300;
#else
  constexpr int kPerSpawner = 5000;
#endif
  constexpr int kSpawners = 2;
  constexpr int kChunk = kPerSpawner / 10;
  for (int workers : {1, 2, 4}) {
    Scheduler sched(SchedulerOptions{.workers = workers});
    std::atomic<bool> finish{false};
    std::vector<std::vector<TaskRef>> spawned(kSpawners);
    std::vector<std::atomic<int>> published(kSpawners);
    std::latch start(kSpawners + 1);
    std::atomic<int> snapshots_taken{0};  // the checker's count; its maximum once it stopped
    std::vector<std::thread> spawners;
    for (int s = 0; s < kSpawners; ++s) {
      spawned[static_cast<std::size_t>(s)].reserve(kPerSpawner);
      spawners.emplace_back([&, s] {
        auto& mine = spawned[static_cast<std::size_t>(s)];
        start.arrive_and_wait();
        for (int i = 0; i < kPerSpawner; ++i) {
          mine.push_back(spawn(sched.loop(i % workers), [&] { return !finish.load(); }));
          published[static_cast<std::size_t>(s)].store(i + 1, std::memory_order_release);
          if ((i + 1) % kChunk == 0 && i + 1 < kPerSpawner) {
            for (int n = snapshots_taken.load(); n < (i + 1) / kChunk; n = snapshots_taken.load()) {
              snapshots_taken.wait(n);
            }
          }
        }
      });
    }
    int snapshots = 0;
    bool missing = false;
    start.arrive_and_wait();
    for (bool last = false; !last && !missing; ++snapshots) {
      int seen[kSpawners];
      last = true;
      for (int s = 0; s < kSpawners; ++s) {
        seen[s] = published[static_cast<std::size_t>(s)].load(std::memory_order_acquire);
        last = last && seen[s] == kPerSpawner;
      }
      std::vector<TaskRef> all = sched.all_tasks();
      std::set<const TaskBase*> listed_set;
      for (const TaskRef& t : all) listed_set.insert(t.get());
      EXPECT_EQ(listed_set.size(), all.size()) << "a task listed twice";
      for (int s = 0; s < kSpawners; ++s) {
        for (int i = 0; i < seen[s]; ++i) {
          const TaskBase* t = spawned[static_cast<std::size_t>(s)][static_cast<std::size_t>(i)].get();
          if (!listed_set.count(t)) {
            ADD_FAILURE() << "workers=" << workers << ": spawner " << s << "'s task " << i
                          << " is missing from snapshot " << snapshots;
            missing = true;
            break;
          }
        }
      }
      snapshots_taken.store(snapshots + 1);
      snapshots_taken.notify_all();
    }
    snapshots_taken.store(std::numeric_limits<int>::max());  // releases the spawners if missing
    snapshots_taken.notify_all();
    for (std::thread& t : spawners) t.join();
    finish.store(true);
    ASSERT_FALSE(missing);
    ASSERT_TRUE(eventually([&] { return sched.all_tasks().empty(); }));
    EXPECT_GE(snapshots, kPerSpawner / kChunk);
  }
}

}  // namespace
