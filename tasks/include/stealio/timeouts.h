// Timeouts: asyncio.timeout / timeout_at / Timeout (3.11) and asyncio.wait_for (3.12).
//
// C++ has no `async with`, so a timeout scope is an awaitable that runs a body: the body runs
// inline in the current task (no new task), and when the deadline passes the scope cancels the
// task; the CancelledError that reaches the scope's end becomes TimeoutError only if the scope
// caused it and no other cancellation is pending (it compares the task's cancelling() count with
// the one it saw on entry and calls uncancel(), as CPython's timeouts.py does), so nested scopes
// and cancellations from outside compose as in asyncio.
//
// The timer is armed on the loop of the worker that enters the scope (or reschedules it) and
// fires there while the task may run on another worker: its callback calls the task's cancel(),
// which is thread-safe.
//
// Shapes:
//   co_await stealio::timeout(absl::Milliseconds(50), body());           // the body's result
//   co_await stealio::timeout_at(deadline, body());
//   stealio::Timeout t(absl::Seconds(1));                                 // to reschedule:
//   co_await t.run([&](stealio::Timeout& scope) -> stealio::Coro<void> {
//     scope.reschedule(stealio::Clock::now() + std::chrono::seconds(5));
//     co_await work();
//   });
//   t.expired();
//   co_await stealio::wait_for(task_or_coro_or_future, absl::Seconds(2));
//
// Example:
//   stealio::Coro<std::string> fetch();
//   stealio::Coro<void> handler() {
//     try {
//       std::string page = co_await stealio::timeout(absl::Seconds(2), fetch());
//     } catch (const stealio::TimeoutError&) {
//       // fetch() was cancelled after 2 seconds
//     }
//   }
#ifndef STEALIO_TIMEOUTS_H_
#define STEALIO_TIMEOUTS_H_

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/time/time.h"
#include "stealio/coro.h"
#include "stealio/errors.h"
#include "stealio/future.h"
#include "stealio/internal/awaitable.h"
#include "stealio/loop.h"
#include "stealio/task.h"

namespace stealio {
inline namespace v1 {

namespace internal {
struct TimeoutState;  // timeouts.cc
// now + delay, saturating; nullopt for absl::InfiniteDuration().
std::optional<TimePoint> deadline_after(absl::Duration delay) noexcept;
// Cancels `task` and waits for it to finish, then raises TimeoutError if it ended cancelled
// (wait_for with a timeout <= 0; asyncio's _cancel_and_wait).
Coro<void> cancel_and_wait(FutureCore& future);
}  // namespace internal

// asyncio.Timeout: a scope that cancels the current task at its deadline (`when`, on the Clock of
// Loop::time()) and then raises TimeoutError where the scope ends. States, as asyncio names them:
// created -> active -> (expiring -> expired | finished). A Timeout is entered once; it is neither
// copied nor moved (the body may hold a reference to it). Methods are safe from any thread.
//
// Example:
//   stealio::Timeout t(std::nullopt);                 // no deadline yet
//   co_await t.run([&](stealio::Timeout& scope) -> stealio::Coro<void> {
//     co_await connect();
//     scope.reschedule(stealio::Clock::now() + std::chrono::seconds(1));
//     co_await send();
//   });
class Timeout {
 public:
  // A scope due at `when`; nullopt: no deadline (asyncio's timeout_at(None)).
  explicit Timeout(std::optional<TimePoint> when);
  // A scope due `delay` from now; absl::InfiniteDuration(): no deadline (asyncio's timeout(None)).
  explicit Timeout(absl::Duration delay);
  ~Timeout();
  Timeout(const Timeout&) = delete;
  Timeout& operator=(const Timeout&) = delete;

  // The deadline, or nullopt.
  std::optional<TimePoint> when() const;
  // Moves the deadline (nullopt: none) and re-arms the timer on the calling worker's loop (a
  // deadline already past fires at once). Raises RuntimeError `Timeout has not been entered`
  // before run(), `Cannot change state of <expiring|expired|finished> Timeout` after expiry or
  // exit.
  void reschedule(std::optional<TimePoint> when);
  // True once the deadline has passed and the scope cancelled the task.
  bool expired() const;
  // `<Timeout [active] when=...>`, `<Timeout [expired]>`, ...
  std::string repr() const;

  // Runs `body` inside the scope and returns its result. Raises TimeoutError when the scope's
  // deadline cancelled the body, RuntimeError `Timeout has already been entered` on a second
  // run(), `Timeout should be used inside a task` outside a task; anything else the body raises
  // passes through.
  template <class T>
  Coro<T> run(Coro<T> body);
  // As above with a body that receives the scope: fn(Timeout&) -> Coro<T>.
  template <class F>
    requires std::is_invocable_v<F&, Timeout&>
  auto run(F fn) -> std::invoke_result_t<F&, Timeout&>;

 private:
  void enter();
  // Leaves the scope; replaces `error` with TimeoutError when the scope caused it.
  void exit(std::exception_ptr& error) noexcept;

  std::shared_ptr<internal::TimeoutState> s_;
};

template <class T>
Coro<T> Timeout::run(Coro<T> body) {
  enter();
  std::exception_ptr error;
  internal::ValueSlot<T> value;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(body);
    } else {
      value.set(co_await std::move(body));
    }
  } catch (...) {
    error = std::current_exception();
  }
  body = Coro<T>();  // the body's frame goes before the scope ends, as in `async with`
  exit(error);
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<T>) co_return value.take();
}

