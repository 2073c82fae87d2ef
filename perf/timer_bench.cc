// A loop's timer structure: internal::TimerHeap (what the loops use) against internal::TimerWheel
// (the hierarchical wheel), side by side through one templated benchmark each, on simulated time
// (no clock reads, no sleeping). Single-threaded: only the owner touches the structure.
//
//   add_then_drain/<S>   1,000,000 timers with random delays in [0, 100 ms) added, then drained by
//                        advancing `now` in 1 ms steps. per_timer: time per timer (add + pop);
//                        struct_B/timer: peak bytes the structure allocated, per timer (the
//                        TimerStates, allocated beforehand and untimed, are not counted)
//   arm_cancel/<S>/4096  the timeout pattern: 1,000,000 timers (delays 10 ms to 2 s) each armed and
//                        cancelled 4096 arms later (1 us of simulated time per arm, so long before
//                        it is due), pop_due every 64 arms. per_op: arm + cancel, TimerState
//                        allocation included; peak_entries: the most entries held (4096 live)
//   steady/<S>/N         N timers pending (delays [0, 100 ms)); each iteration adds one, asks
//                        next_deadline() and pops at that time (a worker parking until its next
//                        timer), TimerState allocation included
//   poll/<S>/1000        pop_due with nothing due (1000 timers an hour or more away, `now` 50 ns
//                        later each call): what a busy worker pays on every turn of its loop
//
// <S> is Heap (internal::TimerHeap), Wheel (internal::TimerWheel), HeapLowWater (TimerHeap with
// the wheel's sweep rule instead of its scan every 1024 adds: a bench-local variant, to tell the
// data structure from the sweep policy) and, in arm_cancel and steady, Null (holds one timer: the
// cost of allocating, cancelling and firing a TimerState with no structure at all).
//
//   ./build/perf/timer_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "scheduler/internal/timer.h"
#include "scheduler/internal/timer_wheel.h"

// Counts the bytes allocated and not yet freed while g_counting is set (around add_then_drain's
// timed part only: elsewhere it would add its own cost to every allocation).
namespace {
std::atomic<bool> g_counting{false};
std::atomic<std::int64_t> g_live_bytes{0};
std::atomic<std::int64_t> g_peak_bytes{0};
}  // namespace

void* operator new(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  if (!g_counting.load(std::memory_order_relaxed)) return p;
  const std::int64_t live = g_live_bytes.fetch_add(static_cast<std::int64_t>(malloc_usable_size(p)),
                                                   std::memory_order_relaxed) +
                            static_cast<std::int64_t>(malloc_usable_size(p));
  if (live > g_peak_bytes.load(std::memory_order_relaxed)) {
    g_peak_bytes.store(live, std::memory_order_relaxed);
  }
  return p;
}
// g++ reads the free() in a replacement operator delete as a new/free mismatch.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept {
  if (p == nullptr) return;
  if (g_counting.load(std::memory_order_relaxed)) {
    g_live_bytes.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)),
                           std::memory_order_relaxed);
  }
  std::free(p);
}
#pragma GCC diagnostic pop
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }

namespace {

using namespace std::chrono_literals;
using stealio::Callback;
using stealio::TimePoint;
using stealio::internal::TimerHeap;
using stealio::internal::TimerState;
using stealio::internal::TimerWheel;

// TimerHeap with the wheel's sweep rule (sweep when the size reaches twice its low-water mark
// since the last sweep, plus 1024) in place of counting the live entries every 1024 adds.
class HeapLowWater {
 public:
  void add(std::shared_ptr<TimerState> t) {
    TimePoint when = t->when;
    heap_.push_back(Entry{when, seq_++, std::move(t)});
    std::push_heap(heap_.begin(), heap_.end(), later);
    if (heap_.size() >= 2 * low_ + 1024) {
      std::erase_if(heap_, [](const Entry& e) { return e.timer->is_cancelled(); });
      std::make_heap(heap_.begin(), heap_.end(), later);
      low_ = heap_.size();
    }
  }
  void pop_due(TimePoint now, std::vector<Callback>& out) {
    for (;;) {
      drop_cancelled_top();
      if (heap_.empty() || heap_.front().when > now) return;
      std::pop_heap(heap_.begin(), heap_.end(), later);
      std::shared_ptr<TimerState> t = std::move(heap_.back().timer);
      pop_back();
      if (t->claim(TimerState::kFired)) out.push_back(std::move(t->fn));
    }
  }
  std::optional<TimePoint> next_deadline() {
    drop_cancelled_top();
    if (heap_.empty()) return std::nullopt;
    return heap_.front().when;
  }
  std::size_t size() const noexcept { return heap_.size(); }

 private:
  struct Entry {
    TimePoint when;
    std::uint64_t seq;
    std::shared_ptr<TimerState> timer;
  };
  static bool later(const Entry& a, const Entry& b) {
    return a.when != b.when ? a.when > b.when : a.seq > b.seq;
  }
  void pop_back() {
    heap_.pop_back();
    low_ = std::min(low_, heap_.size());
  }
  void drop_cancelled_top() {
    while (!heap_.empty() && heap_.front().timer->is_cancelled()) {
      std::pop_heap(heap_.begin(), heap_.end(), later);
      pop_back();
    }
  }
  std::vector<Entry> heap_;
  std::uint64_t seq_ = 0;
  std::size_t low_ = 0;
};

// No structure: holds the last timer added. The floor under arm_cancel and steady.
class Null {
 public:
  void add(std::shared_ptr<TimerState> t) { last_ = std::move(t); }
  void pop_due(TimePoint now, std::vector<Callback>& out) {
    if (last_ && last_->when <= now) {
      if (last_->claim(TimerState::kFired)) out.push_back(std::move(last_->fn));
      last_.reset();
    }
  }
  std::optional<TimePoint> next_deadline() {
    if (last_ && last_->is_cancelled()) last_.reset();
    if (!last_) return std::nullopt;
    return last_->when;
  }
  std::size_t size() const noexcept { return last_ ? 1 : 0; }

