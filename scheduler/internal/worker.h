// Worker: one thread of a Scheduler, running its Loop.
//
// Queues a worker owns:
//   deque_    Chase–Lev deque of stealable task steps; owner pushes/pops the bottom (LIFO),
//             thieves steal the top.
//   yield_    FIFO of stealable steps that gave way (schedule_step_yield: `await sleep(0)`).
//   pinned_   FIFO of steps bound to this loop (pinned tasks); any thread pushes, never stolen.
//   ready_    callbacks from call_soon, owner only, run in order.
//   inbox_    callbacks from call_soon_threadsafe and timers armed from other threads.
//   timers_   the loop's timer wheel, owner only.
//
// One turn of the loop (run()): take the inbox, fire due timers, run the callbacks that are ready
// (those queued when the batch starts, as asyncio does), then one task step: from the deque,
// else the pinned queue, the yield queue, the injection queue; else search (steal); else sleep.
// Every 61st turn the order starts with the injection queue, the pinned and yield queues and the
// *top* of the own deque, so a task that reschedules itself forever cannot starve the rest
// (Go and Tokio use the same interval).
//
// Threads: everything but the thief side of deque_/yield_, pinned_, the inbox and the parker is
// touched only by the worker's own thread.
#ifndef STEALIO_INTERNAL_WORKER_H_
#define STEALIO_INTERNAL_WORKER_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "scheduler/internal/mutex.h"
#include "scheduler/internal/atomic.h"
#include "scheduler/internal/parker.h"
#include "scheduler/internal/task_queue.h"
#include "scheduler/internal/timer_wheel.h"
#include "scheduler/internal/ws_deque.h"
#include "stealio/loop.h"

namespace stealio {
inline namespace v1 {
namespace internal {

class SchedulerCore;

// Access to TaskBase's private fields for the scheduler's internals.
class WorkerAccess {
 public:
  static Loop& home(const TaskBase& t) noexcept { return *t.home_; }
};

class Worker {
 public:
  Worker(SchedulerCore& core, Scheduler& sched, int index);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // The thread body.
  void run();

  Loop& loop() noexcept { return loop_; }
  int index() const noexcept { return index_; }
  SchedulerCore& core() const noexcept { return core_; }
  Parker& parker() noexcept { return parker_; }

  // Owner only.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void push_local(TaskBase* t) { deque_.push(t); }
  // Takes `t` back if it is the step this worker pushed last and nobody took it (inline join).
  // The caller then owns the queue's reference.
  bool take_back(TaskBase* t) { return deque_.pop_if_bottom(t); }
  // Whether `t` is among the `depth` steps this worker pushed last (a hint; see WsDeque). `at`:
  // where it was found last time, -1 at first.
  bool holds_near_bottom(TaskBase* t, int depth, std::int64_t& at) const {
    return deque_.holds_near_bottom(t, depth, at);
  }
  // The step this worker pushed last, with the queue's reference; null when none is left.
  ABSL_ATTRIBUTE_ALWAYS_INLINE TaskBase* take_bottom() { return deque_.pop(); }
  // Steps run nested inside another (joins that help): false once the step the worker's loop
  // is running has nested kMaxNestedSteps; the join then suspends, and the loop gets its turn
  // (callbacks, timers, the injection queue) within that bound.
  bool may_nest() const noexcept { return nested_steps_ < kMaxNestedSteps; }
  void count_nested_step() noexcept {
    ++nested_steps_;
    steps_.store(steps_.load(memory_order_relaxed) + 1, memory_order_relaxed);
  }
  static constexpr int kMaxNestedSteps = 2048;
  void push_yield(TaskBase* t) { yield_.push(t); }
  void call_soon(Callback fn) { ready_.push_back(std::move(fn)); }
  void add_timer(std::shared_ptr<TimerState> t) { timers_.add(std::move(t)); }

  // Any thread.
  void push_pinned(TaskBase* t);
  void call_soon_threadsafe(Callback fn);
  // A thief's attempt on this worker's stealable queues.
  TaskBase* steal_from();
  bool has_stealable_work() const noexcept { return !deque_.empty() || !yield_.empty(); }
  LoopStats stats() const noexcept;

  // After the thread has been joined: drops every queued step, callback and timer.
  void drain_at_shutdown();

 private:
  void drain_inbox();
  void fire_due_timers();
  void run_ready();
  void run_callback(Callback& fn) noexcept;
  void run_step(TaskBase* t) noexcept;
  TaskBase* next_local();
  TaskBase* take_injected();
  TaskBase* search();
  void sleep();
  bool work_visible() const noexcept;

  // The most steps a worker takes from the injection queue at once.
  static constexpr std::size_t kInjectBatch = 32;
  // How long a lone worker lets an outside producer run ahead (take_injected).
  static constexpr std::chrono::nanoseconds kRunAhead{2500};
  // The deque's first ring; it doubles when full.
  static constexpr std::int64_t kDequeCapacity = 1024;

  SchedulerCore& core_;
  const int index_;
  Loop loop_;
  WsDeque<TaskBase*> deque_;
  // A lone worker's batch from the injection queue, served oldest first (take_injected); with
  // more workers a batch goes on the deque, where the others can steal it.
  TaskBase* injected_[kInjectBatch] = {};
  std::size_t injected_next_ = 0;
  std::size_t injected_end_ = 0;
  // A lone worker's last take from the injection queue was a partial batch (take_injected);
  // cleared when it finds the queue empty, takes a full batch, or parks.
  bool short_batch_ = false;
  TaskQueue yield_;
  TaskQueue pinned_;
  std::deque<Callback> ready_;
  TimerWheel timers_;
  std::vector<Callback> due_;  // scratch for fire_due_timers
  std::uint64_t tick_ = 0;
  int nested_steps_ = 0;  // inside the step run_step is running
  std::minstd_rand rng_;

  alignas(kCacheLine) atomic<bool> inbox_pending_{false};
  Mutex inbox_mu_;
  std::vector<Callback> inbox_ ABSL_GUARDED_BY(inbox_mu_);
  Parker parker_;

  // Counters: written by the owner only (relaxed), read by anyone.
  alignas(kCacheLine) atomic<std::uint64_t> steps_{0};
  atomic<std::uint64_t> callbacks_{0};
  atomic<std::uint64_t> steals_{0};
  atomic<std::uint64_t> parks_{0};
};

// The worker the calling thread runs, or null. Out of line: a coroutine may resume on another
// thread, so nothing may cache the thread-local's address across a suspension.
Worker* current_worker() noexcept;

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_INTERNAL_WORKER_H_
