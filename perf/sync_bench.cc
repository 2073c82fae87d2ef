// Benchmarks of the synchronization primitives, each next to a thread-based baseline:
//   BM_LockHandoff        two tasks pinned to different workers pass a stealio::Lock back and
//                         forth (each waits for the lock the other holds): ns per hand-off
//   BM_MutexHandoff       the same with two threads, a std::mutex and a condition variable
//   BM_QueueThroughput    P producer and P consumer tasks on 2 workers through a
//                         stealio::Queue<int>(maxsize 64): items/s
//   BM_TbbQueueThroughput P producer and P consumer threads through a
//                         tbb::concurrent_bounded_queue<int> (capacity 64): items/s
// Run with
//   ./build/perf/sync_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "oneapi/tbb/concurrent_queue.h"
#include "stealio/event.h"
#include "stealio/lock.h"
#include "stealio/queue.h"
#include "stealio/task.h"

namespace {

constexpr int kHandoffs = 2000;
constexpr int kItems = 40000;

// Lock hand-off: a turn variable (guarded by the lock) says whose turn it is; a task that finds
// it is not its turn releases and re-acquires, which queues it behind the other (FIFO), so every
// acquire that succeeds with the right turn is one hand-off between workers.
stealio::Coro<void> handoff_side(stealio::Lock& lock, int& turn, int me, int n) {
  for (int i = 0; i < n;) {
    co_await lock.acquire();
    if (turn == me) {
      turn = 1 - me;
      ++i;
    }
    lock.release();
  }
}

stealio::Coro<void> lock_handoff(int n) {
  stealio::Lock lock;
  int turn = 0;
  stealio::Scheduler& sched = stealio::get_running_loop().scheduler();
  auto a = sched.loop(0).create_task(handoff_side(lock, turn, 0, n),
                                     stealio::TaskOptions().with_pinned());
  auto b = sched.loop(1).create_task(handoff_side(lock, turn, 1, n),
                                     stealio::TaskOptions().with_pinned());
  co_await a;
  co_await b;
}

void BM_LockHandoff(benchmark::State& state) {
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = 2});
  for (auto _ : state) sched.run(lock_handoff(kHandoffs));
  state.SetItemsProcessed(state.iterations() * 2 * kHandoffs);
  state.counters["ns_per_handoff"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 2 * kHandoffs,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_LockHandoff)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_MutexHandoff(benchmark::State& state) {
  for (auto _ : state) {
    std::mutex mu;
    std::condition_variable cv;
    int turn = 0;
    auto side = [&](int me) {
      for (int i = 0; i < kHandoffs; ++i) {
        std::unique_lock<std::mutex> l(mu);
        cv.wait(l, [&] { return turn == me; });
        turn = 1 - me;
        cv.notify_one();
      }
    };
    std::thread a(side, 0), b(side, 1);
    a.join();
    b.join();
  }
  state.SetItemsProcessed(state.iterations() * 2 * kHandoffs);
  state.counters["ns_per_handoff"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 2 * kHandoffs,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_MutexHandoff)->Unit(benchmark::kMillisecond)->UseRealTime();

stealio::Coro<void> produce(stealio::Queue<int>& q, int n) {
  for (int i = 0; i < n; ++i) co_await q.put(i);
}
stealio::Coro<void> consume(stealio::Queue<int>& q, int n, std::int64_t& sum) {
  for (int i = 0; i < n; ++i) sum += co_await q.get();
}

stealio::Coro<void> queue_throughput(int pairs, int items) {
  stealio::Queue<int> q(64);
  stealio::Scheduler& sched = stealio::get_running_loop().scheduler();
  const int per = items / pairs;
  std::vector<std::int64_t> sums(pairs, 0);
  std::vector<stealio::Task<void>> ts;
  for (int i = 0; i < pairs; ++i) {
    ts.push_back(sched.loop(i % sched.workers())
                     .create_task(produce(q, per), stealio::TaskOptions().with_pinned()));
    ts.push_back(sched.loop((i + 1) % sched.workers())
                     .create_task(consume(q, per, sums[i]), stealio::TaskOptions().with_pinned()));
  }
  for (auto& t : ts) co_await t;
  benchmark::DoNotOptimize(sums.data());
}

void BM_QueueThroughput(benchmark::State& state) {
  const int pairs = static_cast<int>(state.range(0));
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = 2});
  for (auto _ : state) sched.run(queue_throughput(pairs, kItems));
  state.SetItemsProcessed(state.iterations() * (kItems / pairs) * pairs);
}
BENCHMARK(BM_QueueThroughput)->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TbbQueueThroughput(benchmark::State& state) {
  const int pairs = static_cast<int>(state.range(0));
  const int per = kItems / pairs;
  for (auto _ : state) {
    tbb::concurrent_bounded_queue<int> q;
    q.set_capacity(64);
    std::vector<std::thread> threads;
    std::vector<std::int64_t> sums(pairs, 0);
    for (int i = 0; i < pairs; ++i) {
      threads.emplace_back([&q, per] {
        for (int k = 0; k < per; ++k) q.push(k);
      });
      threads.emplace_back([&q, &sums, per, i] {
        int v;
        for (int k = 0; k < per; ++k) {
          q.pop(v);
          sums[i] += v;
        }
      });
    }
    for (auto& t : threads) t.join();
    benchmark::DoNotOptimize(sums.data());
  }
  state.SetItemsProcessed(state.iterations() * per * pairs);
}
BENCHMARK(BM_TbbQueueThroughput)->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
