// Loop: the event loop of one worker thread.
//
// Every worker of a Scheduler runs one Loop. A loop runs callbacks (`call_soon`, in the order
// they were scheduled, never stolen by another worker), timers (`call_later`, `call_at`), and the
// task steps its worker takes from the scheduler's queues. Its current-task slot tells which task
// step it is running (see <stealio/lifetime.h>).
//
// Example:
//   stealio::Scheduler sched;
//   stealio::Loop& loop = sched.loop(0);
//   loop.call_soon_threadsafe([] { std::cout << "on worker 0\n"; });
//   stealio::TimerHandle h = loop.call_later(absl::Milliseconds(10), [] { std::cout << "later\n"; });
//   h.cancel();  // from any thread
#ifndef STEALIO_LOOP_H_
#define STEALIO_LOOP_H_

#include <atomic>
#include <mutex>
#include <chrono>
#include <cstdint>
#include <memory>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "stealio/task_base.h"

namespace stealio {
inline namespace v1 {

class Scheduler;
namespace internal {
class CurrentSlot;
class SchedulerCore;
class Worker;
struct TimerState;
// Sets `loop`'s current task to `task` whatever it held, returning the previous one, and
// records that `task` (when not null) now runs on `loop`. For eager task start (CPython's
// _swap_current_task) and steps run nested in another (inline joins); not part of the public
// protocol.
TaskBase* swap_current_task(Loop& loop, TaskBase* task);
void record_loop(Loop& loop, TaskBase& task) noexcept;
}  // namespace internal

using Callback = absl::AnyInvocable<void()>;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// A scheduled timer callback; asyncio's TimerHandle. Copyable; all copies name one timer.
class TimerHandle {
 public:
  TimerHandle() = default;
  // Prevents the callback from running, if it has not run yet. Safe from any thread.
  void cancel() const noexcept;
  bool cancelled() const noexcept;
  // When the callback is due.
  TimePoint when() const noexcept;

 private:
  friend class Loop;
  explicit TimerHandle(std::shared_ptr<internal::TimerState> s) : s_(std::move(s)) {}
  std::shared_ptr<internal::TimerState> s_;
};

// Per-loop counters, read with Loop::stats(). Each is monotonic.
struct LoopStats {
  std::uint64_t steps = 0;           // task steps this loop's worker ran
  std::uint64_t callbacks = 0;       // call_soon/timer callbacks run
  std::uint64_t steals = 0;          // task steps taken from another worker's queue
  std::uint64_t migrations_in = 0;   // enter_task of a task whose previous loop was another
  std::uint64_t migrations_out = 0;  // tasks that left this loop for another
  std::uint64_t parks = 0;           // times the worker went to sleep
};

class Loop {
 public:
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Schedules `fn` to run on this loop, after the callbacks already scheduled. Must be called on
  // this loop's worker; otherwise raises RuntimeError (as asyncio's debug mode does).
  void call_soon(Callback fn);
  // Like call_soon, from any thread; wakes the worker if it sleeps.
  void call_soon_threadsafe(Callback fn);
  // Runs `fn` on this loop after `delay` (from any thread). The handle cancels it.
  TimerHandle call_later(absl::Duration delay, Callback fn);
  // Runs `fn` on this loop at `when` (from any thread).
  TimerHandle call_at(TimePoint when, Callback fn);
  // asyncio's loop.create_task(coro, options): a Task whose first step runs on this loop's
  // worker (or at once, with eager start). Defined in <stealio/task.h>.
  template <class C, class... Options>
  auto create_task(C&& coro, Options&&... options);

  // The loop's monotonic clock.
  TimePoint time() const noexcept { return Clock::now(); }

  // True when the calling thread is this loop's worker.
  bool is_running_here() const noexcept;
  // True once the scheduler has shut down: scheduling on the loop raises `Event loop is closed`.
  bool is_closed() const noexcept;

  // Index of this loop's worker in its scheduler, 0..workers-1.
  int index() const noexcept { return index_; }
  Scheduler& scheduler() const noexcept { return *sched_; }
  LoopStats stats() const noexcept;

 private:
  friend class internal::CurrentSlot;
  friend class internal::Worker;
  friend class internal::SchedulerCore;
  friend void enter_task(Loop& loop, TaskBase& task);
  friend void leave_task(Loop& loop, TaskBase& task);
  friend TaskRef current_task(const Loop& loop);
  friend TaskBase* internal::swap_current_task(Loop& loop, TaskBase* task);
  friend void internal::record_loop(Loop& loop, TaskBase& task) noexcept;
  Loop(Scheduler& sched, internal::Worker& worker, int index) noexcept
      : sched_(&sched), worker_(&worker), index_(index) {}

  Scheduler* const sched_;
  internal::Worker* const worker_;
  const int index_;
  // The current task (a TaskBase*). Its writers: enter_task/leave_task (compare-and-swap, from
  // any thread) and the worker's nested steps (a plain store, swap_current_task). On a cache
  // line (64 bytes) apart from the fields above, which other workers read (a stolen or woken
  // task's loop->scheduler()) while this worker writes the slot on every step: fib(32) at two
  // workers 0.86x the time (alternating medians of 9, twice), unchanged at one.
  alignas(64) std::atomic<std::uintptr_t> slot_{0};
  // A thread other than the worker taking a reference to the task in the slot (current_task)
  // publishes it here first (a hazard pointer); whoever takes that task out of the slot waits
  // until it is cleared (lifetime.cc). One such reader per loop at a time.
  mutable std::atomic<std::uintptr_t> slot_hazard_{0};
  mutable std::mutex slot_reader_mu_;
  // Counted by enter_task from whichever thread records the migration.
  std::atomic<std::uint64_t> migrations_in_{0};
  std::atomic<std::uint64_t> migrations_out_{0};
};

// The loop of the calling worker. Raises RuntimeError `no running event loop` elsewhere.
Loop& get_running_loop();
// The loop of the calling worker, or null.
Loop* get_running_loop_or_null() noexcept;

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_LOOP_H_
