// Whitebox tests of internal::Registry: the sharded list behind all_tasks().
//
// The shard a task lives in is private; the tests read it from the snapshot order instead:
// snapshot() walks shards 0, 1, ... and each shard's list newest first.
#include "scheduler/internal/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <latch>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "scheduler/internal/scheduler_core.h"
#include "stealio/errors.h"
#include "stealio/lifetime.h"
#include "stealio/scheduler.h"
#include "test_support.h"

namespace {

using stealio::RuntimeError;
using stealio::Scheduler;
using stealio::SchedulerOptions;
using stealio::TaskBase;
using stealio::TaskRef;
using stealio::internal::Registry;
using stealio_test::contains;
using stealio_test::InertTask;

std::vector<const TaskBase*> snapshot_all(const Registry& r) {
  std::vector<TaskRef> refs;
  r.snapshot([](const TaskBase&) { return true; }, refs);
  std::vector<const TaskBase*> out;
  for (const TaskRef& t : refs) out.push_back(t.get());
  return out;
}

// Tests that use a standalone Registry (not the scheduler's) must remove every task before it is
// destroyed: ~TaskBase unregisters from its scheduler's registry, not from this one.
class RegistryTest : public ::testing::Test {
 protected:
  Scheduler sched_{SchedulerOptions{.workers = 2}};
  Registry reg_{2};  // shards 0, 1 for workers; 2.. for other threads
  TaskRef make() { return stealio::make_task<InertTask>(sched_.loop(0)); }
};

TEST_F(RegistryTest, AddThenRemove) {
  TaskRef a = make();
  TaskRef b = make();
  EXPECT_EQ(reg_.size(), 0u);
  reg_.add(*a, 0);
  reg_.add(*b, 1);
  EXPECT_EQ(reg_.size(), 2u);
  EXPECT_EQ(snapshot_all(reg_), (std::vector<const TaskBase*>{a.get(), b.get()}));
  reg_.remove(*a);
  EXPECT_EQ(reg_.size(), 1u);
  EXPECT_EQ(snapshot_all(reg_), (std::vector<const TaskBase*>{b.get()}));
  reg_.remove(*b);
  EXPECT_EQ(reg_.size(), 0u);
  EXPECT_TRUE(snapshot_all(reg_).empty());
}

TEST_F(RegistryTest, RemoveIsIdempotentAndIgnoresUnknownTasks) {
  TaskRef a = make();
  TaskRef b = make();
  reg_.remove(*a);  // never registered
  reg_.add(*a, 0);
  reg_.add(*b, 0);
  reg_.remove(*a);
  reg_.remove(*a);
  EXPECT_EQ(reg_.size(), 1u);
  EXPECT_EQ(snapshot_all(reg_), (std::vector<const TaskBase*>{b.get()}));
  reg_.remove(*b);
}

TEST_F(RegistryTest, AddIsIdempotentAndKeepsTheFirstShard) {
  TaskRef a = make();
  TaskRef b = make();
  reg_.add(*a, 2);
  reg_.add(*b, 1);
  reg_.add(*a, 2);
  reg_.add(*a, 0);  // already registered: stays in shard 2
  EXPECT_EQ(reg_.size(), 2u);
  EXPECT_EQ(snapshot_all(reg_), (std::vector<const TaskBase*>{b.get(), a.get()}));
  // Removal finds it in shard 2, and it can then be registered elsewhere.
  reg_.remove(*a);
  reg_.add(*a, 0);
  EXPECT_EQ(snapshot_all(reg_), (std::vector<const TaskBase*>{a.get(), b.get()}));
  reg_.remove(*a);
  reg_.remove(*b);
}

TEST_F(RegistryTest, ListRemovalKeepsNeighbours) {
  // Unlinking the head, a middle and the tail of one shard's list keeps the others reachable.
  std::vector<TaskRef> ts;
  for (int i = 0; i < 6; ++i) {
    ts.push_back(make());
    reg_.add(*ts.back(), 1);
  }
  reg_.remove(*ts[5]);  // head (newest)
  reg_.remove(*ts[2]);  // middle
  reg_.remove(*ts[0]);  // tail
  EXPECT_EQ(snapshot_all(reg_),
            (std::vector<const TaskBase*>{ts[4].get(), ts[3].get(), ts[1].get()}));
  EXPECT_EQ(reg_.size(), 3u);
  for (TaskRef& t : ts) reg_.remove(*t);
  EXPECT_EQ(reg_.size(), 0u);
}

TEST_F(RegistryTest, HomeShardIsTheWorkerIndexElseTheOutsideShardsInTurn) {
  EXPECT_EQ(reg_.home_shard(0), 0);
  EXPECT_EQ(reg_.home_shard(1), 1);
  // Two workers, so the minimum of 4 outside shards: 2..5, each in turn.
  std::set<int> seen;
  int prev = reg_.home_shard(-1);
  for (int i = 0; i < 8; ++i) {
    const int s = reg_.home_shard(-1);
    EXPECT_GE(s, 2);
    EXPECT_LT(s, 2 + 4);
    EXPECT_EQ(s, 2 + (prev - 2 + 1) % 4);
    seen.insert(s);
    prev = s;
  }
  EXPECT_EQ(seen.size(), 4u);
  int other = -100;
  std::thread([&] { other = reg_.home_shard(-1); }).join();
  EXPECT_GE(other, 2);
  EXPECT_LT(other, 2 + 4);
}

// With more workers than 4, there are as many outside shards as workers.
TEST(RegistryShards, AsManyOutsideShardsAsWorkers) {
  Registry reg(8);
  std::set<int> seen;
  for (int i = 0; i < 16; ++i) seen.insert(reg.home_shard(-1));
  EXPECT_EQ(seen.size(), 8u);
  EXPECT_EQ(*seen.begin(), 8);
  EXPECT_EQ(*seen.rbegin(), 15);
}

// register_task puts a task in the shard of the registering thread: the worker's own for a
// worker, an outside shard otherwise, whatever the task's loop.
TEST_F(RegistryTest, RegisterTaskUsesTheCallersShard) {
  Registry& reg = sched_.core().registry();
  TaskRef a = make();                                         // loop 0, registered from worker 1
  TaskRef b = stealio::make_task<InertTask>(sched_.loop(1));  // loop 1, registered from worker 0
  TaskRef c = make();                                         // registered from this thread
  stealio_test::run_on(sched_.loop(1), [&] { stealio::register_task(*a); });
  stealio_test::run_on(sched_.loop(0), [&] { stealio::register_task(*b); });
  stealio::register_task(*c);
  EXPECT_EQ(snapshot_all(reg), (std::vector<const TaskBase*>{b.get(), a.get(), c.get()}));
  for (TaskRef* t : {&a, &b, &c}) stealio::unregister_task(**t);
  EXPECT_EQ(reg.size(), 0u);
}

TEST_F(RegistryTest, SnapshotAppliesTheFilterAndAppends) {
  TaskRef a = make();
  TaskRef b = make();
  TaskRef c = make();
  reg_.add(*a, 0);
  reg_.add(*b, 1);
  reg_.add(*c, 3);
  std::vector<TaskRef> out;
  out.push_back(c);  // snapshot appends, it does not clear
  reg_.snapshot([&](const TaskBase& t) { return &t != b.get(); }, out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0], c);
  EXPECT_EQ(out[1], a);
  EXPECT_EQ(out[2], c);
  // The snapshot holds references: the tasks outlive the caller's.
  const TaskBase* raw = a.get();
  reg_.remove(*a);
  a = nullptr;
  EXPECT_EQ(out[1].get(), raw);
  EXPECT_FALSE(out[1]->done());
  for (TaskRef* t : {&b, &c}) reg_.remove(**t);
}

