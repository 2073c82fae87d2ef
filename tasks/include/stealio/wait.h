// Waiting on futures without owning them: asyncio.wait, asyncio.as_completed and asyncio.shield.
//
//   wait(fs, timeout, return_when)  waits until some or all of `fs` are done (or the timeout
//                                   passes) and returns {done, pending}; never cancels them.
//   as_completed(aws, timeout)      an iterator: `co_await it.next()` gives the futures in the
//                                   order they finish (3.13's async-iteration form).
//   shield(aw)                      a future that follows `aw` but whose cancellation does not
//                                   reach it.
//
// `fs` are Task<T> or Future<T> (one type per call, as C++ wants); as_completed and shield also
// take Coro<T>, made tasks on the running loop. Results keep the input order (asyncio returns
// sets; duplicates are dropped here as a set would).
//
// Example:
//   std::vector<stealio::Task<int>> ts = start_all();
//   auto [done, pending] = co_await stealio::wait(ts, absl::Seconds(1),
//                                                 stealio::ReturnWhen::kFirstCompleted);
//   auto it = stealio::as_completed(std::move(ts));
//   while (it.has_next()) {
//     stealio::Task<int> t = co_await it.next();
//     use(t.result());
//   }
#ifndef STEALIO_WAIT_H_
#define STEALIO_WAIT_H_

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "stealio/coro.h"
#include "stealio/errors.h"
#include "stealio/future.h"
#include "stealio/internal/awaitable.h"
#include "stealio/task.h"

