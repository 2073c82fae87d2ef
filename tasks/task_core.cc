#include "stealio/internal/task_core.h"

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

TaskCore::TaskCore(Loop& loop, bool pinned, ContextSlot ctx, std::coroutine_handle<> start) noexcept
    : TaskBase(loop, pinned), FutureCore(loop, true), resume_(start), context_(std::move(ctx)) {}

TaskCore::~TaskCore() = default;

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

void TaskCore::step() {
  Loop& loop = get_running_loop();
  enter_task(loop, *this);
  resume_in_step();
  leave_task(loop, *this);
  after_step();
}

void TaskCore::run_nested(Loop& loop) {
  TaskBase* previous = swap_current_task(loop, this);
  resume_in_step();
  swap_current_task(loop, previous);
  after_step();
}

void TaskCore::resume_in_step() {
  // Unlocked first look: a cancel() that sets the flag after this read is one made during the
  // step, and reaches the task after it (deliver_cancel_to, complete), as in asyncio.
  if (must_cancel_.load(std::memory_order_acquire)) {
    tbb::spin_mutex::scoped_lock lock(mu_);
    if (must_cancel_.load(std::memory_order_relaxed)) {
      must_cancel_.store(false, std::memory_order_relaxed);
      resume_exception_ = std::make_exception_ptr(CancelledError(cancel_request_text()));
      // Cancelled before its first step: the coroutine never runs (after_step completes).
      if (!started_) return;
    }
  }
  started_ = true;
  RunningScope running(this);
  ContextScope scope(context_);
  std::exchange(resume_, {}).resume();
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

void TaskCore::after_step() {
  if (!started_ || coroutine_done()) {
    complete();
    return;
  }
  if (awaiting_) {
    CoreRef f = std::move(awaiting_);
    {
      tbb::spin_mutex::scoped_lock lock(mu_);
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
  // complete on its own. Cleared before cancelling `f` and restored if `f` is already done, so a
  // request made meanwhile is never lost (it reaches the next step instead).
  //
  // The unlocked read may miss a request only if it is made after fut_waiter_ = &f was
  // published; cancel() then finds &f in fut_waiter_ and cancels it itself.
  if (!must_cancel_.load(std::memory_order_acquire)) return;
  std::string msg;
  {
    tbb::spin_mutex::scoped_lock lock(mu_);
    if (!must_cancel_.load(std::memory_order_relaxed) || fut_waiter_.get() != &f) return;
    must_cancel_.store(false, std::memory_order_relaxed);
    msg = cancel_request_text();
  }
  if (f.cancel(msg)) return;
  tbb::spin_mutex::scoped_lock lock(mu_);
  // Unless uncancel() withdrew it meanwhile.
  if (num_cancels_ > 0) must_cancel_.store(true, std::memory_order_relaxed);
}

void TaskCore::wakeup(TaskRef self, bool fifo) {
  CoreRef done_waiting;
  {
    tbb::spin_mutex::scoped_lock lock(mu_);
    done_waiting = std::move(fut_waiter_);
  }
  if (fifo) {
    schedule_step_yield(std::move(self));
  } else {
    schedule_step(std::move(self));
  }
}

void TaskCore::complete() {
  std::exception_ptr error = std::exchange(resume_exception_, nullptr);  // cancelled unstarted
  if (started_) error = coroutine_exception();
  std::unique_ptr<std::string> cancelled_by;  // the coroutine ended with CancelledError(msg)
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const CancelledError& c) {
      cancelled_by = std::make_unique<std::string>(c.what());
    } catch (...) {
    }
  }
  // Not listed by all_tasks from here on; waiters are woken below.
  unregister_task(*this);
  mark_done();
  set_loop(*get_loop());
  // One critical section decides and publishes the outcome: a cancel() from its end on is too
  // late (completing_), as after asyncio's last __step; one made before it is honoured.
  Waiters ws;
  {
    tbb::spin_mutex::scoped_lock lock(mu_);
    completing_ = true;
    // A load and a store, not an exchange: must_cancel_ is only written under mu_, and the
    // exchange's locked instruction was a third of complete()'s time in skynet (perf).
    const bool cancel_instead = must_cancel_.load(std::memory_order_relaxed);
    if (cancel_instead) must_cancel_.store(false, std::memory_order_relaxed);
    if (cancelled_by) {
      cancel_msg_ = std::move(cancelled_by);
      ws = publish_locked(FutureState::kCancelled);
    } else if (error) {
      exception_ = std::move(error);
      ws = publish_locked(FutureState::kFinished);
    } else if (cancel_instead) {
      cancel_msg_ = std::make_unique<std::string>(cancel_request_text());
      ws = publish_locked(FutureState::kCancelled);
    } else {
      try {
        write_value();
      } catch (...) {  // T's move threw: the task fails with that, rather than never ending
        exception_ = std::current_exception();
      }
      ws = publish_locked(FutureState::kFinished);
    }
  }
  dispatch(ws);
  destroy_coroutine();
}

bool TaskCore::cancel(std::string msg) {
  CoreRef waiting_on;
  {
    tbb::spin_mutex::scoped_lock lock(mu_);
    if (state_.load(std::memory_order_relaxed) != FutureState::kPending || completing_) {
      return false;
    }
    ++num_cancels_;
    waiting_on = fut_waiter_;
  }
  for (;;) {
    // The awaited future's CancelledError reaches the coroutine when it wakes.
    if (waiting_on && waiting_on->cancel(msg)) return true;
    tbb::spin_mutex::scoped_lock lock(mu_);
    if (completing_) {  // the task's last step ended meanwhile: it finishes as it was going to
      --num_cancels_;
      return false;
    }
    // The task suspended on another future since we looked (its step was running): cancel
    // that one. Setting must_cancel_ instead would leave the request waiting until the new
    // future completes on its own, which may be never.
    if (fut_waiter_ && fut_waiter_.get() != waiting_on.get()) {
      waiting_on = fut_waiter_;
      continue;
    }
    must_cancel_.store(true, std::memory_order_relaxed);
    cancel_request_msg_ = msg.empty() ? nullptr : std::make_unique<std::string>(std::move(msg));
    return true;
  }
}

std::string TaskCore::cancel_request_text() const {
  return cancel_request_msg_ ? *cancel_request_msg_ : std::string();
}

int TaskCore::cancelling() const {
  tbb::spin_mutex::scoped_lock lock(mu_);
  return num_cancels_;
}

int TaskCore::uncancel() {
  tbb::spin_mutex::scoped_lock lock(mu_);
  if (num_cancels_ > 0 && --num_cancels_ == 0) must_cancel_.store(false, std::memory_order_relaxed);
  return num_cancels_;
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
    tbb::spin_mutex::scoped_lock lock(mu_);
    waiting_on = std::move(fut_waiter_);
  }
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio
