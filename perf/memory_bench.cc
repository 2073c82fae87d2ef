// Memory of stealio's tasks, reported as benchmark counters (the timings here mean nothing).
//
//   BM_sizes                 sizeof the task state classes, the coroutine frame of a trivial
//                            coroutine and oneTBB's task object for the same lambda
//   BM_alloc_per_task        what creating one task allocates: frame, task state, context
//   BM_pending_*             1,000,000 tasks created and not yet started: bytes allocated per task
//                            and resident memory (RSS delta) per task
//   BM_suspended_*           1,000,000 tasks each suspended in `co_await` on a future (one future
//                            shared by all, or one future each): allocated and resident bytes
//
// How the bytes are counted: every call of stealio's frame allocator (coroutine frames, task
// objects, contexts; tasks/internal frame_alloc.h) is intercepted with the linker's --wrap
// (perf/tasks.cmake), and the global operator new is replaced, so each allocation is seen with
// its requested size. `*_class_bytes` rounds frame-allocator requests up to its 16-byte size
// classes (what the allocator really hands out); `rss_*` is the change of resident memory read
// from /proc/self/statm, which also includes glibc's chunk headers and the queues' growth. With
// a shared-library build the wrap may miss calls inside libstealio_tasks: frame_alloc_calls = 0
// then says so, and only the RSS figures hold.
//
//   ./build/perf/memory_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include "stealio/stealio.h"
#include "tasks/internal/context_impl.h"

// --- allocation hooks -------------------------------------------------------------------------

namespace hook {

struct Counts {
  long frame_calls = 0;
  long frame_bytes = 0;        // requested
  long frame_class_bytes = 0;  // rounded to the frame allocator's 16-byte classes
  long new_calls = 0;          // operator new outside the frame allocator
  long new_bytes = 0;
};

std::atomic<bool> g_on{false};
std::atomic<long> g_frame_calls{0}, g_frame_bytes{0}, g_frame_class_bytes{0};
std::atomic<long> g_new_calls{0}, g_new_bytes{0};
thread_local int tls_in_frame_alloc = 0;

void start() {
  g_frame_calls = g_frame_bytes = g_frame_class_bytes = g_new_calls = g_new_bytes = 0;
  g_on.store(true);
}

Counts stop() {
  g_on.store(false);
  return Counts{g_frame_calls.load(), g_frame_bytes.load(), g_frame_class_bytes.load(),
                g_new_calls.load(), g_new_bytes.load()};
}

void count_new(std::size_t size) {
  if (!g_on.load(std::memory_order_relaxed) || tls_in_frame_alloc) return;
  g_new_calls.fetch_add(1, std::memory_order_relaxed);
  g_new_bytes.fetch_add(static_cast<long>(size), std::memory_order_relaxed);
}

}  // namespace hook

// The linker's --wrap turns every reference to frame_alloc/frame_free into these; __real_* is
// the library's function.
extern "C" void* __real__ZN7stealio2v18internal11frame_allocEm(std::size_t size);
extern "C" void* __wrap__ZN7stealio2v18internal11frame_allocEm(std::size_t size) {
  if (hook::g_on.load(std::memory_order_relaxed)) {
    hook::g_frame_calls.fetch_add(1, std::memory_order_relaxed);
    hook::g_frame_bytes.fetch_add(static_cast<long>(size), std::memory_order_relaxed);
    hook::g_frame_class_bytes.fetch_add(static_cast<long>((size + 15) / 16 * 16),
                                        std::memory_order_relaxed);
  }
  ++hook::tls_in_frame_alloc;
  void* p = __real__ZN7stealio2v18internal11frame_allocEm(size);
  --hook::tls_in_frame_alloc;
  return p;
}

// These replace the global operator new/delete with malloc/free; g++ cannot see that the pair
// matches and warns, so the warning is off for the replacements only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  hook::count_new(size);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return ::operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  hook::count_new(size);
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return ::operator new(size, std::nothrow);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace {

constexpr int kMillion = 1000000;

// Resident memory of the process, from /proc/self/statm.
long rss_bytes() {
  long pages_total = 0, pages_resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = 0;
    std::fclose(f);
  }
  return pages_resident * sysconf(_SC_PAGESIZE);
}