namespace stealio {
inline namespace v1 {

// asyncio's FIRST_COMPLETED / FIRST_EXCEPTION / ALL_COMPLETED.
enum class ReturnWhen { kFirstCompleted, kFirstException, kAllCompleted };

// What wait() returns: the futures done and those still pending, each in input order.
template <class F>
struct WaitResult {
  std::vector<F> done;
  std::vector<F> pending;
};

namespace internal {

// Waits until `return_when` holds for `fs` or `timeout` passes (asyncio's _wait).
Coro<void> wait_cores(std::vector<FutureCore*> fs, absl::Duration timeout, ReturnWhen return_when);

// The untyped queue behind as_completed (wait.cc): indexes of the futures in completion order.
class AsCompletedState;
std::shared_ptr<AsCompletedState> make_as_completed(std::vector<FutureCore*> fs,
                                                    absl::Duration timeout);
// The index of the next future done; TimeoutError once the timeout passed; RuntimeError when
// every future was already returned.
Coro<std::size_t> as_completed_next(std::shared_ptr<AsCompletedState> s);
bool as_completed_has_next(const AsCompletedState& s) noexcept;
void as_completed_close(AsCompletedState& s) noexcept;

template <class F>
std::vector<F> unique_futures(std::vector<F> fs) {
  std::vector<F> out;
  out.reserve(fs.size());
  for (F& f : fs) {
    bool seen = false;
    for (const F& o : out) seen = seen || o.core() == f.core();
    if (!seen) out.push_back(std::move(f));
  }
  return out;
}

}  // namespace internal

// asyncio.wait(fs, timeout=, return_when=): waits, then splits `fs` into done and pending. The
// futures are not cancelled, neither at the timeout nor when the waiting task is cancelled.
// Raises ValueError `Set of Tasks/Futures is empty.` for an empty `fs`.
//
// Example:
//   auto [done, pending] = co_await stealio::wait(tasks, absl::InfiniteDuration(),
//                                                 stealio::ReturnWhen::kFirstException);
template <internal::FutureLike F>
Coro<WaitResult<F>> wait(std::vector<F> fs, absl::Duration timeout = absl::InfiniteDuration(),
                         ReturnWhen return_when = ReturnWhen::kAllCompleted) {
  if (fs.empty()) throw ValueError("Set of Tasks/Futures is empty.");
  fs = internal::unique_futures(std::move(fs));
  std::vector<internal::FutureCore*> cores;
  cores.reserve(fs.size());
  for (F& f : fs) cores.push_back(f.core());
  co_await internal::wait_cores(std::move(cores), timeout, return_when);
  WaitResult<F> r;
  for (F& f : fs) (f.done() ? r.done : r.pending).push_back(std::move(f));
  co_return r;
}

// asyncio.as_completed(aws, timeout=) in its async-iterator form: next() returns the futures
// themselves as they finish. Movable, not copyable. Destroying it detaches it from the futures.
//
// Example:
//   auto it = stealio::as_completed(std::move(coros), absl::Seconds(5));
//   while (it.has_next()) {
//     stealio::Task<int> first = co_await it.next();   // TimeoutError after 5 s
//     total += first.result();
//   }
template <class F>
class AsCompleted {
 public:
  AsCompleted(std::vector<F> fs, absl::Duration timeout)
      : fs_(std::make_shared<std::vector<F>>(internal::unique_futures(std::move(fs)))) {
    std::vector<internal::FutureCore*> cores;
    cores.reserve(fs_->size());
    for (F& f : *fs_) cores.push_back(f.core());
    s_ = internal::make_as_completed(std::move(cores), timeout);
  }
  AsCompleted(AsCompleted&&) noexcept = default;
  AsCompleted& operator=(AsCompleted&& o) noexcept {
    if (this != &o) {
      close();
      s_ = std::move(o.s_);
      fs_ = std::move(o.fs_);
    }
    return *this;
  }
  ~AsCompleted() { close(); }

  // True while some future has not been returned by next() yet.
  bool has_next() const noexcept { return s_ && internal::as_completed_has_next(*s_); }
  // The next future to finish (already done when returned). Raises TimeoutError when the
  // timeout passes first, RuntimeError when has_next() is false.
  Coro<F> next() { return next_impl(s_, fs_); }

 private:
  static Coro<F> next_impl(std::shared_ptr<internal::AsCompletedState> s,
                           std::shared_ptr<std::vector<F>> fs) {
    if (!s) throw RuntimeError("as_completed iterator was moved from");
    std::size_t i = co_await internal::as_completed_next(s);
    co_return (*fs)[i];
  }
  void close() noexcept {
    if (s_) internal::as_completed_close(*s_);
  }

  std::shared_ptr<internal::AsCompletedState> s_;
  std::shared_ptr<std::vector<F>> fs_;
};

// Starts iterating over `aws` (Coro<T> made tasks now, on the running loop).
template <internal::Awaitable A>
AsCompleted<internal::ensured_future_t<A>> as_completed(
    std::vector<A> aws, absl::Duration timeout = absl::InfiniteDuration()) {
  std::vector<internal::ensured_future_t<A>> fs;
  fs.reserve(aws.size());
  for (A& a : aws) fs.push_back(internal::ensure_future(std::move(a)));
  return AsCompleted<internal::ensured_future_t<A>>(std::move(fs), timeout);
}

// asyncio.shield(aw): a future on `aw`'s loop that completes as `aw` does, but whose cancel()
// does not cancel `aw` (a Coro<T> becomes a task first). If `aw` is already done it is returned
// itself. Cancelling the task that awaits the shield cancels only the shield: `aw` runs on.
//
// Example:
//   stealio::Task<int> save = stealio::create_task(write_to_disk());
//   int n = co_await stealio::shield(save);  // a cancel here leaves the write running
template <internal::Awaitable A>
Future<internal::awaitable_value_t<A>> shield(A aw) {
  using T = internal::awaitable_value_t<A>;
  auto inner = internal::ensure_future(std::move(aw));
  if (inner.done()) return Future<T>(inner);
  Future<T> outer(inner.get_loop());
  CallbackId inner_id = inner.add_done_callback([outer](Future<T>& in) mutable {
    if (outer.cancelled()) {
      if (!in.cancelled()) in.exception();  // marks it retrieved
      return;
    }
    if (in.cancelled()) {
      outer.cancel();
      return;
    }
    try {
      if (std::exception_ptr e = in.exception()) {
        outer.set_exception(e);
      } else if constexpr (std::is_void_v<T>) {
        outer.set_result();
      } else if constexpr (std::is_reference_v<T> || std::is_copy_constructible_v<T>) {
        outer.set_result(in.result());
      } else {
        outer.set_result(std::move(in.result()));
      }
    } catch (const InvalidStateError&) {
      // The outer future was cancelled meanwhile, from another thread.
    }
  });
  Future<T> in = inner;
  outer.add_done_callback([in, inner_id]() mutable {
    if (!in.done()) in.remove_done_callback(inner_id);
  });
  return outer;
}

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_WAIT_H_
