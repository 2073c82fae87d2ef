// TaskCore: the untyped engine of stealio's Task<T> (asyncio.Task): a TaskBase that drives a
// coroutine, step by step, and a FutureCore that holds its outcome.
//
// A step (step(), or run_eager() inside create_task) enters the loop (enter_task), installs the
// task's context, resumes the coroutine where it stopped, and leaves. The coroutine stops by
// finishing, by awaiting a pending future (suspend_on), or by yielding (suspend_yield). What to
// do next is decided *after* leave_task (after_step): register as the future's waiter, or queue
// the next step, or complete. So the next step can never start, on another worker, before this
// one has left its loop (asyncio's Task.__step does the same: add_done_callback after the yield).
//
// Cancellation (asyncio 3.13), under mu_: cancel() counts into cancelling(); if the task waits
// on a future it cancels that future (whose CancelledError then reaches the coroutine), otherwise
// it sets must_cancel_, and the next resumption throws CancelledError(msg) into the coroutine
// at its await (or, before the first step, ends the task without running it). uncancel()
// decrements and at zero clears a must_cancel_ not yet delivered. A coroutine that returns while
// must_cancel_ is set ends cancelled. A request takes effect where cancel() counts it: when the
// task waits on a future, cancel() cancels that future outside mu_ ("in flight"), and a last step
// that ends meanwhile leaves the outcome to cancel() (cancels_in_flight_), which then knows
// whether the future delivered the request or the task must end cancelled. The requests behind
// must_cancel_ are counted (pending_cancels_) in numbered batches, so that a Timeout scope can
// tell at its exit whether its own request is still undelivered, and withdraw it.
//
// Threads: the coroutine and resume_/awaiting_/yield_ belong to the step in progress (steps of
// one task never overlap). fut_waiter_, must_cancel_, cancel message and count are under mu_,
// since cancel() may come from any thread. must_cancel_ is also read without mu_ at the start of
// a step and after a suspension (almost always false: no lock taken); a request that read misses
// is one made during the step, and cancel() re-reads fut_waiter_ under mu_ before it settles
// for must_cancel_, so it is never left waiting for the awaited future to complete on its own.
#ifndef STEALIO_TASKS_INTERNAL_TASK_CORE_H_
#define STEALIO_TASKS_INTERNAL_TASK_CORE_H_

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "stealio/context.h"
#include "stealio/internal/frame_alloc.h"
#include "stealio/internal/future_core.h"
#include "stealio/task_base.h"

