// Future<T>: asyncio.Future, thread-safe.
//
// A future is pending until it is finished (set_result/set_exception) or cancelled; the first
// completer wins and any later one gets InvalidStateError. Tasks on any worker of the future's
// scheduler may `co_await` it. Done callbacks run on the future's loop, never inside the call
// that completed it, in the order they were added, each in the context captured when it was
// added. Handles are cheap to copy and share one state.
//
// Example:
//   stealio::Coro<int> consumer(stealio::Future<int> f) { co_return co_await f + 1; }
//   ...
//   stealio::Future<int> f(sched.loop(0));
//   stealio::Task<int> t = sched.spawn(consumer(f));
//   f.set_result(41);                 // from any thread
//   assert(sched.run(...) ...);       // or t.wait(); t.result() == 42
#ifndef STEALIO_FUTURE_H_
#define STEALIO_FUTURE_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include "stealio/context.h"
#include "stealio/errors.h"
#include "stealio/internal/await.h"
#include "stealio/internal/future_core.h"
#include "stealio/internal/result.h"
#include "stealio/loop.h"

namespace stealio {
inline namespace v1 {

template <class T>
class Future;

namespace internal {
// A plain future's state: the core, the value, and a reference count.
template <class T>
class PlainFuture final : public FutureCore {
 public:
  explicit PlainFuture(Loop& loop) : FutureCore(loop, false) {}
  ~PlainFuture() { report_unretrieved(); }
  void retain() const noexcept override { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() const noexcept override {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  ValueSlot<T> value;

 private:
  mutable std::atomic<std::uint32_t> refs_{1};
};
}  // namespace internal

template <class T = void>
class Future {
 public:
  using value_type = T;

  // A pending future on the running loop. Raises RuntimeError `no running event loop` outside a
  // worker.
  Future() : Future(get_running_loop()) {}
  // A pending future on `loop`.
  explicit Future(Loop& loop) {
    auto* s = new internal::PlainFuture<T>(loop);
    bits_ = reinterpret_cast<std::uintptr_t>(static_cast<internal::FutureCore*>(s));
    value_ = &s->value;
  }
  // A copy holds one reference (never the joined one).
  Future(const Future& o) noexcept
      : bits_(reinterpret_cast<std::uintptr_t>(o.core())), value_(o.value_) {
    if (internal::FutureCore* c = core()) c->retain();
  }
  Future(Future&& o) noexcept
      : bits_(std::exchange(o.bits_, 0)), value_(std::exchange(o.value_, nullptr)) {}
  Future& operator=(Future o) noexcept {
    std::swap(bits_, o.bits_);
    std::swap(value_, o.value_);
    return *this;
  }
  ~Future() {
    if (bits_) {
      reinterpret_cast<internal::FutureCore*>(bits_ & ~kJoined)
          ->release_n(1 + static_cast<std::uint32_t>(bits_ & kJoined));
    }
  }

  bool done() const noexcept { return core()->done(); }
  bool cancelled() const noexcept { return core()->cancelled(); }
  // The loop the future's done callbacks run on.
  Loop& get_loop() const noexcept { return core()->loop(); }

  // The value; raises InvalidStateError `Result is not set.` while pending, CancelledError when
  // cancelled, or the exception it finished with.
  std::add_lvalue_reference_t<T> result() {
    core()->check_result();
    return value_->get();
  }
  // The exception it finished with (null for a value). Raises like result() otherwise.
  std::exception_ptr exception() { return core()->exception(); }

  // Finishes with a value. InvalidStateError when not pending; on a Task, RuntimeError.
  template <class U = T>
    requires(!std::is_void_v<U>)
  void set_result(U&& v) {
    check_not_task("set_result");
    if (!core()->try_finish([&] { value_->set(std::forward<U>(v)); })) {
      core()->raise_invalid_state();
    }
  }
  void set_result()
    requires std::is_void_v<T>
  {
    check_not_task("set_result");
    if (!core()->try_finish([] {})) core()->raise_invalid_state();
  }
  void set_exception(std::exception_ptr e) {
    check_not_task("set_exception");
    if (!e) throw ValueError("set_exception needs an exception");
    if (!core()->try_set_exception(std::move(e))) core()->raise_invalid_state();
  }
  template <class E>
    requires std::is_base_of_v<std::exception, std::decay_t<E>>
  void set_exception(E&& e) {
    set_exception(std::make_exception_ptr(std::forward<E>(e)));
  }

  // asyncio's cancel(msg): false if not pending. On a Task, Task.cancel's semantics.
  bool cancel(std::string msg = std::string()) { return core()->cancel(std::move(msg)); }

  // Schedules `fn` (called as fn(future) or fn()) on the future's loop once the future is done,
  // in the current context or `ctx`. Returns the id remove_done_callback takes; pass `id` to
  // register several callbacks under one id.
  template <class F>
  CallbackId add_done_callback(F fn, std::optional<Context> ctx = std::nullopt,
                               CallbackId id = CallbackId()) {
    return core()->add_done_callback(
        [fn = std::move(fn), value = value_](internal::FutureCore& c) mutable {
          if constexpr (std::is_invocable_v<F&, Future<T>&>) {
            c.retain();
            Future<T> self(&c, value);
            fn(self);
          } else {
            fn();
          }
        },
        std::move(ctx), id);
  }
  // Removes every registration under `id`; returns how many.
  std::size_t remove_done_callback(CallbackId id) { return core()->remove_done_callback(id); }

  // Blocks the calling thread until done. Only outside the workers: on a worker it raises
  // RuntimeError (blocking there could deadlock the loop; co_await instead).
  void wait() const { internal::block_until_done(*core()); }
  // As wait(), at most `timeout`; true when done.
  bool wait_for(absl::Duration timeout) const {
    return internal::block_until_done_for(*core(), timeout);
  }

  // `co_await future` inside a task: the value, or the exception raised.
  internal::FutureAwaiter<T> operator co_await() const noexcept {
    return {core(), value_, &bits_};
  }

  internal::FutureCore* core() const noexcept {
    const std::uintptr_t b = std::atomic_ref<std::uintptr_t>(bits_).load(std::memory_order_relaxed);
    return reinterpret_cast<internal::FutureCore*>(b & ~kJoined);
  }

 protected:
  Future(internal::FutureCore* core, internal::ValueSlot<T>* value) noexcept
      : bits_(reinterpret_cast<std::uintptr_t>(core)), value_(value) {}  // adopts a reference

 private:
  void check_not_task(const char* op) const {
    if (core()->is_task()) {
      throw RuntimeError(std::string("Task does not support ") + op + " operation");
    }
  }

  // The core's address; its low bit (kJoined) set when this handle holds a second reference to
  // it: the queue's reference to a task whose step an inline join, awaiting this handle, took
  // back and ran (internal::FutureAwaiter). Dropping both at once lets the last release of a
  // finished task go without a read-modify-write. That join sets the bit during co_await, a
  // const use that other threads may make of the same handle at the same time, so the const
  // members read it through std::atomic_ref (relaxed: plain moves on x86). Moves, assignment
  // and destruction may not overlap other uses of the handle, and access it plainly.
  static constexpr std::uintptr_t kJoined = internal::kJoinedReference;
  mutable std::uintptr_t bits_ = 0;
  internal::ValueSlot<T>* value_ = nullptr;

  template <class>
  friend class Task;
  template <class>
  friend class Future;
};

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_FUTURE_H_