// A task whose destructor blocks: between its last release and the end of ~TaskBase it is still
// linked in the registry with a reference count of zero.
class DyingTask final : public TaskBase {
 public:
  DyingTask(stealio::Loop& loop, std::latch& entered, std::latch& release)
      : TaskBase(loop), entered_(entered), release_(release) {}
  ~DyingTask() override {
    entered_.count_down();
    release_.wait();
  }
  void step() override {}

 private:
  std::latch& entered_;
  std::latch& release_;
};

TEST_F(RegistryTest, SnapshotNeverReturnsATaskWhoseCountReachedZero) {
  Registry& reg = sched_.core().registry();
  std::latch entered(1);
  std::latch release(1);
  TaskRef keep = make();
  stealio::register_task(*keep);
  TaskRef dying = stealio::make_task<DyingTask>(sched_.loop(0), entered, release);
  const TaskBase* raw = dying.get();
  stealio::register_task(*dying);
  ASSERT_EQ(reg.size(), 2u);

  std::thread killer([d = std::move(dying)]() mutable { d = nullptr; });
  entered.wait();  // the count is zero and ~DyingTask is running; the task is still linked
  EXPECT_EQ(reg.size(), 2u);
  std::vector<TaskRef> out;
  reg.snapshot([](const TaskBase&) { return true; }, out);
  EXPECT_FALSE(contains(out, raw));
  EXPECT_TRUE(contains(out, keep.get()));
  auto all = sched_.all_tasks();
  EXPECT_FALSE(contains(all, raw));
  EXPECT_TRUE(contains(all, keep.get()));
  EXPECT_FALSE(contains(stealio::all_tasks(sched_.loop(0)), raw));
  release.count_down();
  killer.join();
  EXPECT_EQ(reg.size(), 1u);  // ~TaskBase unregistered it
  stealio::unregister_task(*keep);
}

