// stealio's demo: a scheduler on every core running three kinds of work while an outside thread
// samples all_tasks(loop) live, then a per-loop report.
//   1. thousands of tasks that yield and are rescheduled (they migrate between workers);
//   2. a fork-join computation (fib, one task per call);
//   3. a relay: tasks on different workers awaiting each other's futures;
//   4. a pipeline: producers and consumers joined by a bounded Queue inside a TaskGroup, under a
//      timeout, then a stage that overruns its timeout and is cancelled (TimeoutError).
// Usage: stealio_demo [workers]
#include <stealio/stealio.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using stealio::Coro;
using stealio::Future;
using stealio::Task;

// 1. A task that does a little work per step and yields `steps` times.
Coro<std::uint64_t> yielder(int steps) {
  std::uint64_t acc = 0;
  for (int i = 0; i < steps; ++i) {
    for (int k = 0; k < 200; ++k) acc = acc * 6364136223846793005ULL + 1442695040888963407ULL;
    co_await stealio::yield();
  }
  co_return acc & 1;
}

Coro<std::uint64_t> yield_stage(int tasks, int steps) {
  std::vector<Task<std::uint64_t>> all;
  all.reserve(static_cast<std::size_t>(tasks));
  for (int i = 0; i < tasks; ++i) all.push_back(stealio::create_task(yielder(steps)));
  std::uint64_t n = 0;
  for (auto& t : all) n += co_await t + 1;
  co_return n;
}

// 2. Fork-join.
Coro<std::uint64_t> fib(int n) {
  if (n < 2) co_return n;
  Task<std::uint64_t> a = stealio::create_task(fib(n - 1));
  std::uint64_t b = co_await fib(n - 2);
  co_return co_await a + b;
}

// 3. A relay: runner i awaits runner i-1's future, adds one, completes its own.
Coro<int> runner(Future<int> in, Future<int> out) {
  int v = co_await in;
  out.set_result(v + 1);
  co_return v;
}

Coro<int> relay_stage(int length) {
  std::vector<Future<int>> links;
  for (int i = 0; i <= length; ++i) links.emplace_back();
  std::vector<Task<int>> runners;
  for (int i = 0; i < length; ++i) runners.push_back(stealio::create_task(runner(links[i], links[i + 1])));
  links[0].set_result(0);
  int end = co_await links[length];
  for (auto& r : runners) co_await r;
  co_return end;
}

// 4. A pipeline. Producers put numbers into a bounded queue (they wait when it is full);
// consumers square and sum them; all are children of one TaskGroup, the whole under a timeout.
Coro<void> producer(stealio::Queue<std::uint64_t>& q, std::uint64_t first, std::uint64_t count) {
  for (std::uint64_t i = first; i < first + count; ++i) co_await q.put(i);
}

Coro<void> consumer(stealio::Queue<std::uint64_t>& q, std::atomic<std::uint64_t>& sum) {
  for (;;) {
    std::uint64_t v;
    try {
      v = co_await q.get();
    } catch (const stealio::QueueShutDown&) {
      co_return;  // shut down and drained
    }
    sum.fetch_add(v * v, std::memory_order_relaxed);
    q.task_done();
  }
}

Coro<std::uint64_t> pipeline(int producers, int consumers, std::uint64_t per_producer) {
  stealio::Queue<std::uint64_t> q(64);
  std::atomic<std::uint64_t> sum{0};
  co_await stealio::task_group([&](stealio::TaskGroup& tg) -> Coro<void> {
    std::vector<Task<void>> made;
    for (int c = 0; c < consumers; ++c) tg.create_task(consumer(q, sum));
    for (int p = 0; p < producers; ++p) {
      made.push_back(tg.create_task(producer(q, p * per_producer, per_producer)));
    }
    for (auto& t : made) co_await t;
    co_await q.join();  // every item consumed
    q.shutdown();       // the consumers return
  });
  co_return sum.load();
}

Coro<std::uint64_t> pipeline_stage(int producers, int consumers, std::uint64_t per_producer) {
  co_return co_await stealio::timeout(absl::Seconds(30),
                                      pipeline(producers, consumers, per_producer));
}

// A stage that never finishes in time: timeout() cancels it and raises TimeoutError.
Coro<bool> overrun_stage() {
  try {
    co_await stealio::timeout(absl::Milliseconds(20), stealio::sleep(absl::Seconds(60)));
  } catch (const stealio::TimeoutError&) {
    co_return true;
  }
  co_return false;
}