// Resident memory after giving free heap pages back, so a delta counts only what is live.
long settled_rss_bytes() {
  malloc_trim(0);
  return rss_bytes();
}

void set(benchmark::State& state, const char* name, double value) {
  state.counters[name] = benchmark::Counter(value);
}

void report_counts(benchmark::State& state, const hook::Counts& c, double per) {
  set(state, "frame_alloc_calls", static_cast<double>(c.frame_calls) / per);
  set(state, "frame_bytes", static_cast<double>(c.frame_bytes) / per);
  set(state, "frame_class_bytes", static_cast<double>(c.frame_class_bytes) / per);
  set(state, "new_calls", static_cast<double>(c.new_calls) / per);
  set(state, "new_bytes", static_cast<double>(c.new_bytes) / per);
  set(state, "alloc_bytes", static_cast<double>(c.frame_class_bytes + c.new_bytes) / per);
}

stealio::Coro<int> trivial(int i) { co_return i; }

// --- static sizes -----------------------------------------------------------------------------

void BM_sizes(benchmark::State& state) {
  for (auto _ : state) {
    hook::start();
    stealio::Coro<int> c = trivial(1);  // lazy: allocates the frame, runs nothing
    hook::Counts counts = hook::stop();
    set(state, "coro_frame_trivial", static_cast<double>(counts.frame_bytes));
    benchmark::DoNotOptimize(c);
  }
  set(state, "TaskState_int", sizeof(stealio::internal::TaskState<int>));
  set(state, "TaskState_u64", sizeof(stealio::internal::TaskState<std::uint64_t>));
  set(state, "TaskCore", sizeof(stealio::internal::TaskCore));
  set(state, "TaskBase", sizeof(stealio::TaskBase));
  set(state, "FutureCore", sizeof(stealio::internal::FutureCore));
  set(state, "PlainFuture_void", sizeof(stealio::internal::PlainFuture<void>));
  set(state, "ContextData", sizeof(stealio::internal::ContextData));
  set(state, "Task_handle", sizeof(stealio::Task<int>));
  // oneTBB: the task object task_group::run allocates for a lambda of two references (fib's).
  int a = 0, b = 0;
  auto fn = [&a, &b] { a = b; };
  set(state, "tbb_function_task", sizeof(tbb::detail::d1::function_task<decltype(fn)>));
  set(state, "tbb_task_group", sizeof(tbb::task_group));
}
BENCHMARK(BM_sizes)->Iterations(1);

// --- what one task allocates ------------------------------------------------------------------

constexpr int kAllocBatch = 1000;

stealio::Coro<hook::Counts> create_batch() {
  std::vector<stealio::Task<int>> tasks(kAllocBatch);
  hook::start();
  for (int i = 0; i < kAllocBatch; ++i) tasks[i] = stealio::create_task(trivial(i));
  hook::Counts counts = hook::stop();
  for (auto& t : tasks) co_await t;
  co_return counts;
}

void BM_alloc_per_task(benchmark::State& state) {
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = 1});
  hook::Counts counts;
  for (auto _ : state) counts = sched.run(create_batch());
  report_counts(state, counts, kAllocBatch);
}
BENCHMARK(BM_alloc_per_task)->Iterations(1);

// --- 1,000,000 pending (created, not started) tasks -------------------------------------------

struct PendingResult {
  hook::Counts counts;
  long rss_after = 0;
};

// Runs on the only worker, so none of the tasks it creates starts before it returns.
stealio::Coro<PendingResult> create_pending(std::vector<stealio::Task<int>>& tasks) {
  PendingResult r;
  hook::start();
  for (int i = 0; i < kMillion; ++i) tasks[i] = stealio::create_task(trivial(i));
  r.counts = hook::stop();
  r.rss_after = rss_bytes();
  co_return r;
}