TEST_F(RegistryTest, CloseMakesAddRaiseButRemoveAndSnapshotWork) {
  TaskRef a = make();
  TaskRef b = make();
  reg_.add(*a, 0);
  EXPECT_FALSE(reg_.closed());
  reg_.close();
  EXPECT_TRUE(reg_.closed());
  for (int shard : {0, 1, 2, 5}) {
    try {
      reg_.add(*b, shard);
      FAIL() << "add on a closed registry did not raise (shard " << shard << ")";
    } catch (const RuntimeError& e) {
      EXPECT_STREQ(e.what(), "Event loop is closed");
    }
  }
  EXPECT_EQ(snapshot_all(reg_), (std::vector<const TaskBase*>{a.get()}));
  reg_.remove(*a);
  EXPECT_EQ(reg_.size(), 0u);
  // Adding an already-registered task is the idempotent no-op even when closed: nothing raised.
  Registry r2(1);
  r2.add(*a, 0);
  r2.close();
  EXPECT_NO_THROW(r2.add(*a, 0));
  r2.remove(*a);
}

TEST_F(RegistryTest, DrainUnregistersEverythingAndReturnsTheLiving) {
  TaskRef a = make();
  TaskRef b = make();
  TaskRef c = make();
  reg_.add(*a, 0);
  reg_.add(*b, 1);
  reg_.add(*c, 4);
  reg_.close();
  std::vector<TaskRef> alive = reg_.drain();
  EXPECT_EQ(alive.size(), 3u);
  for (TaskRef* t : {&a, &b, &c}) EXPECT_TRUE(contains(alive, t->get()));
  EXPECT_EQ(reg_.size(), 0u);
  EXPECT_TRUE(snapshot_all(reg_).empty());
  // They are no longer registered: remove is a no-op, and dropping them is safe.
  reg_.remove(*a);
  alive.clear();
}

TEST_F(RegistryTest, DrainSkipsATaskBeingDestroyed) {
  Registry& reg = sched_.core().registry();
  std::latch entered(1);
  std::latch release(1);
  TaskRef dying = stealio::make_task<DyingTask>(sched_.loop(1), entered, release);
  const TaskBase* raw = dying.get();
  TaskRef keep = make();
  stealio::register_task(*dying);
  stealio::register_task(*keep);
  std::thread killer([d = std::move(dying)]() mutable { d = nullptr; });
  entered.wait();
  reg.close();
  std::vector<TaskRef> alive = reg.drain();
  EXPECT_EQ(alive.size(), 1u);
  EXPECT_TRUE(contains(alive, keep.get()));
  EXPECT_FALSE(contains(alive, raw));
  EXPECT_EQ(reg.size(), 0u);
  // ~TaskBase now finds the task unlinked and must not touch the list.
  release.count_down();
  killer.join();
  EXPECT_EQ(reg.size(), 0u);
}

