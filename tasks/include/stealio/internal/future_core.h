// FutureCore: the untyped state of a Future or Task (asyncio.Future's state machine).
//
// States: pending -> finished (value or exception) | cancelled. The transition happens once,
// under mu_, by whichever completer (set_result, set_exception, cancel) takes the lock first;
// the losers see a non-pending state and fail. The value and exception are written before the
// state is published (release) and never change afterwards, so readers that observed a done
// state (acquire) read them without the lock.
//
// Waiters, taken out under mu_ by the completer and dispatched after it is released:
//   - a task awaiting the future: its next step is scheduled (stealable) on the completing
//     worker, for locality; it may be stolen from there;
//   - a done callback: scheduled with call_soon on the future's loop, in the order added, run in
//     the context captured when it was added. Never run inside the completing call.
//   - an inline notifier (blocking waits from outside threads): run by the completer.
#ifndef STEALIO_TASKS_INTERNAL_FUTURE_CORE_H_
#define STEALIO_TASKS_INTERNAL_FUTURE_CORE_H_

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "oneapi/tbb/spin_mutex.h"
#include "stealio/context.h"
#include "stealio/loop.h"
#include "stealio/task_base.h"

namespace stealio {
inline namespace v1 {

// Identifies done-callback registrations for remove_done_callback.
class CallbackId {
 public:
  CallbackId() noexcept = default;
  // A fresh id, distinct from every other.
  static CallbackId make() noexcept;
  friend bool operator==(CallbackId a, CallbackId b) noexcept { return a.v_ == b.v_; }
  bool valid() const noexcept { return v_ != 0; }

 private:
  explicit CallbackId(std::uint64_t v) noexcept : v_(v) {}
  std::uint64_t v_ = 0;
};

namespace internal {

class FutureCore;
class TaskCore;

// Strong reference to a FutureCore (whose count lives in the concrete type).
class CoreRef {
 public:
  CoreRef() noexcept = default;
  inline explicit CoreRef(FutureCore* c) noexcept;
  CoreRef(const CoreRef& o) noexcept : CoreRef(o.p_) {}
  CoreRef(CoreRef&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  CoreRef& operator=(CoreRef o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  // Inline (defined below FutureCore): a task state holds two, both null when it is destroyed.
  inline ~CoreRef();
  FutureCore* get() const noexcept { return p_; }
  FutureCore* operator->() const noexcept { return p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }

 private:
  FutureCore* p_ = nullptr;
};

enum class FutureState : std::uint8_t { kPending, kCancelled, kFinished };

class FutureCore {
 public:
  using DoneFn = absl::AnyInvocable<void(FutureCore&)>;

  FutureCore(const FutureCore&) = delete;
  FutureCore& operator=(const FutureCore&) = delete;

  virtual void retain() const noexcept = 0;
  virtual void release() const noexcept = 0;
  // Drops `n` references at once (a Future handle holds two after an inline join handed it the
  // queue's reference: Future::bits_). A task does it with one read-modify-write at most.
  virtual void release_n(std::uint32_t n) const noexcept {
    while (n-- > 0) release();
  }

  FutureState state() const noexcept { return state_.load(std::memory_order_acquire); }
  bool done() const noexcept { return state() != FutureState::kPending; }
  bool cancelled() const noexcept { return state() == FutureState::kCancelled; }
  Loop& loop() const noexcept { return *loop_.load(std::memory_order_acquire); }
  bool is_task() const noexcept { return is_task_; }

  // Completes with a value written by `write` (under the lock). False when not pending.
  bool try_finish(absl::FunctionRef<void()> write);
  bool try_set_exception(std::exception_ptr e);
  // asyncio's Future.cancel(msg): false when not pending. A task overrides it with
  // Task.cancel's semantics.
  virtual bool cancel(std::string msg) { return cancel_state(std::move(msg)); }
  // Moves a pending future to cancelled. False when not pending.
  bool cancel_state(std::string msg);

  // For result(): raises InvalidStateError / CancelledError / the stored exception, else
  // returns (the caller then reads the value). Marks the exception retrieved. Inline for the
  // common case, a value: every join of a task reads it.
  void check_result() {
    if (state() == FutureState::kFinished && !exception_) [[likely]] {
      retrieved_.store(true, std::memory_order_relaxed);
      return;
    }
    check_result_slow();
  }
  // For exception(): null when finished with a value.
  std::exception_ptr exception();
  // The message of CancelledError when cancelled.
  std::string cancel_message() const;

  // Raises InvalidStateError `<STATE>: <repr>` (set_result/set_exception on a done future).
  [[noreturn]] void raise_invalid_state() const;

  // `ctx` by rvalue reference: moved into a by-value parameter, a disengaged optional<Context>
  // draws a false -Wmaybe-uninitialized from g++ 12 (with -Werror, a failed build).
  CallbackId add_done_callback(DoneFn fn, std::optional<Context>&& ctx, CallbackId id);
  std::size_t remove_done_callback(CallbackId id);
  // Runs `fn` in the completing thread (or now, if done). For blocking waits.
  void add_inline_notifier(absl::AnyInvocable<void()> fn);
  // Adds a task waiter; false (nothing added) when already done.
  bool add_task_waiter(TaskCore& task);

  virtual std::string describe() const;

 protected:
  FutureCore(Loop& loop, bool is_task) noexcept : is_task_(is_task), loop_(&loop) {}
  ~FutureCore();

  struct CallbackEntry {
    CallbackId id;
    DoneFn fn;
    ContextSlot ctx;  // unused by inline notifiers
    bool inline_ = false;
    CallbackEntry* next = nullptr;
  };
  // Waiters taken out of the future by its completer. Tasks are linked through their queue link
  // and each holds a reference; callback entries are owned.
  struct Waiters {
    TaskBase* tasks = nullptr;
    CallbackEntry* callbacks = nullptr;
  };

  // Publishes `to` and returns the waiters to dispatch; call with mu_ held, state pending.
  Waiters publish_locked(FutureState to);
  // Wakes the waiters; inline, since a task joined inline (fork-join's common case) has none.
  void dispatch(Waiters ws) noexcept {
    if (ws.tasks || ws.callbacks) dispatch_waiters(ws);
  }
  void append_callback_locked(CallbackEntry* e);
  // Where done callbacks run; a task moves it to the loop it finished on.
  void set_loop(Loop& loop) noexcept { loop_.store(&loop, std::memory_order_release); }
  // Reports an exception nobody retrieved (at destruction); inline: most futures have none.
  void report_unretrieved() noexcept {
    if (exception_) report_unretrieved_exception();
  }
  void dispatch_waiters(Waiters ws) noexcept;
  void check_result_slow();
  void report_unretrieved_exception() noexcept;
  [[gnu::cold]] void drop_waiters() noexcept;

  // The one-byte fields first, together: a task state is allocated per task.
  mutable tbb::spin_mutex mu_;
  std::atomic<FutureState> state_{FutureState::kPending};
  std::atomic<bool> retrieved_{false};
  const bool is_task_;
  std::atomic<Loop*> loop_;
  std::exception_ptr exception_;              // set before state publishes
  std::unique_ptr<std::string> cancel_msg_;   // set before state publishes
  // Guarded by mu_: FIFO lists of waiting tasks (through TaskBase's queue link) and callbacks.
  TaskBase* tasks_head_ = nullptr;
  TaskBase* tasks_tail_ = nullptr;
  CallbackEntry* callbacks_head_ = nullptr;
  CallbackEntry* callbacks_tail_ = nullptr;
};

CoreRef::CoreRef(FutureCore* c) noexcept : p_(c) {
  if (p_) p_->retain();
}
CoreRef::~CoreRef() {
  if (p_) p_->release();
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_TASKS_INTERNAL_FUTURE_CORE_H_
