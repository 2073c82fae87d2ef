// Cost of stealio's coroutine tasks, each workload next to the same one written with oneTBB's
// tbb::task_group (run/wait) in this binary, at 1 and 2 worker threads (the benchmark argument).
//
//   fib/N          one task per call, no serial cut-off: create_task(fib(n-1)), fib(n-2) inline
//   fib_context_var  fib/30 with a context variable set in the root task (stealio only);
//                  _read: and every task reading it once
//   skynet         10-ary tree of 1,000,000 leaves, every node a task (1,111,111 tasks)
//   pingpong       two tasks passing a token through futures, 100,000 round trips; with two
//                  workers each task is pinned to its own worker, so every handoff crosses threads
//   create_await   create_task of a trivial coroutine awaited at once (the inline-join path)
//   create_many    64 trivial tasks created, then awaited in order (the queued path)
//   spawn_outside  100,000 tasks spawned from the benchmark thread (not a worker), then waited
//
// Every benchmark reports ns_per_task: wall time of the timed loop over the workload's logical
// task count (the same count for stealio and TBB), from a steady clock read around each iteration.
// Thread counts mean what perf/compare means: stealio runs N workers while the benchmark thread
// blocks in run()/wait(); TBB runs an arena of N threads that the benchmark thread joins (N-1
// workers), except spawn_outside, where the arena has N workers and the caller stays outside.
//
//   ./build/perf/tasks_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//   ./build/perf/tasks_bench --benchmark_filter='fib/30'
#include <benchmark/benchmark.h>
#include <tbb/global_control.h>
#include <tbb/task.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "stealio/stealio.h"

namespace {

using Clock = std::chrono::steady_clock;

// --- helpers ----------------------------------------------------------------------------------

// Accumulates the wall time of the timed iterations, then sets ns_per_task (and optionally
// another per-unit counter) averaged over every iteration.
class TaskTimer {
 public:
  explicit TaskTimer(benchmark::State& state) : state_(state) {}
  template <class F>
  void time(F&& body) {
    const Clock::time_point start = Clock::now();
    body();
    total_ += Clock::now() - start;
  }
  void report(const char* name, double units_per_iteration) {
    const double ns = std::chrono::duration<double, std::nano>(total_).count();
    const double units = units_per_iteration * static_cast<double>(state_.iterations());
    state_.counters[name] = benchmark::Counter(units > 0 ? ns / units : 0.0);
  }

 private:
  benchmark::State& state_;
  Clock::duration total_{};
};

std::unique_ptr<stealio::Scheduler> make_scheduler(benchmark::State& state) {
  return std::make_unique<stealio::Scheduler>(
      stealio::SchedulerOptions{.workers = static_cast<int>(state.range(0))});
}

// oneTBB with exactly `threads` threads: an arena the caller joins (threads-1 workers), or, with
// `caller_outside`, `threads` workers and no slot for the caller. Warmed up so that thread
// creation stays out of the timed loop (as perf/compare/common/tbb_support.h does).
class TbbRuntime {
 public:
  explicit TbbRuntime(int threads, bool caller_outside = false)
      : control_(tbb::global_control::max_allowed_parallelism,
                 static_cast<std::size_t>(caller_outside ? threads + 1 : threads)),
        arena_(threads, caller_outside ? 0 : 1) {
    arena_.initialize();
    std::atomic<long> sink{0};
    arena_.execute([&] {
      tbb::task_group tg;
      for (int i = 0; i < 1000 * threads; ++i) {
        tg.run([&sink, i] { sink.fetch_add(i, std::memory_order_relaxed); });
      }
      tg.wait();
    });
  }
  tbb::task_arena& arena() { return arena_; }

 private:
  tbb::global_control control_;
  tbb::task_arena arena_;
};

void thread_args(benchmark::internal::Benchmark* b) {
  b->ArgName("workers")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
}

// --- fib --------------------------------------------------------------------------------------

constexpr std::uint64_t fib_value(int n) {
  std::uint64_t a = 0, b = 1;
  for (int i = 0; i < n; ++i) {
    const std::uint64_t c = a + b;
    a = b;
    b = c;
  }
  return a;
}
// Calls of the naive recursion, each one task: 2 fib(n+1) - 1.
constexpr double fib_calls(int n) { return 2.0 * static_cast<double>(fib_value(n + 1)) - 1.0; }

stealio::Coro<std::uint64_t> fib_stealio(int n) {
  if (n < 2) co_return n;
  stealio::Task<std::uint64_t> a = stealio::create_task(fib_stealio(n - 1));
  const std::uint64_t b = co_await fib_stealio(n - 2);
  co_return co_await a + b;
}

std::uint64_t fib_tbb(int n) {
  if (n < 2) return n;
  std::uint64_t a = 0;
  tbb::task_group tg;
  tg.run([&a, n] { a = fib_tbb(n - 1); });
  const std::uint64_t b = fib_tbb(n - 2);
  tg.wait();
  return a + b;
}

template <int N>
void BM_fib_stealio(benchmark::State& state) {
  auto sched = make_scheduler(state);
  TaskTimer timer(state);
  for (auto _ : state) {
    std::uint64_t r = 0;
    timer.time([&] { r = sched->run(fib_stealio(N)); });
    if (r != fib_value(N)) state.SkipWithError("wrong fib");
  }
  timer.report("ns_per_task", fib_calls(N));
}

template <int N>
void BM_fib_tbb(benchmark::State& state) {
  TbbRuntime rt(static_cast<int>(state.range(0)));
  TaskTimer timer(state);
  for (auto _ : state) {
    std::uint64_t r = 0;
    timer.time([&] { rt.arena().execute([&] { r = fib_tbb(N); }); });
    if (r != fib_value(N)) state.SkipWithError("wrong fib");
  }
  timer.report("ns_per_task", fib_calls(N));
}

// fib(35) is ~30M tasks (~2-4 s): one iteration per repetition.
BENCHMARK_TEMPLATE(BM_fib_stealio, 30)->Apply(thread_args)->MinTime(0.5);
BENCHMARK_TEMPLATE(BM_fib_tbb, 30)->Apply(thread_args)->MinTime(0.5);
BENCHMARK_TEMPLATE(BM_fib_stealio, 35)->Apply(thread_args)->Iterations(1);
BENCHMARK_TEMPLATE(BM_fib_tbb, 35)->Apply(thread_args)->Iterations(1);

// fib(30) under a context variable set in the root task, as a request id or a trace span would
// be: every task inherits the root's mapping; in the _read variant every task also reads it once
// (as a logger reads a request id). What that costs, and whether it keeps the workers apart (each
// thread counts its tasks' references to the mapping on its own line, and get() reads an
// inherited value in place: tasks/context.cc), shows against BM_fib_stealio<30>.
const stealio::ContextVar<int> g_request_id("request_id");

stealio::Coro<std::uint64_t> fib_reading_context_var(int n) {
  const auto one = static_cast<std::uint64_t>(g_request_id.get() / 42);
  if (n < 2) co_return static_cast<std::uint64_t>(n) * one;
  stealio::Task<std::uint64_t> a = stealio::create_task(fib_reading_context_var(n - 1));
  const std::uint64_t b = co_await fib_reading_context_var(n - 2);
  co_return co_await a + b;
}

template <stealio::Coro<std::uint64_t> (*Fib)(int)>
stealio::Coro<std::uint64_t> under_context_var(int n) {
  g_request_id.set(42);
  co_return co_await Fib(n);
}

template <stealio::Coro<std::uint64_t> (*Fib)(int)>
void BM_fib_context_var(benchmark::State& state) {
  auto sched = make_scheduler(state);
  TaskTimer timer(state);
  for (auto _ : state) {
    std::uint64_t r = 0;
    timer.time([&] { r = sched->run(under_context_var<Fib>(30)); });
    if (r != fib_value(30)) state.SkipWithError("wrong fib");
  }
  timer.report("ns_per_task", fib_calls(30));
}
BENCHMARK_TEMPLATE(BM_fib_context_var, fib_stealio)
    ->Name("BM_fib_context_var_stealio")
    ->Apply(thread_args)
    ->MinTime(0.5);
BENCHMARK_TEMPLATE(BM_fib_context_var, fib_reading_context_var)
    ->Name("BM_fib_context_var_read_stealio")
    ->Apply(thread_args)
    ->MinTime(0.5);

// --- skynet -----------------------------------------------------------------------------------

constexpr long kSkynetLeaves = 1000000;
constexpr int kFanout = 10;
constexpr std::uint64_t kSkynetSum = 499999500000ULL;
constexpr double kSkynetNodes = 1111111.0;

stealio::Coro<std::uint64_t> skynet_stealio(std::uint64_t id, long size) {
  if (size == 1) co_return id;
  const long child = size / kFanout;
  std::array<stealio::Task<std::uint64_t>, kFanout> children;
  for (int i = 0; i < kFanout; ++i) {
    children[i] = stealio::create_task(skynet_stealio(id + i * child, child));
  }
  std::uint64_t sum = 0;
  for (auto& c : children) sum += co_await c;
  co_return sum;
}

std::uint64_t skynet_tbb(std::uint64_t id, long size) {
  if (size == 1) return id;
  const long child = size / kFanout;
  std::uint64_t sums[kFanout];
  tbb::task_group tg;
  for (int i = 0; i < kFanout; ++i) {
    tg.run([&sums, i, id, child] { sums[i] = skynet_tbb(id + i * child, child); });
  }
  tg.wait();
  std::uint64_t sum = 0;
  for (std::uint64_t s : sums) sum += s;
  return sum;
}

void BM_skynet_stealio(benchmark::State& state) {
  auto sched = make_scheduler(state);
  TaskTimer timer(state);
  for (auto _ : state) {
    std::uint64_t r = 0;
    timer.time([&] { r = sched->run(skynet_stealio(0, kSkynetLeaves)); });
    if (r != kSkynetSum) state.SkipWithError("wrong skynet sum");
  }
  timer.report("ns_per_task", kSkynetNodes);
}

void BM_skynet_tbb(benchmark::State& state) {
  TbbRuntime rt(static_cast<int>(state.range(0)));
  TaskTimer timer(state);
  for (auto _ : state) {
    std::uint64_t r = 0;
    timer.time([&] { rt.arena().execute([&] { r = skynet_tbb(0, kSkynetLeaves); }); });
    if (r != kSkynetSum) state.SkipWithError("wrong skynet sum");
  }
  timer.report("ns_per_task", kSkynetNodes);
}

BENCHMARK(BM_skynet_stealio)->Apply(thread_args)->MinTime(0.5);
BENCHMARK(BM_skynet_tbb)->Apply(thread_args)->MinTime(0.5);

// --- ping-pong --------------------------------------------------------------------------------

constexpr long kRoundTrips = 100000;

// next[s] is the future side s awaits next. A side publishes its fresh future before it
// completes the other side's, so the other side, woken by that completion, reads it safely.
struct PingPongTable {
  // Futures need a loop: made here, from the benchmark thread, which runs none.
  explicit PingPongTable(stealio::Loop& loop)
      : next{stealio::Future<void>(loop), stealio::Future<void>(loop)} {}
  stealio::Future<void> next[2];
  long made[2] = {0, 0};
};

stealio::Coro<void> ping(PingPongTable& t, long rounds) {
  for (long i = 0; i < rounds; ++i) {
    stealio::Future<void> mine;
    t.next[0] = mine;
    stealio::Future<void> other = t.next[1];
    other.set_result();
    ++t.made[0];
    co_await mine;
  }
}

stealio::Coro<void> pong(PingPongTable& t, long rounds) {
  for (long i = 0; i < rounds; ++i) {
    stealio::Future<void> mine = t.next[1];
    co_await mine;
    stealio::Future<void> fresh;
    t.next[1] = fresh;
    stealio::Future<void> other = t.next[0];
    other.set_result();
    ++t.made[1];
  }
}

void BM_pingpong_stealio(benchmark::State& state) {
  auto sched = make_scheduler(state);
  const int last = sched->workers() - 1;
  TaskTimer timer(state);
  for (auto _ : state) {
    PingPongTable t(sched->loop(0));
    t.next[1] = stealio::Future<void>(sched->loop(last));
    timer.time([&] {
      // Pinned: pong's steps always run on the last worker, ping's on worker 0 (the same one
      // when there is a single worker).
      stealio::Task<void> b = sched->loop(last).create_task(
          pong(t, kRoundTrips), stealio::TaskOptions().with_pinned());
      stealio::Task<void> a = sched->loop(0).create_task(
          ping(t, kRoundTrips), stealio::TaskOptions().with_pinned());
      a.wait();
      b.wait();
    });
    if (t.made[0] != kRoundTrips || t.made[1] != kRoundTrips) state.SkipWithError("lost a pass");
  }
  timer.report("ns_per_task", 2.0 * kRoundTrips);  // per handoff
  timer.report("ns_per_roundtrip", kRoundTrips);
}

// TBB has no future to block a task on; its resumable tasks (tbb::task::suspend/resume) are its
// way to park a task until an event. Same protocol as perf/compare/pingpong/tbb.cc.
struct TbbTable {
  std::atomic<long> passes{0};
  std::atomic<tbb::task::suspend_point> waiting[2] = {nullptr, nullptr};
};

bool can_go(const TbbTable& t, long n, int side) {
  const long p = t.passes.load();
  return p >= n || p % 2 == side;
}

long play_tbb(TbbTable& t, long n, int side) {
  long made = 0;
  for (;;) {
    while (!can_go(t, n, side)) {
      tbb::task::suspend([&](tbb::task::suspend_point sp) {
        t.waiting[side].store(sp);
        if (can_go(t, n, side)) {
          if (tbb::task::suspend_point mine = t.waiting[side].exchange(nullptr)) {
            tbb::task::resume(mine);
          }
        }
      });
    }
    if (t.passes.load() >= n) break;
    t.passes.fetch_add(1);
    ++made;
    if (tbb::task::suspend_point other = t.waiting[1 - side].exchange(nullptr)) {
      tbb::task::resume(other);
    }
  }
  return made;
}

void BM_pingpong_tbb(benchmark::State& state) {
  TbbRuntime rt(static_cast<int>(state.range(0)));
  TaskTimer timer(state);
  const long handoffs = 2 * kRoundTrips;
  for (auto _ : state) {
    TbbTable t;
    long made[2] = {0, 0};
    timer.time([&] {
      rt.arena().execute([&] {
        tbb::task_group tg;
        tg.run([&] { made[1] = play_tbb(t, handoffs, 1); });
        tg.run([&] { made[0] = play_tbb(t, handoffs, 0); });
        tg.wait();
      });
    });
    if (made[0] != kRoundTrips || made[1] != kRoundTrips) state.SkipWithError("lost a pass");
  }
  timer.report("ns_per_task", static_cast<double>(handoffs));
  timer.report("ns_per_roundtrip", kRoundTrips);
}

BENCHMARK(BM_pingpong_stealio)->Apply(thread_args)->MinTime(0.5);
BENCHMARK(BM_pingpong_tbb)->Apply(thread_args)->MinTime(0.5);

// --- create_task cost -------------------------------------------------------------------------

constexpr int kCreateBatch = 100000;
constexpr int kManyWidth = 64;

stealio::Coro<int> trivial(int i) { co_return i; }

stealio::Coro<long> create_await_loop(int n) {
  long sum = 0;
  for (int i = 0; i < n; ++i) sum += co_await stealio::create_task(trivial(i));
  co_return sum;
}

stealio::Coro<long> create_many_loop(int n) {
  long sum = 0;
  std::array<stealio::Task<int>, kManyWidth> tasks;
  for (int i = 0; i < n; i += kManyWidth) {
    for (int j = 0; j < kManyWidth; ++j) tasks[j] = stealio::create_task(trivial(i + j));
    for (auto& t : tasks) sum += co_await t;
  }
  co_return sum;
}

constexpr long expected_sum(int n) { return static_cast<long>(n) * (n - 1) / 2; }

template <bool kMany>
void BM_create_stealio(benchmark::State& state) {
  auto sched = make_scheduler(state);
  TaskTimer timer(state);
  for (auto _ : state) {
    long r = 0;
    timer.time([&] {
      r = kMany ? sched->run(create_many_loop(kCreateBatch))
                : sched->run(create_await_loop(kCreateBatch));
    });
    if (r != expected_sum(kCreateBatch)) state.SkipWithError("wrong sum");
  }
  timer.report("ns_per_task", kCreateBatch);
}

template <bool kMany>
void BM_create_tbb(benchmark::State& state) {
  TbbRuntime rt(static_cast<int>(state.range(0)));
  TaskTimer timer(state);
  for (auto _ : state) {
    long r = 0;
    timer.time([&] {
      rt.arena().execute([&] {
        if constexpr (kMany) {
          int out[kManyWidth];
          for (int i = 0; i < kCreateBatch; i += kManyWidth) {
            tbb::task_group tg;
            for (int j = 0; j < kManyWidth; ++j) tg.run([&out, i, j] { out[j] = i + j; });
            tg.wait();
            for (int v : out) r += v;
          }
        } else {
          for (int i = 0; i < kCreateBatch; ++i) {
            int out = 0;
            tbb::task_group tg;
            tg.run([&out, i] { out = i; });
            tg.wait();
            r += out;
          }
        }
      });
    });
    if (r != expected_sum(kCreateBatch)) state.SkipWithError("wrong sum");
  }
  timer.report("ns_per_task", kCreateBatch);
}

BENCHMARK_TEMPLATE(BM_create_stealio, false)->Name("BM_create_await_stealio")->Apply(thread_args);
BENCHMARK_TEMPLATE(BM_create_tbb, false)->Name("BM_create_await_tbb")->Apply(thread_args);
BENCHMARK_TEMPLATE(BM_create_stealio, true)->Name("BM_create_many_stealio")->Apply(thread_args);
BENCHMARK_TEMPLATE(BM_create_tbb, true)->Name("BM_create_many_tbb")->Apply(thread_args);

// --- spawn from a thread outside the workers --------------------------------------------------

constexpr int kSpawned = 100000;

stealio::Coro<void> store(std::uint64_t* out, int i) {
  out[i] = static_cast<std::uint64_t>(i) + 1;
  co_return;
}

bool all_stored(const std::vector<std::uint64_t>& out) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] != i + 1) return false;
  }
  return true;
}