// mark_done unregisters a task still registered (TaskBase::release relies on it): the registry
// is left empty, and the last reference frees the task.
TEST_F(RegistryTest, MarkDoneUnregistersATaskStillRegistered) {
  Registry& reg = sched_.core().registry();
  auto* raw = new InertTask(sched_.loop(0));
  TaskRef t = TaskRef::adopt(raw);
  stealio::register_task(*t);
  ASSERT_EQ(reg.size(), 1u);
  raw->finish();
  EXPECT_EQ(reg.size(), 0u);
  EXPECT_TRUE(sched_.all_tasks().empty());
}

// A task registered again after it is done (register_task allows it, as asyncio's does) is
// never handed out: not by a snapshot whose filter keeps everything, not by drain.
TEST_F(RegistryTest, SnapshotAndDrainNeverHandOutADoneTask) {
  auto* done = new InertTask(sched_.loop(0));
  TaskRef d = TaskRef::adopt(done);
  done->finish();
  TaskRef pending = make();
  reg_.add(*d, 2);
  reg_.add(*pending, 2);
  EXPECT_EQ(snapshot_all(reg_), std::vector<const TaskBase*>{pending.get()});
  reg_.close();
  std::vector<TaskRef> alive = reg_.drain();
  ASSERT_EQ(alive.size(), 1u);
  EXPECT_EQ(alive[0].get(), pending.get());
  EXPECT_EQ(reg_.size(), 0u);
}

TEST_F(RegistryTest, ConcurrentAddRemoveAndSnapshot) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  Registry& reg = sched_.core().registry();
  std::vector<TaskRef> resident;  // registered for the whole test: every snapshot lists them
  for (int i = 0; i < 8; ++i) {
    resident.push_back(make());
    reg.add(*resident.back(), i % (2 + 4));
  }
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!stop.load()) {
      std::vector<TaskRef> out;
      reg.snapshot([](const TaskBase&) { return true; }, out);
      std::set<const TaskBase*> seen;
      for (const TaskRef& t : out) {
        if (!seen.insert(t.get()).second) bad.fetch_add(1);
        (void)t->repr();
      }
      for (const TaskRef& p : resident) {
        if (!seen.count(p.get())) bad.fetch_add(1);
      }
    }
  });
  std::vector<std::thread> writers;
  for (int k = 0; k < kThreads; ++k) {
    writers.emplace_back([&, k] {
      for (int i = 0; i < kPerThread; ++i) {
        TaskRef t = stealio::make_task<InertTask>(sched_.loop(k % 2));
        reg.add(*t, (i + k) % (2 + 4));
        if (i % 3 == 0) reg.remove(*t);
        // Otherwise ~TaskBase unregisters it.
      }
    });
  }
  for (std::thread& w : writers) w.join();
  stop.store(true);
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(reg.size(), resident.size());
  for (TaskRef& p : resident) reg.remove(*p);
}

// A task that counts its destructions.
class CountedTask final : public TaskBase {
 public:
  CountedTask(stealio::Loop& loop, std::atomic<int>& destroyed)
      : TaskBase(loop), destroyed_(destroyed) {}
  ~CountedTask() override { destroyed_.fetch_add(1); }
  void step() override {}

 private:
  std::atomic<int>& destroyed_;
};

// A task registered on worker 0 and unregistered on worker 1 is no longer listed, and the
// registry holds nothing of it: dropping the last reference frees it.
TEST_F(RegistryTest, UnregisterFromAnotherWorkerUnlistsAndReleasesIt) {
  Registry& reg = sched_.core().registry();
  std::atomic<int> destroyed{0};
  TaskRef t = stealio::make_task<CountedTask>(sched_.loop(0), destroyed);
  const TaskBase* raw = t.get();
  stealio_test::run_on(sched_.loop(0), [&] { stealio::register_task(*t); });
  ASSERT_TRUE(contains(sched_.all_tasks(), raw));
  stealio_test::run_on(sched_.loop(1), [&] { stealio::unregister_task(*t); });
  EXPECT_FALSE(contains(sched_.all_tasks(), raw));
  EXPECT_FALSE(contains(stealio::all_tasks(sched_.loop(0)), raw));
  EXPECT_EQ(reg.size(), 0u);
  t = nullptr;
  EXPECT_EQ(destroyed.load(), 1);
}

