// to_thread(): asyncio.to_thread, run a blocking callable off the workers.
//
// `co_await stealio::to_thread(fn, args...)` runs fn(args...) on a thread of the scheduler's
// blocking pool (not on a worker, so the workers keep running tasks), in a copy of the calling
// task's context (ContextVars read there see the task's values), and returns its result or
// rethrows its exception in the awaiting task. The callable and the arguments are copied or moved
// into the call, as Python's partial() keeps them (wrap references in std::ref).
//
// The pool: one per Scheduler, made on first use, at most `max_threads` threads (default
// min(32, hardware threads + 4), like Python's default executor), threads started on demand and
// kept until the scheduler shuts down; extra calls queue. Cancelling the awaiting task cancels
// the wait (CancelledError at once); the blocking call itself cannot be interrupted and runs to
// its end, its result discarded.
//
// Shutdown: Scheduler::shutdown() first waits for the queued and running calls, while the
// workers still run (their results reach the futures and wake the awaiting tasks; shutdown does
// not wait for those tasks, as for any other), at most `shutdown_timeout` (default 300 s,
// as asyncio.run's shutdown_default_executor). Past it, the awaiting tasks get CancelledError,
// the queued calls are dropped, the pool threads still busy are left to finish on their own
// (detached; they touch nothing of the scheduler afterwards), the exception handler is told, and
// shutdown goes on: it never hangs. to_thread after shutdown began raises RuntimeError
// `Executor shutdown has been called`.
//
// Example:
//   stealio::Coro<std::string> load(std::string path) {
//     // Named first: g++ 12 destroys a capturing lambda built inside `co_await` twice.
//     auto read = [path] { return read_whole_file(path); };
//     co_return co_await stealio::to_thread(read);
//   }
//   stealio::set_to_thread_options(sched, {.max_threads = 8, .shutdown_timeout = absl::Seconds(5)});
#ifndef STEALIO_TO_THREAD_H_
#define STEALIO_TO_THREAD_H_

#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/time/time.h"
#include "stealio/context.h"
#include "stealio/coro.h"
#include "stealio/errors.h"
#include "stealio/future.h"
#include "stealio/internal/awaitable.h"
#include "stealio/internal/result.h"
#include "stealio/scheduler.h"

namespace stealio {
inline namespace v1 {

struct ToThreadOptions {
  // Most threads the pool runs at once; 0: min(32, hardware threads + 4).
  int max_threads = 0;
  // How long Scheduler::shutdown() waits for blocking calls before abandoning them.
  absl::Duration shutdown_timeout = absl::Seconds(300);
};

// Sets the options of `sched`'s pool (making the pool if needed). A smaller max_threads applies
// as threads become idle; the timeout applies to the next shutdown. Raises RuntimeError
// `Executor shutdown has been called` once shutdown began.
void set_to_thread_options(Scheduler& sched, const ToThreadOptions& options);
// The options in force for `sched` (the defaults if none were set).
ToThreadOptions get_to_thread_options(Scheduler& sched);

namespace internal {

// One blocking call, typed by its result. The pool runs run() on a pool thread, then deliver()
// unless the scheduler's shutdown abandoned the call first: then take_future() was called instead
// (on the shutting-down thread) and deliver() never is.
class BlockingCall {
 public:
  virtual ~BlockingCall() = default;
  virtual void run() noexcept = 0;
  virtual void deliver() noexcept = 0;
  virtual CoreRef take_future() noexcept = 0;
};

template <class R, class Fn>
class BlockingCallOf final : public BlockingCall {
 public:
  BlockingCallOf(Future<R> future, Context ctx, Fn fn)
      : future_(std::move(future)), ctx_(std::move(ctx)), fn_(std::move(fn)) {}

  void run() noexcept override {
    try {
      if constexpr (std::is_void_v<R>) {
        ctx_.run(fn_);
      } else {
        value_.set(ctx_.run(fn_));
      }
    } catch (...) {
      error_ = std::current_exception();
    }
  }
  void deliver() noexcept override {
    // A cancelled future (the awaiting task was cancelled) loses quietly, as asyncio's
    // _copy_future_state skips a cancelled destination.
    try {
      if (error_) {
        future_->set_exception(error_);
      } else if constexpr (std::is_void_v<R>) {
        future_->set_result();
      } else {
        future_->set_result(value_.take());
      }
    } catch (const InvalidStateError&) {
    }
    future_.reset();
  }
  CoreRef take_future() noexcept override {
    CoreRef f(future_ ? future_->core() : nullptr);
    future_.reset();
    return f;
  }

 private:
  std::optional<Future<R>> future_;
  Context ctx_;
  Fn fn_;
  ValueSlot<R> value_;
  std::exception_ptr error_;
};

// Queues `call` on `sched`'s pool. Raises RuntimeError after shutdown began.
void submit_blocking(Scheduler& sched, std::unique_ptr<BlockingCall> call);

}  // namespace internal

// asyncio.to_thread(fn, *args): the result of fn(args...), computed on the blocking pool.
//
// Example:
//   std::size_t n = co_await stealio::to_thread([](const std::string& p) {
//     return std::filesystem::file_size(p);
//   }, path);
template <class F, class... Args>
  requires std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>
auto to_thread(F fn, Args... args)
    -> Coro<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> {
  using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
  Loop& loop = get_running_loop();
  Future<R> result(loop);
  auto call = [fn = std::move(fn), ... args = std::move(args)]() mutable -> R {
    return std::invoke(std::move(fn), std::move(args)...);
  };
  internal::submit_blocking(loop.scheduler(),
                            std::make_unique<internal::BlockingCallOf<R, decltype(call)>>(
                                result, copy_context(), std::move(call)));
  co_await internal::await_done(*result.core());
  if constexpr (std::is_void_v<R>) {
    co_return;
  } else if constexpr (std::is_reference_v<R>) {
    co_return result.result();
  } else {
    co_return std::move(result.result());  // the only reader: move, not copy
  }
}

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_TO_THREAD_H_