// Samples all_tasks(loop) on every loop from an outside thread while the stages run.
class Sampler {
 public:
  explicit Sampler(stealio::Scheduler& s) : sched_(s), peak_(s.workers(), 0) {}
  void start() {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        std::vector<std::size_t> now;
        for (int i = 0; i < sched_.workers(); ++i) {
          std::vector<stealio::TaskRef> tasks = stealio::all_tasks(sched_.loop(i));
          now.push_back(tasks.size());
          std::lock_guard<std::mutex> l(mu_);
          peak_[i] = std::max(peak_[i], tasks.size());
          if (example_.empty() && !tasks.empty()) example_ = tasks.front()->repr();
        }
        {
          std::lock_guard<std::mutex> l(mu_);
          if (samples_.size() < 6) samples_.push_back(now);
          ++count_;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  }
  void stop() {
    stop_ = true;
    thread_.join();
  }
  void print() {
    std::lock_guard<std::mutex> l(mu_);
    std::printf("\nall_tasks(loop) sampled live %d times from an outside thread; first samples:\n",
                count_);
    for (const auto& s : samples_) {
      std::printf("  ");
      for (std::size_t i = 0; i < s.size(); ++i) std::printf("loop%zu=%-6zu ", i, s[i]);
      std::printf("\n");
    }
    std::printf("  peak per loop:");
    for (std::size_t i = 0; i < peak_.size(); ++i) std::printf(" loop%zu=%zu", i, peak_[i]);
    std::printf("\n  e.g. %s\n", example_.c_str());
  }

 private:
  stealio::Scheduler& sched_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::vector<std::size_t>> samples_;
  std::vector<std::size_t> peak_;
  std::string example_;
  int count_ = 0;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  int workers = argc > 1 ? std::atoi(argv[1]) : 0;
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = workers});
  std::printf("stealio demo: %d workers\n", sched.workers());
  Sampler sampler(sched);
  sampler.start();

  auto t0 = std::chrono::steady_clock::now();
  std::uint64_t yielded = sched.run(yield_stage(4000, 50));
  std::printf("1. 4000 tasks x 50 yields: %llu tasks done in %.3f s\n",
              static_cast<unsigned long long>(yielded), seconds_since(t0));

  t0 = std::chrono::steady_clock::now();
  std::uint64_t f = sched.run(fib(27));
  std::printf("2. fib(27) with one task per call: %llu (%s) in %.3f s\n",
              static_cast<unsigned long long>(f), f == 196418 ? "ok" : "WRONG", seconds_since(t0));

  t0 = std::chrono::steady_clock::now();
  int relay = sched.run(relay_stage(10000));
  std::printf("3. relay of 10000 tasks awaiting each other: %d (%s) in %.3f s\n", relay,
              relay == 10000 ? "ok" : "WRONG", seconds_since(t0));

  t0 = std::chrono::steady_clock::now();
  constexpr int kProducers = 4, kConsumers = 4;
  constexpr std::uint64_t kPer = 25000, kItems = kProducers * kPer;
  const std::uint64_t squares = sched.run(pipeline_stage(kProducers, kConsumers, kPer));
  const std::uint64_t want = (kItems - 1) * kItems * (2 * kItems - 1) / 6;  // sum of i*i, i < n
  std::printf("4. pipeline: %d producers -> Queue(64) -> %d consumers in a TaskGroup, %llu items "
              "under a 30 s timeout: %s in %.3f s\n",
              kProducers, kConsumers, static_cast<unsigned long long>(kItems),
              squares == want ? "ok" : "WRONG", seconds_since(t0));
  t0 = std::chrono::steady_clock::now();
  const bool timed_out = sched.run(overrun_stage());
  std::printf("   a 60 s sleep under a 20 ms timeout: %s after %.3f s\n",
              timed_out ? "TimeoutError" : "NO TIMEOUT", seconds_since(t0));

  sampler.stop();
  sampler.print();

  std::printf("\n%-6s %12s %12s %10s %10s %10s %8s\n", "loop", "steps", "callbacks", "steals",
              "migr-in", "migr-out", "parks");
  for (int i = 0; i < sched.workers(); ++i) {
    stealio::LoopStats s = sched.loop(i).stats();
    std::printf("%-6d %12llu %12llu %10llu %10llu %10llu %8llu\n", i,
                static_cast<unsigned long long>(s.steps), static_cast<unsigned long long>(s.callbacks),
                static_cast<unsigned long long>(s.steals),
                static_cast<unsigned long long>(s.migrations_in),
                static_cast<unsigned long long>(s.migrations_out),
                static_cast<unsigned long long>(s.parks));
  }
  bool ok = f == 196418 && relay == 10000 && yielded == 4000 && squares == want && timed_out;
  return ok ? 0 : 1;
}