template <class F>
  requires std::is_invocable_v<F&, Timeout&>
auto Timeout::run(F fn) -> std::invoke_result_t<F&, Timeout&> {
  // The callable lives in this frame while its coroutine runs.
  co_return co_await run(fn(*this));
}

// asyncio.timeout(delay): runs `body` with a deadline `delay` from when the returned coroutine
// starts. absl::InfiniteDuration() means no deadline; zero or negative ones expire at the body's
// first suspension.
//
// Example:
//   int v = co_await stealio::timeout(absl::Milliseconds(10), compute());
template <class T>
Coro<T> timeout(absl::Duration delay, Coro<T> body) {
  Timeout scope(delay);
  co_return co_await scope.run(std::move(body));
}

// asyncio.timeout_at(when): as timeout(), with an absolute deadline (nullopt: none).
template <class T>
Coro<T> timeout_at(std::optional<TimePoint> when, Coro<T> body) {
  Timeout scope(when);
  co_return co_await scope.run(std::move(body));
}

// asyncio.wait_for(aw, timeout) (3.12): awaits a Coro<T>, Task<T> or Future<T> for at most
// `timeout` and returns its result, or raises TimeoutError after cancelling it. A coroutine runs
// inline; a task or future is cancelled through the await (so the task ends cancelled). With a
// timeout <= 0 a coroutine becomes a task first: a done one gives its result, otherwise it is
// cancelled, waited for, and TimeoutError raised. absl::InfiniteDuration() waits without limit.
//
// Example:
//   stealio::Task<int> t = stealio::create_task(slow());
//   try {
//     int v = co_await stealio::wait_for(t, absl::Milliseconds(100));
//   } catch (const stealio::TimeoutError&) {
//     // t is cancelled (or finishing its cancellation handling)
//   }
template <internal::Awaitable A>
Coro<internal::awaitable_value_t<A>> wait_for(A aw, absl::Duration timeout) {
  using T = internal::awaitable_value_t<A>;
  if (timeout <= absl::ZeroDuration()) {
    auto fut = internal::ensure_future(std::move(aw));
    if (!fut.done()) {
      co_await internal::cancel_and_wait(*fut.core());
      try {
        fut.result();
      } catch (const CancelledError&) {
        throw TimeoutError();
      }
    }
    if constexpr (std::is_void_v<T>) {
      fut.result();
      co_return;
    } else {
      co_return internal::take_stored(fut);
    }
  } else {
    co_return co_await stealio::timeout(timeout, internal::as_coro(std::move(aw)));
  }
}

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_TIMEOUTS_H_