namespace stealio {
inline namespace v1 {
namespace internal {

class TaskCore : public TaskBase, public FutureCore {
 public:
  // Task objects, like coroutine frames, are created on one worker and often freed on another:
  // they come from the same allocator (frame_alloc.h).
  static void* operator new(std::size_t size) { return frame_alloc(size); }
  static void operator delete(void* p, std::size_t size) noexcept { frame_free(p, size); }

  void retain() const noexcept override { TaskBase::retain(); }
  void release() const noexcept override { TaskBase::release(); }
  void release_n(std::uint32_t n) const noexcept override { release_many(n); }
  bool done() const noexcept { return FutureCore::done(); }

  void step() override;
  // A step run nested inside another task's step on the running loop: the first step inside
  // create_task (eager start), or a step taken back from the deque by the task awaiting it
  // (inline join). The loop's current task is swapped for this one and restored after.
  void run_nested(Loop& loop);
  bool step_nested(Loop& loop) override {
    run_nested(loop);
    return true;
  }

  bool cancel(std::string msg) override;
  int cancelling() const;
  // cancelling(), less the requests not delivered yet (pending_cancels_: made during the running
  // step, by the task itself or, on another worker, from outside). What a scope that is being entered
  // counts as "already seen": a pending request is delivered inside the scope, and the scope
  // must not take it for its own (CPython gh-134471).
  int cancelling_delivered() const;
  int uncancel();

  // For a Timeout scope: cancel() that also records whether the request was left pending (made
  // while the task runs, not delivered yet) and in which batch of pending requests.
  struct CancelTicket {
    bool pending = false;
    std::uint32_t batch = 0;
  };
  bool cancel_for_scope(CancelTicket& ticket);
  // The scope's uncancel() at its exit. When the scope's request is still pending (the timer
  // fired on another worker during the step that now leaves the scope), it is also taken out of
  // the pending requests, so that it cannot cancel the task after the scope: asyncio, on one
  // thread, always delivers the scope's cancellation before the scope can exit.
  int uncancel_for_scope(const CancelTicket& ticket);

  // Called by awaiters in the coroutine, during a step of this task.
  void suspend_on(FutureCore& f, std::coroutine_handle<> h);
  void suspend_yield(std::coroutine_handle<> h);
  // The exception to throw at the await that just resumed (a delivered cancellation), or null.
  std::exception_ptr take_resume_exception() noexcept;
  // Called when the awaited future is done: schedules the next step.
  // `fifo`: behind the work already queued on this worker (a plain future's waiters), else
  // next (a joined task's).
  void wakeup(TaskRef self, bool fifo);

  std::string describe() const override { return repr(); }

 protected:
  // Takes ownership of the coroutine's frame, which the first step resumes. The task runs in
  // `given`, shared, or when it is null in a copy of the creator's current context. The slot is
  // made here, in place: passed down by value, its two shared_ptrs cost a move and two null
  // checks per hop (~18 instructions per task in skynet, callgrind).
  TaskCore(Loop& loop, bool pinned, const Context* given, std::coroutine_handle<> frame);
  ~TaskCore() { destroy_coroutine(); }

  // The frame, type-erased: destroying it needs no typed handle, so it costs no virtual call.
  // Null once the coroutine ended (it frees its frame itself: task_coroutine_ended()) or was
  // destroyed unfinished (complete() of a task cancelled before its first step, abandon()).
  // So after a step, a started task without a frame has ended (no flag: TaskState<int> stays
  // at 256 bytes).
  std::coroutine_handle<> frame() const noexcept { return frame_; }
  void destroy_coroutine() noexcept {
    if (frame_) std::exchange(frame_, {}).destroy();
  }

  // The typed side (TaskState<T>): moves the value out of the ended coroutine's promise into
  // the task. Called by task_coroutine_ended(), in the last step, before the state is published.
  virtual void take_value() = 0;

  void abandon() noexcept override;
  const char* state_name() const noexcept override;

 private:
  friend void task_coroutine_ended(TaskCore& task, std::exception_ptr& error) noexcept;
  void resume_in_step();
  bool take_cancel_before_resume();
  void after_step();
  void after_suspension();  // after_step() of a step that suspended
  void deliver_cancel_to(FutureCore& f);
  void complete();
  // With mu_ held: decides the outcome (a must_cancel_ still set turns a value into a
  // cancellation) and publishes it.
  Waiters publish_outcome_locked(std::exception_ptr&& error,
                                 std::unique_ptr<std::string> cancelled_by);
  bool cancel(std::string msg, CancelTicket* ticket);
  int uncancel_locked();
  // With mu_ held: `n` more requests pending (must_cancel_), with the message.
  void request_cancel_locked(std::string msg, int n);
  // With mu_ held: the pending requests are delivered, handed on or withdrawn; returns how many.
  int take_pending_locked(bool new_batch);
  // Cancels `waiting_on` for `n` requests counted in cancels_in_flight_ (outside mu_), follows
  // the task to the next future it awaits meanwhile, and lands them. `handed_batch`: they are
  // the pending batch deliver_cancel_to() handed on (else one new request). Returns true when
  // they were left pending (the future did not take them), with their batch in *batch.
  bool cancel_in_flight(CoreRef waiting_on, std::string msg, int n, bool handed_batch,
                        std::uint32_t* batch);
  // With mu_ held: `n` requests in flight (one cancels_in_flight_ entry) have landed;
  // `delivered`: the awaited future took them. Returns true when it was the last in flight and
  // the last step ended meanwhile: `ws` then holds the published outcome's waiters, for the
  // caller to dispatch outside mu_ before destroying the coroutine.
  bool land_cancel_locked(bool delivered, std::string msg, int n, bool handed_batch, Waiters& ws);
  std::string cancel_request_text() const;  // with mu_ held

  std::coroutine_handle<> frame_;  // owned
  std::coroutine_handle<> resume_;
  CoreRef awaiting_;
  // The exception to throw at the await that resumes next (a delivered cancellation); once the
  // coroutine ended (no frame_), the exception it ended with, or the cancellation of a task
  // cancelled before its first step (!started_).
  std::exception_ptr resume_exception_;
  ContextSlot context_;
  // Guarded by mu_ (FutureCore's lock).
  CoreRef fut_waiter_;
  std::unique_ptr<std::string> cancel_request_msg_;  // rare: kept out of line
  int num_cancels_ = 0;
  // The requests behind must_cancel_ (made during a step, not delivered yet; saturates), and the
  // number of the batch they belong to, which moves on each time a batch is delivered or
  // withdrawn. 16-bit counts keep TaskState<int> at 256 bytes.
  std::uint16_t pending_cancels_ = 0;
  // cancel() and deliver_cancel_to() calls between their two critical sections (the awaited
  // future's cancel() runs between). While any is, complete() leaves the outcome to the last of
  // them.
  std::uint16_t cancels_in_flight_ = 0;
  std::uint32_t pending_batch_ = 0;
  std::atomic<bool> must_cancel_{false};  // written under mu_; read first without it
  bool completing_ = false;  // under mu_: the last step ended; cancel() returns false from here
  // Step-local, like resume_.
  bool yield_ = false;
  bool started_ = false;
};

// The task whose step runs on the calling thread, or null. Out of line (thread-local).
TaskCore* running_task() noexcept;
// Schedules the next step of a task whose awaited future completed.
void wake_task(TaskRef task, bool fifo) noexcept;

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_TASKS_INTERNAL_TASK_CORE_H_
