// internal::WsDeque against internal::WsRing (Tokio's bounded ring, the alternative design),
// workload by workload, side by side as BM_Deque_<workload> / BM_Ring_<workload>: the owner's
// push/pop pair, a batch taken by pop (owner) versus by steal (thief), both single-threaded (the
// uncontended costs, the common case); a two-thread fork-join pattern (owner pushes 2, pops 1,
// then drains, while a thief steals); and the deque's growth path. The verdict is in ws_ring.h.
#include "scheduler/internal/ws_deque.h"

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <span>
#include <thread>
#include <vector>

#include "scheduler/internal/ws_ring.h"

namespace {

using stealio::internal::WsDeque;
using stealio::internal::WsRing;

int g_items[1024];

// Pushes that double the ring from a small start, then drains: the growth path.
void BM_GrowFromSmallRing(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) {
    WsDeque<int*> d(2);
    for (int i = 0; i < n; ++i) d.push(&g_items[i & 1023]);
    while (d.pop()) {
    }
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_GrowFromSmallRing)->Arg(4096);

// ---- Deque against Tokio's ring, workload by workload (rows named to sit side by side). ----

// Stands in for Tokio's shared injection queue: the ring's overflow batches land here.
struct Inject {
  Inject() { items.reserve(4096); }
  void operator()(std::span<int*> batch) { items.insert(items.end(), batch.begin(), batch.end()); }
  void drain() {
    for (int* x : items) benchmark::DoNotOptimize(x);
    items.clear();
  }
  std::vector<int*> items;
};

// One push and one pop by the owner.
void BM_Deque_PushPop(benchmark::State& state) {
  WsDeque<int*> d;
  for (auto _ : state) {
    d.push(&g_items[0]);
    benchmark::DoNotOptimize(d.pop());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Deque_PushPop);

void BM_Ring_PushPop(benchmark::State& state) {
  WsRing<int*> r;
  Inject inject;
  for (auto _ : state) {
    r.push(&g_items[0], inject);
    benchmark::DoNotOptimize(r.pop());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ring_PushPop);

// A batch of `n` pushes then popping all. The ring holds 256: at 1024 it overflows half the
// ring (plus the new item) into the injection queue on every 129th push, and those are drained
// from the vector, as a worker would take them from the injection queue.
void BM_Deque_PushBatchThenPop(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  WsDeque<int*> d;
  for (auto _ : state) {
    for (int i = 0; i < n; ++i) d.push(&g_items[i & 1023]);
    for (int i = 0; i < n; ++i) benchmark::DoNotOptimize(d.pop());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Deque_PushBatchThenPop)->Arg(16)->Arg(1024);

void BM_Ring_PushBatchThenPop(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  WsRing<int*> r;
  Inject inject;
  for (auto _ : state) {
    for (int i = 0; i < n; ++i) r.push(&g_items[i & 1023], inject);
    while (int* x = r.pop()) benchmark::DoNotOptimize(x);
    inject.drain();
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Ring_PushBatchThenPop)->Arg(16)->Arg(1024);

// A batch of `n` pushes, then a thief takes them: the deque one steal per item, the ring half
// at a time into the thief's own ring, which the thief then pops. At 1024 most of the ring's
// items went to the injection queue while pushing (drained, not stolen).
void BM_Deque_PushBatchThenSteal(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  WsDeque<int*> d;
  for (auto _ : state) {
    for (int i = 0; i < n; ++i) d.push(&g_items[i & 1023]);
    for (int i = 0; i < n; ++i) benchmark::DoNotOptimize(d.steal());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Deque_PushBatchThenSteal)->Arg(16)->Arg(1024);

void BM_Ring_PushBatchThenStealHalf(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  WsRing<int*> victim;
  WsRing<int*> thief;
  Inject inject;
  for (auto _ : state) {
    for (int i = 0; i < n; ++i) victim.push(&g_items[i & 1023], inject);
    while (int* x = victim.steal_half_into(thief)) {
      benchmark::DoNotOptimize(x);
      while (int* y = thief.pop()) benchmark::DoNotOptimize(y);
    }
    inject.drain();
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Ring_PushBatchThenStealHalf)->Arg(16)->Arg(1024);

// Two threads: the owner runs a fork-join-like pattern (push 2 children, pop 1, 64 times, then
// drain) while one thief steals all the time. Items per second counts every item pushed (each
// is taken once, by the owner or the thief); stolen_pct is the thief's share. Real time, since
// the thief's work is not on the timing thread.
constexpr int kForkRounds = 64;

void BM_Deque_ForkJoin2T(benchmark::State& state) {
  WsDeque<int*> d;
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> stolen{0};
  std::thread thief([&] {
    std::int64_t n = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      if (int* x = d.steal()) {
        benchmark::DoNotOptimize(x);
        ++n;
      }
    }
    stolen.store(n, std::memory_order_relaxed);
  });
  for (auto _ : state) {
    for (int i = 0; i < kForkRounds; ++i) {
      d.push(&g_items[0]);
      d.push(&g_items[1]);
      benchmark::DoNotOptimize(d.pop());
    }
    while (int* x = d.pop()) benchmark::DoNotOptimize(x);
  }
  stop.store(true, std::memory_order_relaxed);
  thief.join();
  const std::int64_t items = state.iterations() * 2 * kForkRounds;
  state.SetItemsProcessed(items);
  state.counters["stolen_pct"] = 100.0 * static_cast<double>(stolen.load()) /
                                 static_cast<double>(items > 0 ? items : 1);
}
BENCHMARK(BM_Deque_ForkJoin2T)->UseRealTime();

void BM_Ring_ForkJoin2T(benchmark::State& state) {
  WsRing<int*> r;
  Inject inject;  // stays empty: the owner's ring never holds more than 64 + 1 here
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> stolen{0};
  std::thread thief([&] {
    WsRing<int*> mine;
    std::int64_t n = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      if (int* x = r.steal_half_into(mine)) {
        benchmark::DoNotOptimize(x);
        ++n;
        while (int* y = mine.pop()) {
          benchmark::DoNotOptimize(y);
          ++n;
        }
      }
    }
    stolen.store(n, std::memory_order_relaxed);
  });
  for (auto _ : state) {
    for (int i = 0; i < kForkRounds; ++i) {
      r.push(&g_items[0], inject);
      r.push(&g_items[1], inject);
      benchmark::DoNotOptimize(r.pop());
    }
    while (int* x = r.pop()) benchmark::DoNotOptimize(x);
    inject.drain();
  }
  stop.store(true, std::memory_order_relaxed);
  thief.join();
  const std::int64_t items = state.iterations() * 2 * kForkRounds;
  state.SetItemsProcessed(items);
  state.counters["stolen_pct"] = 100.0 * static_cast<double>(stolen.load()) /
                                 static_cast<double>(items > 0 ? items : 1);
}
BENCHMARK(BM_Ring_ForkJoin2T)->UseRealTime();

// A binary fork-join tree of the given depth run by one owner: taking a node of depth d > 0
// queues its two children. peak_queued is the most nodes held at once: LIFO (deque) walks the
// tree depth-first and holds about one sibling per level; FIFO (ring) walks it breadth-first,
// holds a whole level, and overflows to the injection queue, which the owner takes from (FIFO)
// when its ring is empty, as a Tokio worker does.
int depth_of(int* node) { return static_cast<int>(node - g_items); }

void BM_Deque_ForkJoinTree(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  WsDeque<int*> d;
  std::int64_t peak = 0;
  for (auto _ : state) {
    d.push(&g_items[depth]);
    while (int* x = d.pop()) {
      if (const int k = depth_of(x); k > 0) {
        d.push(&g_items[k - 1]);
        d.push(&g_items[k - 1]);
        if (d.size() > peak) peak = d.size();
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * ((std::int64_t{2} << depth) - 1));
  state.counters["peak_queued"] = static_cast<double>(peak);
}
BENCHMARK(BM_Deque_ForkJoinTree)->Arg(12);

void BM_Ring_ForkJoinTree(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  WsRing<int*> r;
  Inject inject;
  std::size_t inject_head = 0;  // the injection queue is FIFO
  std::int64_t peak = 0;
  auto next = [&]() -> int* {
    if (int* x = r.pop()) return x;
    if (inject_head == inject.items.size()) return nullptr;
    return inject.items[inject_head++];
  };
  for (auto _ : state) {
    r.push(&g_items[depth], inject);
    while (int* x = next()) {
      if (const int k = depth_of(x); k > 0) {
        r.push(&g_items[k - 1], inject);
        r.push(&g_items[k - 1], inject);
        const auto queued = static_cast<std::int64_t>(r.size() + inject.items.size() -
                                                      inject_head);
        if (queued > peak) peak = queued;
      }
    }
    inject.items.clear();
    inject_head = 0;
  }
  state.SetItemsProcessed(state.iterations() * ((std::int64_t{2} << depth) - 1));
  state.counters["peak_queued"] = static_cast<double>(peak);
}
BENCHMARK(BM_Ring_ForkJoinTree)->Arg(12);

}  // namespace
