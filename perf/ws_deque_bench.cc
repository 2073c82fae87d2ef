// internal::WsDeque: the owner's push/pop pair, and taking an item by pop (owner) versus by
// steal (thief). Single-threaded: these are the uncontended costs, the common case.
#include "scheduler/internal/ws_deque.h"

#include <benchmark/benchmark.h>

#include <vector>

namespace {

using stealio::internal::WsDeque;

int g_items[1024];

// One push and one pop at the bottom: what a worker pays to queue and run one step locally.
void BM_PushPop(benchmark::State& state) {
  WsDeque<int*> d;
  for (auto _ : state) {
    d.push(&g_items[0]);
    benchmark::DoNotOptimize(d.pop());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PushPop);

// A batch of `n` pushes then `n` pops (LIFO), per item.
void BM_PushBatchThenPop(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  WsDeque<int*> d;
  for (auto _ : state) {
    for (int i = 0; i < n; ++i) d.push(&g_items[i & 1023]);
    for (int i = 0; i < n; ++i) benchmark::DoNotOptimize(d.pop());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_PushBatchThenPop)->Arg(16)->Arg(1024);

// The same batch taken from the top by steal (the thief's path: fence + CAS per item).
void BM_PushBatchThenSteal(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  WsDeque<int*> d;
  for (auto _ : state) {
    for (int i = 0; i < n; ++i) d.push(&g_items[i & 1023]);
    for (int i = 0; i < n; ++i) benchmark::DoNotOptimize(d.steal());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_PushBatchThenSteal)->Arg(16)->Arg(1024);

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

}  // namespace
