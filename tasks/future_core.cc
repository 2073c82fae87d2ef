#include "stealio/internal/future_core.h"

#include "scheduler/internal/mutex.h"
#include "scheduler/internal/scheduler_core.h"
#include "stealio/errors.h"
#include "stealio/internal/task_core.h"

namespace stealio {
inline namespace v1 {

CallbackId CallbackId::make() noexcept {
  static std::atomic<std::uint64_t> next{1};
  return CallbackId(next.fetch_add(1, std::memory_order_relaxed));
}

namespace internal {

FutureCore::~FutureCore() {
  // Most futures end completed, with no waiters left: the loops stay out of this path.
  if (tasks_head_ || callbacks_head_) drop_waiters();
}

void FutureCore::drop_waiters() noexcept {
  // Waiters left on a future nobody completed: drop their references.
  for (TaskBase* t = tasks_head_; t;) {
    TaskBase* next = std::exchange(t->queue_next_, nullptr);
    t->release();
    t = next;
  }
  for (CallbackEntry* e = callbacks_head_; e;) delete std::exchange(e, e->next);
  tasks_head_ = tasks_tail_ = nullptr;
  callbacks_head_ = callbacks_tail_ = nullptr;
}

FutureCore::Waiters FutureCore::publish_locked(FutureState to) {
  state_.store(to, std::memory_order_release);
  Waiters out{tasks_head_, callbacks_head_};
  tasks_head_ = tasks_tail_ = nullptr;
  callbacks_head_ = callbacks_tail_ = nullptr;
  return out;
}

void FutureCore::append_callback_locked(CallbackEntry* e) {
  if (callbacks_tail_) {
    callbacks_tail_->next = e;
  } else {
    callbacks_head_ = e;
  }
  callbacks_tail_ = e;
}

bool FutureCore::try_finish(absl::FunctionRef<void()> write) {
  Waiters ws;
  {
    SpinGuard lock(mu_);
    if (state_.load(std::memory_order_relaxed) != FutureState::kPending) return false;
    write();
    ws = publish_locked(FutureState::kFinished);
  }
  dispatch(ws);
  return true;
}

bool FutureCore::try_set_exception(std::exception_ptr e) {
  return try_finish([&] { exception_ = std::move(e); });
}

bool FutureCore::cancel_state(std::string msg) {
  Waiters ws;
  {
    SpinGuard lock(mu_);
    if (state_.load(std::memory_order_relaxed) != FutureState::kPending) return false;
    cancel_msg_ = std::make_unique<std::string>(std::move(msg));
    ws = publish_locked(FutureState::kCancelled);
  }
  dispatch(ws);
  return true;
}

void FutureCore::check_result_slow() {
  switch (state()) {
    case FutureState::kPending:
      throw InvalidStateError("Result is not set.");
    case FutureState::kCancelled:
      throw CancelledError(cancel_message());
    case FutureState::kFinished:
      retrieved_.store(true, std::memory_order_relaxed);
      if (exception_) std::rethrow_exception(exception_);
  }
}

std::exception_ptr FutureCore::exception() {
  switch (state()) {
    case FutureState::kPending:
      throw InvalidStateError("Exception is not set.");
    case FutureState::kCancelled:
      throw CancelledError(cancel_message());
    case FutureState::kFinished:
      break;
  }
  retrieved_.store(true, std::memory_order_relaxed);
  return exception_;
}

std::string FutureCore::cancel_message() const {
  return cancelled() && cancel_msg_ ? *cancel_msg_ : std::string();
}

std::string FutureCore::describe() const {
  switch (state()) {
    case FutureState::kPending:
      return "<Future pending>";
    case FutureState::kCancelled:
      return "<Future cancelled>";
    case FutureState::kFinished:
      break;
  }
  if (!exception_) return "<Future finished>";
  std::string what = "?";
  try {
    std::rethrow_exception(exception_);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  return "<Future finished exception=" + what + ">";
}

void FutureCore::raise_invalid_state() const {
  const char* name = cancelled() ? "CANCELLED" : done() ? "FINISHED" : "PENDING";
  throw InvalidStateError(std::string(name) + ": " + describe());
}

CallbackId FutureCore::add_done_callback(DoneFn fn, std::optional<Context>&& ctx, CallbackId id) {
  if (!id.valid()) id = CallbackId::make();
  auto* entry = new CallbackEntry{
      id, std::move(fn), ctx ? ContextSlot(*std::move(ctx)) : ContextSlot::inherit_current()};
  {
    SpinGuard lock(mu_);
    if (state_.load(std::memory_order_relaxed) == FutureState::kPending) {
      append_callback_locked(entry);
      return id;
    }
  }
  // Already done: scheduled at once (still through the loop, never run here).
  dispatch(Waiters{nullptr, entry});
  return id;
}

std::size_t FutureCore::remove_done_callback(CallbackId id) {
  std::size_t removed = 0;
  CallbackEntry* dropped = nullptr;
  {
    SpinGuard lock(mu_);
    CallbackEntry* kept_head = nullptr;
    CallbackEntry* kept_tail = nullptr;
    for (CallbackEntry* e = callbacks_head_; e;) {
      CallbackEntry* next = std::exchange(e->next, nullptr);
      if (!e->inline_ && e->id == id) {
        ++removed;
        e->next = dropped;
        dropped = e;
      } else {
        (kept_tail ? kept_tail->next : kept_head) = e;
        kept_tail = e;
      }
      e = next;
    }
    callbacks_head_ = kept_head;
    callbacks_tail_ = kept_tail;
  }
  // Destroyed outside the lock: a callback's captures may do anything when destroyed.
  for (CallbackEntry* e = dropped; e;) delete std::exchange(e, e->next);
  return removed;
}

void FutureCore::add_inline_notifier(absl::AnyInvocable<void()> fn) {
  {
    SpinGuard lock(mu_);
    if (state_.load(std::memory_order_relaxed) == FutureState::kPending) {
      auto* entry = new CallbackEntry();
      entry->fn = [f = std::move(fn)](FutureCore&) mutable { f(); };
      entry->inline_ = true;
      append_callback_locked(entry);
      return;
    }
  }
  fn();
}

bool FutureCore::add_task_waiter(TaskCore& task) {
  TaskBase& t = task;
  SpinGuard lock(mu_);
  if (state_.load(std::memory_order_relaxed) != FutureState::kPending) return false;
  t.retain();
  t.queue_next_ = nullptr;
  if (tasks_tail_) {
    tasks_tail_->queue_next_ = &t;
  } else {
    tasks_head_ = &t;
  }
  tasks_tail_ = &t;
  return true;
}

void FutureCore::dispatch_waiters(Waiters ws) noexcept {
  // Tasks first: their next steps go on this worker's queues (locality), callbacks to the loop.
  // A task's completion wakes its joiners LIFO, on the deque (fork-join: the continuation runs
  // next, with warm caches). A plain future's wakes FIFO, behind the work already queued: the
  // order in which waiters were woken is the order in which they run, on this worker, as in
  // asyncio (Lock, Queue and Semaphore hand-offs rely on it: the first woken getter runs first).
  const bool fifo = !is_task();
  for (TaskBase* t = ws.tasks; t;) {
    TaskBase* next = std::exchange(t->queue_next_, nullptr);
    wake_task(TaskRef::adopt(t), fifo);
    t = next;
  }
  Loop* loop = &this->loop();
  for (CallbackEntry* e = ws.callbacks; e;) {
    std::unique_ptr<CallbackEntry> entry(std::exchange(e, e->next));
    if (entry->inline_) {
      entry->fn(*this);
      continue;
    }
    Callback run = [self = CoreRef(this), entry = std::move(entry)]() mutable {
      ContextScope scope(entry->ctx);
      entry->fn(*self.get());
    };
    try {
      if (loop->is_running_here()) {
        loop->call_soon(std::move(run));
      } else {
        loop->call_soon_threadsafe(std::move(run));
      }
    } catch (const RuntimeError&) {
      // The loop is closed: the scheduler is gone and the callback cannot run anywhere.
    }
  }
}

void FutureCore::report_unretrieved_exception() noexcept {
  if (state() != FutureState::kFinished || !exception_ ||
      retrieved_.load(std::memory_order_relaxed)) {
    return;
  }
  ExceptionContext c;
  c.message = is_task_ ? "Task exception was never retrieved" : "Future exception was never retrieved";
  c.exception = exception_;
  c.task = is_task_ ? static_cast<const TaskCore*>(this)->repr() : describe();
  report_exception(loop_.load(std::memory_order_acquire), c);
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio
