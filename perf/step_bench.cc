// Running one empty task step: the round trip from submitting a step to knowing it ran, from a
// worker (the step goes on that worker's deque) and from an outside thread (injection queue, a
// wake-up of a parked worker); and a step taken by another worker's steal.
#include <benchmark/benchmark.h>

#include <atomic>
#include <latch>

#include "stealio/loop.h"
#include "stealio/scheduler.h"
#include "stealio/task_base.h"

namespace {

// A step that only counts; the step that brings the count to `target` opens `done`.
class Counter final : public stealio::TaskBase {
 public:
  Counter(stealio::Loop& loop, std::atomic<long>& n, long target = -1, std::latch* done = nullptr)
      : TaskBase(loop), n_(n), target_(target), done_(done) {}
  void step() override {
    if (n_.fetch_add(1, std::memory_order_acq_rel) + 1 == target_) done_->count_down();
  }

 private:
  std::atomic<long>& n_;
  const long target_;
  std::latch* const done_;
};

// A task that reschedules itself `left` times from the worker it runs on, then counts down.
class Relay final : public stealio::TaskBase {
 public:
  Relay(stealio::Loop& loop, long left, std::latch& done) : TaskBase(loop), left_(left), done_(done) {}
  void step() override {
    if (--left_ == 0) {
      done_.count_down();
    } else {
      stealio::schedule_step(stealio::TaskRef(this));
    }
  }

 private:
  long left_;
  std::latch& done_;
};

// An empty step scheduled from a worker and run: schedule_step (the worker's deque), the next
// turn of the loop, the step. Each iteration is a chain of `batch` steps started from outside,
// so the outside kick is amortised. Per item: one step's round trip on a worker.
void BM_StepFromWorker(benchmark::State& state) {
  const long batch = state.range(0);
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = static_cast<int>(state.range(1))});
  for (auto _ : state) {
    std::latch done(1);
    stealio::schedule_step(stealio::make_task<Relay>(sched.loop(0), batch, done));
    done.wait();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_StepFromWorker)->Args({1000, 1})->Args({1000, 2})->UseRealTime();

// One empty step submitted from this (non-worker) thread, waiting until it ran: injection queue
// plus, when the worker has gone to sleep, its wake-up. The round-trip latency.
void BM_StepFromOutsideRoundTrip(benchmark::State& state) {
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = static_cast<int>(state.range(0))});
  std::atomic<long> ran{0};
  long target = 0;
  for (auto _ : state) {
    ++target;
    stealio::schedule_step(stealio::make_task<Counter>(sched.loop(0), ran));
    while (ran.load(std::memory_order_acquire) < target) {
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StepFromOutsideRoundTrip)->Arg(1)->Arg(2)->UseRealTime();

// Throughput of a batch of empty steps submitted from outside (the injection queue). The
// submitting thread then blocks until the last one ran (a spin would take a core from the
// workers on a small machine).
void BM_StepsFromOutsideBatch(benchmark::State& state) {
  const int batch = 1024;
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = static_cast<int>(state.range(0))});
  std::atomic<long> ran{0};
  long target = 0;
  for (auto _ : state) {
    std::latch done(1);
    target += batch;
    for (int i = 0; i < batch; ++i) {
      stealio::schedule_step(stealio::make_task<Counter>(sched.loop(0), ran, target, &done));
    }
    done.wait();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_StepsFromOutsideBatch)->Arg(1)->Arg(2)->UseRealTime();

// The steal path end to end: worker 0 pushes a batch of steps onto its own deque and then blocks
// until they ran, so every one of them is stolen and run by worker 1. Per item: one steal (the
// thief's search, the top_ CAS) and one step. Compare with BM_StepFromWorker (the owner's pop).
void BM_StepsStolen(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = 2});
  stealio::Loop& loop = sched.loop(0);
  std::atomic<long> ran{0};
  long target = 0;
  const auto steals0 = sched.loop(1).stats().steals;
  for (auto _ : state) {
    target += batch;
    std::latch done(1);
    std::latch returned(1);
    loop.call_soon_threadsafe([&, t = target] {
      for (int i = 0; i < batch; ++i) {
        stealio::schedule_step(stealio::make_task<Counter>(loop, ran, t, &done));
      }
      done.wait();
      returned.count_down();
    });
    returned.wait();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["stolen_share"] =
      static_cast<double>(sched.loop(1).stats().steals - steals0) /
      static_cast<double>(state.iterations() * batch);
}
BENCHMARK(BM_StepsStolen)->Arg(64)->Arg(1024)->UseRealTime();

}  // namespace
