// The task registry: register + unregister of one task (what every task pays once), on one
// thread and on several at once (each in its own shard), on a worker (its own shard, the owner's
// path), and all_tasks() over 10k to 1M tasks, and while every worker is busy.
#include <benchmark/benchmark.h>

#include <atomic>
#include <future>
#include <memory>
#include <vector>

#include "stealio/lifetime.h"
#include "stealio/scheduler.h"
#include "stealio/task_base.h"

namespace {

class Inert final : public stealio::TaskBase {
 public:
  explicit Inert(stealio::Loop& loop) : TaskBase(loop) {}
  void step() override {}
};

stealio::Scheduler& sched() {
  static auto* s = new stealio::Scheduler(stealio::SchedulerOptions{.workers = 2});
  return *s;
}

// register_task + unregister_task of a task created once per thread. From outside the
// workers each thread has a hashed shard, so ->Threads(n) measures contention on shard locks.
void BM_RegisterUnregister(benchmark::State& state) {
  stealio::TaskRef t = stealio::make_task<Inert>(sched().loop(0));
  for (auto _ : state) {
    stealio::register_task(*t);
    stealio::unregister_task(*t);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RegisterUnregister)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

// The full life of a task as a task type pays it: allocate, register, unregister, free.
void BM_CreateRegisterUnregisterDestroy(benchmark::State& state) {
  for (auto _ : state) {
    stealio::TaskRef t = stealio::make_task<Inert>(sched().loop(0));
    stealio::register_task(*t);
    stealio::unregister_task(*t);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CreateRegisterUnregisterDestroy)->Threads(1)->Threads(2)->UseRealTime();

// register_task + unregister_task on worker 0, 100,000 pairs per iteration: the owner's path
// into its own shard (registry.h), what a task created and finished on one worker pays.
void BM_RegisterUnregisterOnWorker(benchmark::State& state) {
  constexpr int kPairs = 100'000;
  stealio::TaskRef t = stealio::make_task<Inert>(sched().loop(0));
  for (auto _ : state) {
    std::promise<void> done;
    sched().loop(0).call_soon_threadsafe([&] {
      for (int i = 0; i < kPairs; ++i) {
        stealio::register_task(*t);
        stealio::unregister_task(*t);
      }
      done.set_value();
    });
    done.get_future().wait();
  }
  state.SetItemsProcessed(state.iterations() * kPairs);
}
BENCHMARK(BM_RegisterUnregisterOnWorker)->UseRealTime();

// all_tasks(loop) with one task registered while both workers run a callback (so neither is
// parked): the fixed cost of a snapshot when the workers are busy.
void BM_AllTasksWhileWorkersRun(benchmark::State& state) {
  stealio::TaskRef t = stealio::make_task<Inert>(sched().loop(0));
  stealio::register_task(*t);
  std::atomic<bool> stop{false};
  std::vector<std::future<void>> running;
  for (int w = 0; w < 2; ++w) {
    auto p = std::make_shared<std::promise<void>>();
    running.push_back(p->get_future());
    sched().loop(w).call_soon_threadsafe([&stop, p] {
      while (!stop.load(std::memory_order_relaxed)) {
      }
      p->set_value();
    });
  }
  for (auto _ : state) {
    std::vector<stealio::TaskRef> snap = stealio::all_tasks(sched().loop(0));
    benchmark::DoNotOptimize(snap.data());
  }
  stop.store(true);
  for (auto& f : running) f.wait();
  stealio::unregister_task(*t);
}
BENCHMARK(BM_AllTasksWhileWorkersRun)->UseRealTime();

// all_tasks(loop) with `n` registered tasks, half of them on the loop asked about.
void BM_AllTasks(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<stealio::TaskRef> tasks;
  tasks.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    tasks.push_back(stealio::make_task<Inert>(sched().loop(static_cast<int>(i % 2))));
    stealio::register_task(*tasks.back());
  }
  std::size_t listed = 0;
  for (auto _ : state) {
    std::vector<stealio::TaskRef> snap = stealio::all_tasks(sched().loop(0));
    listed = snap.size();
    benchmark::DoNotOptimize(snap.data());
  }
  state.counters["listed"] = static_cast<double>(listed);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
  for (stealio::TaskRef& t : tasks) stealio::unregister_task(*t);
}
BENCHMARK(BM_AllTasks)->Arg(10'000)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