// Registering again a task whose unlinking another worker deferred: it is listed again.
TEST_F(RegistryTest, RegisterAgainAfterAnotherWorkerUnregistered) {
  std::atomic<int> destroyed{0};
  TaskRef t = stealio::make_task<CountedTask>(sched_.loop(0), destroyed);
  for (int round = 0; round < 50; ++round) {
    stealio_test::run_on(sched_.loop(0), [&] { stealio::register_task(*t); });
    stealio_test::run_on(sched_.loop(1), [&] { stealio::unregister_task(*t); });
    // From a worker (its own shard) on even rounds, from this thread (an outside shard) on odd.
    if (round % 2 == 0) {
      stealio_test::run_on(sched_.loop(1), [&] { stealio::register_task(*t); });
    } else {
      stealio::register_task(*t);
    }
    ASSERT_TRUE(contains(sched_.all_tasks(), t.get())) << round;
    stealio::unregister_task(*t);
    ASSERT_FALSE(contains(sched_.all_tasks(), t.get())) << round;
  }
  EXPECT_EQ(sched_.core().registry().size(), 0u);
  t = nullptr;
  EXPECT_TRUE(stealio_test::eventually([&] { return destroyed.load() == 1; }));
}

// The owner and another worker unregister the same tasks at the same time: both return, each task
// is unlinked once and freed once.
TEST_F(RegistryTest, OwnerAndAnotherWorkerUnregisterTheSameTasksAtOnce) {
  constexpr int kTasks = 2000;
  std::atomic<int> destroyed{0};
  std::vector<TaskRef> tasks;
  for (int i = 0; i < kTasks; ++i) {
    tasks.push_back(stealio::make_task<CountedTask>(sched_.loop(0), destroyed));
  }
  stealio_test::run_on(sched_.loop(0), [&] {
    for (TaskRef& t : tasks) stealio::register_task(*t);
  });
  ASSERT_EQ(sched_.core().registry().size(), static_cast<std::size_t>(kTasks));
  std::latch start(3);
  std::promise<void> done0, done1;
  auto f0 = done0.get_future(), f1 = done1.get_future();
  auto unregister_all = [&](std::promise<void>& done) {
    start.arrive_and_wait();
    for (TaskRef& t : tasks) stealio::unregister_task(*t);
    done.set_value();
  };
  sched_.loop(0).call_soon_threadsafe([&] { unregister_all(done0); });
  sched_.loop(1).call_soon_threadsafe([&] { unregister_all(done1); });
  start.arrive_and_wait();
  stealio_test::get_within(f0);
  stealio_test::get_within(f1);
  EXPECT_TRUE(sched_.all_tasks().empty());
  EXPECT_EQ(sched_.core().registry().size(), 0u);
  tasks.clear();
  EXPECT_TRUE(stealio_test::eventually([&] { return destroyed.load() == kTasks; }));
}

// A task whose last step ends on another worker than the one it registered on (a stolen task):
// it is unlisted at once, and the registry's reference to it, held until its own worker unlinks
// it, is dropped then (here by size(), which unlinks what is pending).
TEST_F(RegistryTest, FinishedOnAnotherWorkerIsUnlistedAtOnceAndFreedAfterUnlinking) {
  std::atomic<int> destroyed{0};
  TaskRef t = stealio::make_task<CountedTask>(sched_.loop(0), destroyed);
  const TaskBase* raw = t.get();
  stealio_test::run_on(sched_.loop(0), [&] { stealio::register_task(*t); });
  stealio_test::run_on(sched_.loop(1), [&] { stealio::internal::unregister_finished_task(*t); });
  EXPECT_FALSE(contains(sched_.all_tasks(), raw));
  t = nullptr;
  EXPECT_EQ(destroyed.load(), 0);  // the registry's reference: still linked in worker 0's shard
  EXPECT_EQ(sched_.core().registry().size(), 0u);
  EXPECT_EQ(destroyed.load(), 1);
}