void BM_spawn_outside_stealio(benchmark::State& state) {
  auto sched = make_scheduler(state);
  TaskTimer timer(state);
  std::vector<std::uint64_t> out(kSpawned);
  std::vector<stealio::Task<void>> tasks;
  tasks.reserve(kSpawned);
  for (auto _ : state) {
    std::fill(out.begin(), out.end(), 0);
    timer.time([&] {
      for (int i = 0; i < kSpawned; ++i) tasks.push_back(sched->spawn(store(out.data(), i)));
      for (auto& t : tasks) t.wait();
    });
    tasks.clear();
    if (!all_stored(out)) state.SkipWithError("missing store");
  }
  timer.report("ns_per_task", kSpawned);
}

void BM_spawn_outside_tbb(benchmark::State& state) {
  TbbRuntime rt(static_cast<int>(state.range(0)), /*caller_outside=*/true);
  TaskTimer timer(state);
  std::vector<std::uint64_t> out(kSpawned);
  for (auto _ : state) {
    std::fill(out.begin(), out.end(), 0);
    tbb::task_group tg;
    std::uint64_t* slots = out.data();
    timer.time([&] {
      for (int i = 0; i < kSpawned; ++i) {
        rt.arena().enqueue(tg.defer([slots, i] { slots[i] = static_cast<std::uint64_t>(i) + 1; }));
      }
      rt.arena().execute([&] { tg.wait(); });
    });
    if (!all_stored(out)) state.SkipWithError("missing store");
  }
  timer.report("ns_per_task", kSpawned);
}

BENCHMARK(BM_spawn_outside_stealio)->Apply(thread_args)->MinTime(0.5);
BENCHMARK(BM_spawn_outside_tbb)->Apply(thread_args)->MinTime(0.5);

// --- the serial floor -------------------------------------------------------------------------

std::uint64_t fib_serial(int n) { return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2); }

void BM_fib_serial(benchmark::State& state) {
  TaskTimer timer(state);
  for (auto _ : state) {
    std::uint64_t r = 0;
    int n = 30;
    benchmark::DoNotOptimize(n);
    timer.time([&] { r = fib_serial(n); });
    if (r != fib_value(30)) state.SkipWithError("wrong fib");
  }
  timer.report("ns_per_task", fib_calls(30));
}
BENCHMARK(BM_fib_serial)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