void BM_pending_stealio(benchmark::State& state) {
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = 1});
  for (auto _ : state) {
    std::vector<stealio::Task<int>> tasks(kMillion);  // handles written now: not in the delta
    const long before = settled_rss_bytes();
    PendingResult r = sched.run(create_pending(tasks));
    for (auto& t : tasks) t.wait();
    report_counts(state, r.counts, kMillion);
    set(state, "rss_bytes_per_task", static_cast<double>(r.rss_after - before) / kMillion);
    set(state, "rss_MiB_1M", static_cast<double>(r.rss_after - before) / (1 << 20));
  }
}
BENCHMARK(BM_pending_stealio)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_pending_tbb(benchmark::State& state) {
  tbb::global_control control(tbb::global_control::max_allowed_parallelism, 1);
  tbb::task_arena arena(1);
  arena.initialize();
  std::vector<int> out(kMillion);
  for (auto _ : state) {
    const long before = settled_rss_bytes();
    long after = 0;
    arena.execute([&] {
      tbb::task_group tg;
      int* slots = out.data();
      for (int i = 0; i < kMillion; ++i) tg.run([slots, i] { slots[i] = i; });
      after = rss_bytes();  // one thread: none of them has run
      tg.wait();
    });
    set(state, "rss_bytes_per_task", static_cast<double>(after - before) / kMillion);
    set(state, "rss_MiB_1M", static_cast<double>(after - before) / (1 << 20));
  }
}
BENCHMARK(BM_pending_tbb)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

// --- 1,000,000 suspended tasks ----------------------------------------------------------------

stealio::Coro<void> waiter(stealio::Future<void> f, std::atomic<int>* suspended) {
  suspended->fetch_add(1, std::memory_order_relaxed);
  co_await f;
}

stealio::Coro<void> create_waiters(std::vector<stealio::Task<void>>& tasks,
                                   std::vector<stealio::Future<void>>& futures,
                                   std::atomic<int>* suspended) {
  for (int i = 0; i < kMillion; ++i) {
    tasks[i] = stealio::create_task(waiter(futures[futures.size() == 1 ? 0 : i], suspended));
  }
  co_return;
}

// kOwn: one future per task (created in the measured window); else one future shared by all.
template <bool kOwn>
void BM_suspended_stealio(benchmark::State& state) {
  stealio::Scheduler sched(
      stealio::SchedulerOptions{.workers = static_cast<int>(state.range(0))});
  for (auto _ : state) {
    std::vector<stealio::Task<void>> tasks(kMillion);
    std::vector<stealio::Future<void>> futures;
    futures.reserve(kOwn ? kMillion : 1);
    std::atomic<int> suspended{0};
    const long before = settled_rss_bytes();
    hook::start();
    for (int i = 0; i < (kOwn ? kMillion : 1); ++i) futures.emplace_back(sched.loop(0));
    sched.run(create_waiters(tasks, futures, &suspended));
    while (suspended.load() < kMillion) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    // The last task registers as a waiter just after its count: let that step end.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const hook::Counts counts = hook::stop();
    const long after = rss_bytes();
    for (auto& f : futures) f.set_result();
    for (auto& t : tasks) t.wait();
    // The futures' own handle vector was reserved before the baseline but written inside it.
    const double handle_bytes = kOwn ? sizeof(stealio::Future<void>) : 0.0;
    report_counts(state, counts, kMillion);
    set(state, "rss_bytes_per_task",
        static_cast<double>(after - before) / kMillion - handle_bytes);
    set(state, "rss_MiB_1M", static_cast<double>(after - before) / (1 << 20));
  }
}
BENCHMARK_TEMPLATE(BM_suspended_stealio, false)
    ->Name("BM_suspended_stealio/shared_future")
    ->ArgName("workers")
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_suspended_stealio, true)
    ->Name("BM_suspended_stealio/own_future")
    ->ArgName("workers")
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
