// The task registry: register + unregister of one task (what every task pays once), on one
// thread and on several at once (each in its own shard), and all_tasks() over 10k to 1M tasks.
#include <benchmark/benchmark.h>

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
