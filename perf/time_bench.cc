// Cost of timers and timeout scopes.
//
//   sleep_million/W     1,000,000 tasks, each sleeping a random delay in [0, 1 ms), on W
//                       workers: ns_per_timer is the wall time from the first create_task to the
//                       last wake-up over 1,000,000 (create, arm, fire, wake, finish)
//   sleeping_bytes/W    1,000,000 tasks asleep at once (a 10 s delay, then cancelled):
//                       bytes_per_task is the growth of the process's resident memory while they
//                       sleep, over 1,000,000 (task, frames, sleep future, timer, heap slot);
//                       only the first run in a process is meaningful (later ones reuse memory
//                       the allocator kept), so run it alone: --benchmark_filter=sleeping_bytes/1/
//   timeout_scope       `co_await timeout(1 s, trivial())` in a loop on one worker: ns_per_scope
//                       (enter, arm the timer, run the body inline, exit, cancel the timer)
//   timeout_baseline    the same loop with `co_await trivial()`: what the scope adds is the
//                       difference
//
//   ./build/perf/time_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "stealio/stealio.h"
#include "stealio/timeouts.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kTasks = 1000000;

double ns_since(Clock::time_point start) {
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count();
}

long rss_bytes() {
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * sysconf(_SC_PAGESIZE);
}

stealio::Coro<void> sleeper(absl::Duration d) { co_await stealio::sleep(d); }

void BM_sleep_million(benchmark::State& state) {
  const int workers = static_cast<int>(state.range(0));
  std::mt19937 rng(42);
  std::vector<absl::Duration> delays(kTasks);
  for (auto& d : delays) d = absl::Nanoseconds(rng() % 1000000);
  double total = 0;
  for (auto _ : state) {
    stealio::Scheduler sched(stealio::SchedulerOptions{.workers = workers});
    Clock::time_point start = Clock::now();
    sched.run([&]() -> stealio::Coro<void> {
      std::vector<stealio::Task<void>> ts;
      ts.reserve(kTasks);
      for (int i = 0; i < kTasks; ++i) ts.push_back(stealio::create_task(sleeper(delays[i])));
      for (auto& t : ts) co_await t;
    }());
    total += ns_since(start);
  }
  state.counters["ns_per_timer"] = total / (static_cast<double>(kTasks) * state.iterations());
}
BENCHMARK(BM_sleep_million)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_sleeping_bytes(benchmark::State& state) {
  const int workers = static_cast<int>(state.range(0));
  double bytes = 0;
  for (auto _ : state) {
    stealio::Scheduler sched(stealio::SchedulerOptions{.workers = workers});
    std::atomic<int> asleep{0};
    sched.run([&]() -> stealio::Coro<void> {
      std::vector<stealio::Task<void>> ts;
      ts.reserve(kTasks);  // the handles are not counted: reserved before the baseline
      long before = rss_bytes();
      for (int i = 0; i < kTasks; ++i) {
        ts.push_back(stealio::create_task([](std::atomic<int>& n) -> stealio::Coro<void> {
          n.fetch_add(1, std::memory_order_relaxed);
          co_await stealio::sleep(absl::Seconds(10));
        }(asleep)));
      }
      while (asleep.load() < kTasks) co_await stealio::sleep(absl::Milliseconds(1));
      co_await stealio::sleep(absl::Milliseconds(5));  // the last ones reach their timer
      bytes += static_cast<double>(rss_bytes() - before) / kTasks;
      for (auto& t : ts) t.cancel();
      for (auto& t : ts) {
        try {
          co_await t;
        } catch (const stealio::CancelledError&) {
        }
      }
    }());
  }
  state.counters["bytes_per_task"] = bytes / state.iterations();
}
BENCHMARK(BM_sleeping_bytes)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

stealio::Coro<int> trivial(int x) { co_return x + 1; }

template <bool kScope>
void BM_timeout(benchmark::State& state) {
  constexpr int kLoops = 1000000;
  double total = 0;
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = 1});
  for (auto _ : state) {
    total += sched.run([&]() -> stealio::Coro<double> {
      Clock::time_point start = Clock::now();
      int acc = 0;
      for (int i = 0; i < kLoops; ++i) {
        if constexpr (kScope) {
          acc = co_await stealio::timeout(absl::Seconds(1), trivial(acc));
        } else {
          acc = co_await trivial(acc);
        }
      }
      benchmark::DoNotOptimize(acc);
      co_return ns_since(start);
    }());
  }
  state.counters[kScope ? "ns_per_scope" : "ns_per_await"] =
      total / (static_cast<double>(kLoops) * state.iterations());
}
BENCHMARK_TEMPLATE(BM_timeout, true)
    ->Name("timeout_scope")
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_timeout, false)
    ->Name("timeout_baseline")
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