// The same, unlinked by the owner itself on its next registration (no visitor involved).
TEST_F(RegistryTest, TheOwnerUnlinksTasksFinishedElsewhereOnItsNextOperation) {
  std::atomic<int> destroyed{0};
  TaskRef t = stealio::make_task<CountedTask>(sched_.loop(0), destroyed);
  TaskRef next = stealio::make_task<CountedTask>(sched_.loop(0), destroyed);
  stealio_test::run_on(sched_.loop(0), [&] { stealio::register_task(*t); });
  stealio_test::run_on(sched_.loop(1), [&] { stealio::internal::unregister_finished_task(*t); });
  t = nullptr;
  EXPECT_EQ(destroyed.load(), 0);
  stealio_test::run_on(sched_.loop(0), [&] { stealio::register_task(*next); });
  EXPECT_EQ(destroyed.load(), 1);
  EXPECT_TRUE(contains(sched_.all_tasks(), next.get()));
  stealio::unregister_task(*next);
}

// Both workers register and unregister in their own shards (the owner's path without a lock)
// while each also finishes tasks the other registered (unlinking left to the owner) and this
// thread takes snapshots (a visitor, which waits for the owner to be out): every snapshot lists
// every resident task exactly once; at the end nothing is left and every task was freed once.
TEST_F(RegistryTest, OwnersVisitorsAndTasksFinishedElsewhereAtOnce) {
  constexpr int kRounds = 100000;
  std::atomic<int> destroyed{0};
  std::vector<TaskRef> resident;
  for (int w = 0; w < 2; ++w) {
    resident.push_back(stealio::make_task<CountedTask>(sched_.loop(w), destroyed));
    stealio_test::run_on(sched_.loop(w), [&] { stealio::register_task(*resident.back()); });
  }
  // Tasks registered by worker w, for worker 1 - w to finish.
  std::mutex handoff_mu;
  std::vector<TaskRef> handoff[2];
  std::atomic<int> bad{0};
  std::atomic<bool> stop{false};
  std::latch start(3);
  auto work = [&](int w) {
    stealio_test::run_on(sched_.loop(w), [&, w] {
      start.arrive_and_wait();
      for (int i = 0; i < kRounds; ++i) {
        TaskRef own = stealio::make_task<CountedTask>(sched_.loop(w), destroyed);
        stealio::register_task(*own);
        if (i % 500 == 0 && !contains(stealio::all_tasks(sched_.loop(w)), own.get())) {
          bad.fetch_add(1);
        }
        stealio::unregister_task(*own);
        TaskRef mine = stealio::make_task<CountedTask>(sched_.loop(w), destroyed);
        stealio::register_task(*mine);
        std::vector<TaskRef> theirs;
        {
          std::lock_guard<std::mutex> lock(handoff_mu);
          handoff[w].push_back(std::move(mine));
          theirs.swap(handoff[1 - w]);
        }
        for (TaskRef& t : theirs) stealio::internal::unregister_finished_task(*t);
      }
    });
  };
  auto w0 = std::async(std::launch::async, work, 0);
  auto w1 = std::async(std::launch::async, work, 1);
  start.arrive_and_wait();
  std::thread visitor([&] {
    while (!stop.load()) {
      std::vector<TaskRef> out;
      sched_.core().registry().snapshot([](const TaskBase&) { return true; }, out);
      std::set<const TaskBase*> seen;
      for (const TaskRef& t : out) {
        if (!seen.insert(t.get()).second) bad.fetch_add(1);
      }
      for (const TaskRef& r : resident) {
        if (!seen.count(r.get())) bad.fetch_add(1);
      }
    }
  });
  stealio_test::get_within(w0);
  stealio_test::get_within(w1);
  stop.store(true);
  visitor.join();
  EXPECT_EQ(bad.load(), 0);
  for (auto& h : handoff) {
    for (TaskRef& t : h) stealio::unregister_task(*t);
    h.clear();
  }
  EXPECT_EQ(sched_.core().registry().size(), resident.size());
  for (TaskRef& r : resident) stealio::unregister_task(*r);
  resident.clear();
  EXPECT_EQ(sched_.core().registry().size(), 0u);
  EXPECT_EQ(destroyed.load(), 2 + 2 * 2 * kRounds);
}

}  // namespace