 private:
  std::shared_ptr<TimerState> last_;
};

const TimePoint kStart = TimePoint{} + 1000h;

std::shared_ptr<TimerState> make_timer(TimePoint when) {
  Callback fn = [] {};
  return std::make_shared<TimerState>(when, std::move(fn));
}

template <class Timers>
void BM_add_then_drain(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  TimePoint now = kStart;
  std::vector<Callback> out;
  std::mt19937_64 rng(1);
  std::vector<std::shared_ptr<TimerState>> handles;
  handles.reserve(static_cast<std::size_t>(n));
  out.reserve(static_cast<std::size_t>(n));
  double struct_bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    handles.clear();
    for (int i = 0; i < n; ++i) handles.push_back(make_timer(now + 1ns * (rng() % 100000000)));
    // A fresh structure each time, so its growth is timed and its memory counted.
    auto timers = std::make_unique<Timers>();
    timers->pop_due(now, out);  // a running loop: the wheel's clock is current
    const std::int64_t base = g_live_bytes.load();
    g_peak_bytes.store(base);
    g_counting.store(true);
    state.ResumeTiming();
    for (const auto& h : handles) timers->add(h);  // the handle keeps a reference, as call_later's
    std::size_t fired = 0;
    for (const TimePoint end = now + 101ms; now < end;) {
      now += 1ms;
      timers->pop_due(now, out);
      fired += out.size();
      out.clear();
    }
    state.PauseTiming();
    g_counting.store(false);
    struct_bytes += static_cast<double>(g_peak_bytes.load() - base);
    if (fired != static_cast<std::size_t>(n)) state.SkipWithError("not all timers fired");
    timers.reset();
    state.ResumeTiming();
  }
  state.counters["per_timer"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * n,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["struct_B/timer"] =
      struct_bytes / static_cast<double>(state.iterations()) / static_cast<double>(n);
}

template <class Timers>
void BM_arm_cancel(benchmark::State& state) {
  const std::size_t live = static_cast<std::size_t>(state.range(0));
  constexpr int kOps = 1000000;
  Timers timers;
  TimePoint now = kStart;
  std::vector<Callback> out;
  timers.pop_due(now, out);
  std::mt19937_64 rng(2);
  std::vector<std::shared_ptr<TimerState>> ring(live);
  std::size_t peak = 0;
  for (auto _ : state) {
    for (int i = 0; i < kOps; ++i) {
      std::shared_ptr<TimerState>& h = ring[static_cast<std::size_t>(i) % live];
      if (h) h->cancel();
      h = make_timer(now + 10ms + 1ns * (rng() % 1990000000));
      timers.add(h);
      now += 1us;
      if ((i & 63) == 0) {
        timers.pop_due(now, out);
        peak = std::max(peak, timers.size());
      }
    }
    if (!out.empty()) state.SkipWithError("a cancelled timer fired");
  }
  state.counters["per_op"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kOps,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["peak_entries"] = static_cast<double>(peak);
}

template <class Timers>
void BM_steady(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Timers timers;
  TimePoint now = kStart;
  std::vector<Callback> out;
  timers.pop_due(now, out);
  std::mt19937_64 rng(3);
  for (int i = 0; i < n; ++i) timers.add(make_timer(now + 1ns * (rng() % 100000000)));
  for (auto _ : state) {
    timers.add(make_timer(now + 1ns * (rng() % 100000000)));
    now = *timers.next_deadline();
    timers.pop_due(now, out);
    out.clear();
  }
  state.counters["pending"] = static_cast<double>(timers.size());
}

template <class Timers>
void BM_poll(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Timers timers;
  TimePoint now = kStart;
  std::vector<Callback> out;
  timers.pop_due(now, out);
  std::mt19937_64 rng(4);
  for (int i = 0; i < n; ++i) timers.add(make_timer(now + 1h + 1ns * (rng() % 100000000000)));
  for (auto _ : state) {
    now += 50ns;
    timers.pop_due(now, out);
  }
  if (!out.empty()) state.SkipWithError("a timer fired early");
}

constexpr int kMillion = 1000000;

// The same workloads for each structure, side by side in one run: <workload>/<structure>.
template <class Timers>
void register_structure(const std::string& label, bool big_workloads) {
  auto name = [&](const char* workload) { return std::string(workload) + "/" + label; };
  if (big_workloads) {
    benchmark::RegisterBenchmark(name("add_then_drain").c_str(), BM_add_then_drain<Timers>)
        ->Arg(kMillion)
        ->Iterations(2)
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark(name("arm_cancel").c_str(), BM_arm_cancel<Timers>)
      ->Arg(4096)
      ->Iterations(2)
      ->Unit(benchmark::kMillisecond);
  auto* steady = benchmark::RegisterBenchmark(name("steady").c_str(), BM_steady<Timers>);
  steady->Arg(1000);
  if (big_workloads) steady->Arg(100000);
}

const bool registered = [] {
  register_structure<TimerHeap>("Heap", true);
  register_structure<TimerWheel>("Wheel", true);
  register_structure<HeapLowWater>("HeapLowWater", true);
  register_structure<Null>("Null", false);  // the floor: TimerState costs, no structure
  benchmark::RegisterBenchmark("poll/Heap", BM_poll<TimerHeap>)->Arg(1000);
  benchmark::RegisterBenchmark("poll/Wheel", BM_poll<TimerWheel>)->Arg(1000);
  return true;
}();

}  // namespace
