#include "scheduler/internal/worker.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <thread>

#include "scheduler/internal/scheduler_core.h"

namespace stealio {
inline namespace v1 {
namespace internal {
namespace {

thread_local Worker* tls_worker = nullptr;
constexpr std::uint64_t kFairnessInterval = 61;

// absl's clock for the parker from the loop's steady clock.
absl::Time to_absl_deadline(TimePoint when) {
  return absl::Now() + absl::FromChrono(when - Clock::now());
}

void bump(atomic<std::uint64_t>& c) {
  c.store(c.load(memory_order_relaxed) + 1, memory_order_relaxed);
}

}  // namespace

Worker* current_worker() noexcept { return tls_worker; }

Worker::Worker(SchedulerCore& core, Scheduler& sched, int index)
    : core_(core),
      index_(index),
      loop_(sched, *this, index),
      // A lone worker's deque has no thieves: search() steals only from the others.
      deque_(kDequeCapacity, core.options().workers == 1 ? WsDeque<TaskBase*>::Thieves::kOwnerOnly
                                                         : WsDeque<TaskBase*>::Thieves::kAnyThread),
      rng_(static_cast<unsigned>(index) * 7919u + 1u) {}

void Worker::push_pinned(TaskBase* t) {
  pinned_.push(t);
  if (tls_worker != this) parker_.unpark();
}

void Worker::call_soon_threadsafe(Callback fn) {
  {
    MutexLock lock(&inbox_mu_);
    inbox_.push_back(std::move(fn));
    inbox_pending_.store(true, memory_order_release);
  }
  if (tls_worker != this) parker_.unpark();
}

TaskBase* Worker::steal_from() {
  if (TaskBase* t = deque_.steal()) return t;
  return yield_.try_pop();
}

LoopStats Worker::stats() const noexcept {
  LoopStats s;
  s.steps = steps_.load(memory_order_relaxed);
  s.callbacks = callbacks_.load(memory_order_relaxed);
  s.steals = steals_.load(memory_order_relaxed);
  s.parks = parks_.load(memory_order_relaxed);
  s.migrations_in = loop_.migrations_in_.load(memory_order_relaxed);
  s.migrations_out = loop_.migrations_out_.load(memory_order_relaxed);
  return s;
}

void Worker::run() {
  tls_worker = this;
  core_.registry().bind_owner(index_);
  while (!core_.stopping()) {
    ++tick_;
    if (inbox_pending_.load(memory_order_acquire)) drain_inbox();
    if (!timers_.empty()) fire_due_timers();
    if (!ready_.empty()) run_ready();
    TaskBase* t = next_local();
    if (!t) t = search();
    if (t) {
      run_step(t);
      continue;
    }
    if (!ready_.empty()) continue;
    sleep();
  }
  tls_worker = nullptr;
}

void Worker::drain_inbox() {
  std::vector<Callback> batch;
  {
    MutexLock lock(&inbox_mu_);
    batch.swap(inbox_);
    inbox_pending_.store(false, memory_order_relaxed);
  }
  for (Callback& fn : batch) ready_.push_back(std::move(fn));
}

void Worker::fire_due_timers() {
  timers_.pop_due(Clock::now(), due_);
  for (Callback& fn : due_) ready_.push_back(std::move(fn));
  due_.clear();
}

void Worker::run_ready() {
  // Only the callbacks ready now: those they schedule run on the next turn (asyncio's rule).
  for (std::size_t n = ready_.size(); n > 0 && !ready_.empty(); --n) {
    Callback fn = std::move(ready_.front());
    ready_.pop_front();
    run_callback(fn);
  }
}

void Worker::run_callback(Callback& fn) noexcept {
  bump(callbacks_);
  try {
    fn();
  } catch (...) {
    core_.call_exception_handler(
        {"Exception in callback", std::current_exception(), std::string(), &loop_});
  }
}

void Worker::run_step(TaskBase* t) noexcept {
  bump(steps_);
  nested_steps_ = 0;
  try {
    t->step();
  } catch (...) {
    core_.call_exception_handler(
        {"Exception in task step", std::current_exception(), t->repr(), &loop_});
  }
  t->release();
}

TaskBase* Worker::next_local() {
  TaskBase* t;
  if (tick_ % kFairnessInterval == 0) {
    if ((t = take_injected())) return t;
    if ((t = pinned_.pop())) return t;
    if ((t = yield_.pop())) return t;
    if ((t = deque_.steal())) return t;  // the oldest step of our own deque
  }
  if ((t = deque_.pop())) return t;
  if ((t = pinned_.pop())) return t;
  if ((t = yield_.pop())) return t;
  return take_injected();
}

// Takes a share of the injection queue in one lock acquisition (its length over the number of
// workers, plus one, at most kInjectBatch): returns the oldest step and pushes the others onto
// our deque, newest first, so that we pop them in the order they were submitted and idle workers
// can steal them from us. Then wakes a worker if any is parked and nobody searches or polls. A
// task spawned from outside is registered in our shard as we take it (Registry::adopt_queued).
//
// A lone worker has nobody to share with, and the fairness turn in next_local() (the injection
// queue before the deque) would run a newer batch before the rest of an older one on the deque.
// So it keeps its batch apart (injected_) and serves it before taking another: steps from outside
// run in submission order. It takes a full batch: when it took one step per lock, the queue's
// lock line moved between the spawning thread and the worker on every task (perf, 1,000,000
// outside spawns at one worker: 35% of the samples where that lock is taken), and the batch made
// that run 6% faster (alternating runs). The rest is the tasks' own lines moving to the worker.
TaskBase* Worker::take_injected() {
  if (injected_next_ < injected_end_) return injected_[injected_next_++];
  TaskQueue& q = core_.inject();
  const std::size_t workers = static_cast<std::size_t>(core_.num_workers());
  // A task registered through the queue moves into our shard, under the queue's lock.
  Registry& registry = core_.registry();
  auto adopt = [&](TaskBase& t) { registry.adopt_queued(t, index_); };
  if (workers == 1) {
    // A short batch again, right after a short one: the producer is adding steps about as fast
    // as we run them, and taking each as it comes keeps the two in lockstep, the lock's line
    // moving between them twice per step. Let it run ahead for a moment and take a fuller batch
    // (Go's scheduler waits ~3 us before stealing a running P's runnext, for the same reason).
    // 1,000,000 outside spawns at one worker, 15 alternating runs on our 2-core machine: median
    // 0.528 -> 0.383 s (a 5 us wait: 0.457 s). A queue found empty ends the streak, so a producer
    // that leaves the worker idle between its steps never makes it wait; nor does it wait with
    // work of its own (the fairness turn in next_local).
    const std::size_t queued = q.size();
    if (short_batch_ && queued > 0 && queued < kInjectBatch && deque_.empty() &&
        yield_.empty() && pinned_.empty()) {
      const auto until = std::chrono::steady_clock::now() + kRunAhead;
      while (std::chrono::steady_clock::now() < until) cpu_relax();
    }
    injected_next_ = 0;
    injected_end_ = q.pop_batch(injected_, kInjectBatch, adopt);
    short_batch_ = injected_end_ > 0 && injected_end_ < kInjectBatch;
    return injected_end_ > 0 ? injected_[injected_next_++] : nullptr;
  }
  // Several workers: give up at once if the queue is locked (TaskQueue::try_pop_batch).
  TaskBase* batch[kInjectBatch];
  const std::size_t want = std::min(q.size() / workers + 1, kInjectBatch);
  const std::size_t n = q.try_pop_batch(batch, want, adopt);
  if (n == 0) return nullptr;
  for (std::size_t i = n - 1; i > 0; --i) deque_.push(batch[i]);
  if (n > 1) core_.idle().notify_work();
  return batch[0];
}

TaskBase* Worker::search() {
  Idle& idle = core_.idle();
  if (!idle.begin_search()) return nullptr;
  const int n = core_.num_workers();
  TaskBase* t = nullptr;
  for (int round = 0; round < 2 && !t; ++round) {
    const int start = static_cast<int>(rng_() % static_cast<unsigned>(n));
    for (int i = 0; i < n && !t; ++i) {
      const int victim = (start + i) % n;
      if (victim == index_) continue;
      t = core_.worker(victim).steal_from();
    }
    if (t) {
      bump(steals_);
    } else {
      t = take_injected();
    }
  }
  // The last searcher to find work wakes another worker: there may be more.
  if (idle.end_search() && t) idle.notify_work();
  return t;
}

bool Worker::work_visible() const noexcept {
  if (core_.stopping() || inbox_pending_.load(memory_order_acquire) || !ready_.empty()) {
    return true;
  }
  if (!pinned_.empty() || !core_.inject().empty()) return true;
  for (int i = 0; i < core_.num_workers(); ++i) {
    if (core_.worker(i).has_stealable_work()) return true;
  }
  return false;
}

void Worker::sleep() {
  // Poll a while before parking: work that arrives meanwhile (an outside thread spawning one
  // task at a time, a task woken by the other worker) is taken without the futex round trip of
  // a park and an unpark (~30 us on our machines; perf on 1,000,000 outside spawns at one worker
  // showed most of the time in the kernel). While a worker polls, pushers wake nobody (idle.h):
  // the poller will see their work. It yields the CPU between its last polls and then parks, so
  // an idle scheduler still burns nothing.
  //
  // Every poll reads lines that busy threads write (the injection queue, each deque's ends), so
  // each poll costs the writer a cache-line transfer. Hence few pollers (Idle::begin_poll: a
  // quarter of the workers, at least 2; the rest park at once) and polls that back off from 32 to
  // at most 256 pauses apart, which bounds how late a poller notices new work (a polling worker
  // is not woken by pushers). 1,000,000 outside spawns at 16 workers on the 16-core device,
  // seconds, 3 runs: every idle worker polling every 32 pauses 4.0-4.4; a quarter polling
  // 1.5-1.7; all backing off to 4096 pauses 1.8-2.2; a quarter backing off to 4096 1.4-1.5, but
  // then a poller could take ~0.3 ms to notice work and the blocked matmul at 16 threads went
  // 0.044-0.118 s; this schedule 1.8-1.9, matmul 0.041-0.049 (oneTBB 0.031-0.035, same run).
  constexpr int kPolls = 16;
  constexpr int kMaxPauses = 256;
  Idle& idle = core_.idle();
  if (idle.begin_poll()) {
    bool found = false;
    for (int poll = 0, pauses = 32; poll < kPolls && !found;
         ++poll, pauses = std::min(2 * pauses, kMaxPauses)) {
      for (int i = 0; i < pauses; ++i) cpu_relax();
      found = work_visible();
      if (!found && poll >= kPolls / 2) std::this_thread::yield();
    }
    idle.end_poll();
    if (found) return;
  }
  idle.add_sleeper(index_);
  if (work_visible()) {
    idle.remove_sleeper(index_);
    return;
  }
  std::optional<absl::Time> deadline;
  if (std::optional<TimePoint> when = timers_.next_deadline()) {
    deadline = to_absl_deadline(*when);
  }
  bump(parks_);
  short_batch_ = false;
  parker_.park(deadline);
  idle.remove_sleeper(index_);
}

void Worker::drain_at_shutdown() {
  drain_inbox();
  ready_.clear();
  timers_.clear();
  while (injected_next_ < injected_end_) injected_[injected_next_++]->release();
  while (TaskBase* t = deque_.pop()) t->release();
  while (TaskBase* t = yield_.pop()) t->release();
  while (TaskBase* t = pinned_.pop()) t->release();
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio
