#include "stealio/internal/task_core.h"

#include <algorithm>

#include "scheduler/internal/current_slot.h"
#include "scheduler/internal/mutex.h"
#include "scheduler/internal/scheduler_core.h"
#include "stealio/errors.h"
#include "stealio/lifetime.h"
#include "stealio/scheduler.h"

namespace stealio {
inline namespace v1 {
namespace internal {
namespace {
thread_local TaskCore* tls_running = nullptr;

// Swaps the running-task thread-local for the duration of a resumption (eager steps nest).
class RunningScope {
 public:
  explicit RunningScope(TaskCore* t) noexcept : prev_(tls_running) { tls_running = t; }
  ~RunningScope() { tls_running = prev_; }

 private:
  TaskCore* const prev_;
};
}  // namespace

TaskCore* running_task() noexcept { return tls_running; }

void wake_task(TaskRef task, bool fifo) noexcept {
  TaskCore& t = static_cast<TaskCore&>(*task);
  t.wakeup(std::move(task), fifo);
}

TaskCore::TaskCore(Loop& loop, bool pinned, const Context* given, std::coroutine_handle<> frame)
    : TaskBase(loop, pinned),
      FutureCore(loop, true),
      frame_(frame),
      resume_(frame),
      context_(given ? ContextSlot(*given) : ContextSlot::inherit_current()) {}

const char* TaskCore::state_name() const noexcept {
  switch (state()) {
    case FutureState::kPending:
      return "pending";
    case FutureState::kCancelled:
      return "cancelled";
    case FutureState::kFinished:
      break;
  }
  return "finished";
}

// Inlined into step() and run_nested(): a call of its own saved and restored six registers on
// every step. The rare part, a pending cancel request, stays out of line.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void TaskCore::resume_in_step() {
  // Unlocked first look: a cancel() that sets the flag after this read is one made during the
  // step, and reaches the task after it (deliver_cancel_to, complete), as in asyncio.
  if (must_cancel_.load(std::memory_order_acquire)) [[unlikely]] {
    if (!take_cancel_before_resume()) return;
  }
  started_ = true;
  RunningScope running(this);
  ContextScope scope(context_);
  std::exchange(resume_, {}).resume();
}

// The CancelledError the step throws into the coroutine; false when the task was cancelled
// before its first step: then the coroutine never runs (after_step completes the task).
ABSL_ATTRIBUTE_NOINLINE bool TaskCore::take_cancel_before_resume() {
  SpinGuard lock(mu_);
  if (must_cancel_.load(std::memory_order_relaxed)) {
    take_pending_locked(/*new_batch=*/true);
    resume_exception_ = std::make_exception_ptr(CancelledError(cancel_request_text()));
    if (!started_) return false;
  }
  return true;
}

void TaskCore::step() {
  Loop& loop = get_running_loop();
  CurrentSlot::enter(loop, *this);  // enter_task, on the worker's own path
  resume_in_step();
  CurrentSlot::leave(loop, *this);  // leave_task
  after_step();
}

void TaskCore::run_nested(Loop& loop) {
  TaskBase* previous = CurrentSlot::swap(loop, this);
  resume_in_step();
  CurrentSlot::swap(loop, previous);
  after_step();
}

std::exception_ptr TaskCore::take_resume_exception() noexcept {
  return std::exchange(resume_exception_, nullptr);
}

void TaskCore::suspend_on(FutureCore& f, std::coroutine_handle<> h) {
  awaiting_ = CoreRef(&f);
  resume_ = h;
}

void TaskCore::suspend_yield(std::coroutine_handle<> h) {
  yield_ = true;
  resume_ = h;
}

// From the coroutine's final await, its frame still alive: takes the value, or the exception
// (into resume_exception_, which complete() reads), and lets go of the frame, which frees itself
// when this returns.
void task_coroutine_ended(TaskCore& task, std::exception_ptr& error) noexcept {
  if (error) [[unlikely]] {
    task.resume_exception_ = std::move(error);
  } else {
    try {
      task.take_value();
    } catch (...) {  // T's move threw: the task fails with that, rather than never ending
      task.resume_exception_ = std::current_exception();
    }
  }
  task.frame_ = {};  // the coroutine has ended (after_step)
}

// Two tail calls: the paths after a last step and after a suspension each save only the
// registers they need (one function holding both saved six and set up a 152-byte frame for the
// exception handler's message on every call).
void TaskCore::after_step() {
  if (!started_ || !frame_) {  // cancelled before its first step, or the coroutine ended
    complete();
    return;
  }
  after_suspension();
}

ABSL_ATTRIBUTE_NOINLINE void TaskCore::after_suspension() {
  if (awaiting_) {
    CoreRef f = std::move(awaiting_);
    {
      SpinGuard lock(mu_);
      fut_waiter_ = f;
    }
    // From here on the next step may start on another worker: touch nothing of the task but
    // the fields under mu_ (the caller's reference keeps it alive).
    if (!f->add_task_waiter(*this)) {
      wakeup(TaskRef(this), !f->is_task());
      return;
    }
    deliver_cancel_to(*f.get());
    return;
  }
  if (yield_) {
    yield_ = false;
    schedule_step_yield(TaskRef(this));
    return;
  }
  // The coroutine suspended on an awaitable that is not stealio's: nothing will resume it.
  get_loop()->scheduler().call_exception_handler(
      {"Task suspended on an awaitable that is not stealio's; it will never resume",
       nullptr, repr(), get_loop()});
}

void TaskCore::deliver_cancel_to(FutureCore& f) {
  // A cancel() that came while the step ran (from the coroutine itself, or from another thread:
  // a timeout's timer) found no future to cancel and set must_cancel_. asyncio's __step cancels
  // the new _fut_waiter right after setting it; without this the request would wait for `f` to
  // complete on its own. Cleared and put in flight before cancelling `f` (see cancel()): if `f`
  // completes meanwhile and the task's next step ends on another worker before the request
  // lands, the outcome waits for it, so the request is never lost.
  //
  // The unlocked read may miss a request only if it is made after fut_waiter_ = &f was
  // published; cancel() then finds &f in fut_waiter_ and cancels it itself.
  if (!must_cancel_.load(std::memory_order_acquire)) return;
  std::string msg;
  int n;
  {
    SpinGuard lock(mu_);
    if (!must_cancel_.load(std::memory_order_relaxed) || fut_waiter_.get() != &f) return;
    // The batch stays open while in flight: if `f` does not take it, the requests are pending
    // again in the same batch (a scope's ticket still finds its request there).
    n = take_pending_locked(/*new_batch=*/false);
    msg = cancel_request_text();
    ++cancels_in_flight_;
  }
  std::uint32_t batch;
  cancel_in_flight(CoreRef(&f), std::move(msg), n, /*handed_batch=*/true, &batch);
}

void TaskCore::wakeup(TaskRef self, bool fifo) {
  CoreRef done_waiting;
  {
    SpinGuard lock(mu_);
    done_waiting = std::move(fut_waiter_);
  }
  if (fifo) {
    schedule_step_yield(std::move(self));
  } else {
    schedule_step(std::move(self));
  }
}

namespace {
// The message of `error` when it is a CancelledError, else null. Out of line: its exception
// handling stays out of complete()'s frame.
ABSL_ATTRIBUTE_NOINLINE std::unique_ptr<std::string> cancelled_error_message(
    const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const CancelledError& c) {
    return std::make_unique<std::string>(c.what());
  } catch (...) {
  }
  return nullptr;
}
}  // namespace

ABSL_ATTRIBUTE_NOINLINE void TaskCore::complete() {
  // The coroutine's exception, or the cancellation of a task cancelled before its first step.
  // Moved only when there is one: most tasks end with a value.
  std::exception_ptr error;
  if (resume_exception_) [[unlikely]] error = std::exchange(resume_exception_, nullptr);
  // The coroutine ended with CancelledError(msg): the task ends cancelled, with msg.
  std::unique_ptr<std::string> cancelled_by;
  if (error) [[unlikely]] cancelled_by = cancelled_error_message(error);
  // Not listed by all_tasks from here on; waiters are woken below.
  unregister_finished_task(*this);
  mark_done();
  set_loop(*get_loop());
  // One critical section decides and publishes the outcome: a cancel() from its end on is too
  // late (completing_), as after asyncio's last __step; one made before it is honoured.
  Waiters ws;
  {
    SpinGuard lock(mu_);
    completing_ = true;
    if (cancels_in_flight_ > 0) [[unlikely]] {
      // A cancel() counted itself before this step ended (the step may have seen it in
      // cancelling()) and does not know yet whether the awaited future took it: the outcome
      // waits for it, and the last such cancel() publishes it (see cancel()).
      exception_ = std::move(error);
      cancel_msg_ = std::move(cancelled_by);
      return;
    }
    // Most tasks end with a value (in place: task_coroutine_ended) and no cancellation request:
    // no outcome to decide.
    ws = !error && !must_cancel_.load(std::memory_order_relaxed)
             ? publish_locked(FutureState::kFinished)
             : publish_outcome_locked(std::move(error), std::move(cancelled_by));
  }
  dispatch(ws);
  destroy_coroutine();
}

FutureCore::Waiters TaskCore::publish_outcome_locked(std::exception_ptr&& error,
                                                     std::unique_ptr<std::string> cancelled_by) {
  // A load and a store, not an exchange: must_cancel_ is only written under mu_, and the
  // exchange's locked instruction was a third of complete()'s time in skynet (perf).
  const bool cancel_instead = must_cancel_.load(std::memory_order_relaxed);
  if (cancel_instead) take_pending_locked(/*new_batch=*/true);
  if (cancelled_by) {
    cancel_msg_ = std::move(cancelled_by);
    return publish_locked(FutureState::kCancelled);
  }
  if (error) {
    exception_ = std::move(error);
    return publish_locked(FutureState::kFinished);
  }
  if (cancel_instead) {
    cancel_msg_ = std::make_unique<std::string>(cancel_request_text());
    return publish_locked(FutureState::kCancelled);
  }
  return publish_locked(FutureState::kFinished);  // the value is in place (task_coroutine_ended)
}

bool TaskCore::cancel(std::string msg) { return cancel(std::move(msg), nullptr); }

bool TaskCore::cancel_for_scope(CancelTicket& ticket) { return cancel(std::string(), &ticket); }

bool TaskCore::cancel(std::string msg, CancelTicket* ticket) {
  // The request counts (cancelling()) from the first critical section on: that is where it takes
  // effect. When the task waits on a future, that future's cancel() runs outside mu_ (its waiters
  // take mu_); until this call knows whether it took, it is "in flight", and a last step that
  // ends meanwhile leaves its outcome for this call to publish (complete()). So a request the
  // task may have counted is never withdrawn behind its back: cancel() returns true, and the
  // task ends cancelled unless the awaited future delivered the CancelledError.
  CoreRef waiting_on;
  {
    SpinGuard lock(mu_);
    if (state_.load(std::memory_order_relaxed) != FutureState::kPending || completing_) {
      return false;
    }
    ++num_cancels_;
    waiting_on = fut_waiter_;
    if (!waiting_on) {
      request_cancel_locked(std::move(msg), 1);
      if (ticket) *ticket = CancelTicket{true, pending_batch_};
      return true;
    }
    ++cancels_in_flight_;
  }
  std::uint32_t batch = 0;
  const bool pending =
      cancel_in_flight(std::move(waiting_on), std::move(msg), 1, /*handed_batch=*/false, &batch);
  if (ticket) *ticket = CancelTicket{pending, batch};
  return true;
}

bool TaskCore::cancel_in_flight(CoreRef waiting_on, std::string msg, int n, bool handed_batch,
                                std::uint32_t* batch) {
  TaskRef keep(this);  // the outcome may be ours to publish, after the caller's last use
  Waiters ws;
  bool pending;
  for (;;) {
    // The awaited future's CancelledError reaches the coroutine when it wakes.
    const bool delivered = waiting_on->cancel(msg);
    SpinGuard lock(mu_);
    // The task suspended on another future since we looked (its step was running): cancel
    // that one. Setting must_cancel_ instead would leave the request waiting until the new
    // future completes on its own, which may be never.
    if (!delivered && !completing_ && fut_waiter_ && fut_waiter_.get() != waiting_on.get()) {
      waiting_on = fut_waiter_;
      continue;
    }
    pending = !delivered;
    *batch = pending_batch_;
    if (!land_cancel_locked(delivered, std::move(msg), n, handed_batch, ws)) return pending;
    break;
  }
  dispatch(ws);
  destroy_coroutine();
  return pending;
}

bool TaskCore::land_cancel_locked(bool delivered, std::string msg, int n, bool handed_batch,
                                  Waiters& ws) {
  if (delivered) {
    if (handed_batch) ++pending_batch_;  // deliver_cancel_to()'s batch is delivered
  } else {
    // The requests wait for the task's next step, but not those uncancel() withdrew meanwhile.
    const int still = std::min(n, num_cancels_ - int{pending_cancels_});
    if (still > 0) request_cancel_locked(std::move(msg), still);
  }
  if (--cancels_in_flight_ > 0 || !completing_) return false;
  // The last step ended while this was in flight: publish its outcome (complete()).
  ws = publish_outcome_locked(std::exchange(exception_, nullptr), std::move(cancel_msg_));
  return true;
}

void TaskCore::request_cancel_locked(std::string msg, int n) {
  must_cancel_.store(true, std::memory_order_relaxed);
  pending_cancels_ = static_cast<std::uint16_t>(std::min(pending_cancels_ + n, 0xFFFF));
  cancel_request_msg_ = msg.empty() ? nullptr : std::make_unique<std::string>(std::move(msg));
}

int TaskCore::take_pending_locked(bool new_batch) {
  must_cancel_.store(false, std::memory_order_relaxed);
  if (new_batch) ++pending_batch_;
  return std::exchange(pending_cancels_, 0);
}

std::string TaskCore::cancel_request_text() const {
  return cancel_request_msg_ ? *cancel_request_msg_ : std::string();
}

int TaskCore::cancelling() const {
  SpinGuard lock(mu_);
  return num_cancels_;
}

int TaskCore::cancelling_delivered() const {
  SpinGuard lock(mu_);
  return num_cancels_ - int{pending_cancels_};
}

int TaskCore::uncancel() {
  SpinGuard lock(mu_);
  return uncancel_locked();
}

int TaskCore::uncancel_locked() {
  // asyncio's rule: a pending request is withdrawn only when the count reaches zero.
  if (num_cancels_ > 0 && --num_cancels_ == 0) take_pending_locked(/*new_batch=*/true);
  pending_cancels_ = static_cast<std::uint16_t>(std::min(int{pending_cancels_}, num_cancels_));
  return num_cancels_;
}

int TaskCore::uncancel_for_scope(const CancelTicket& ticket) {
  SpinGuard lock(mu_);
  if (ticket.pending && ticket.batch == pending_batch_ && pending_cancels_ > 0 &&
      --pending_cancels_ == 0) {
    take_pending_locked(/*new_batch=*/true);
  }
  return uncancel_locked();
}

void TaskCore::abandon() noexcept {
  if (!FutureCore::done()) {
    report_exception(get_loop(), {"Task was destroyed but it is pending!", nullptr, repr(),
                                  get_loop()});
  }
  destroy_coroutine();
  awaiting_ = CoreRef();
  CoreRef waiting_on;
  {
    SpinGuard lock(mu_);
    waiting_on = std::move(fut_waiter_);
  }
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio
