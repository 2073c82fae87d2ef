// What the structured-concurrency helpers (timeouts.h, gather.h, wait.h, task_group.h) accept and
// how they wait: traits over Coro<T> / Task<T> / Future<T>, asyncio's ensure_future, and an
// awaiter that waits for a future without reading its value.
#ifndef STEALIO_TASKS_INTERNAL_AWAITABLE_H_
#define STEALIO_TASKS_INTERNAL_AWAITABLE_H_

#include <exception>
#include <functional>
#include <type_traits>
#include <variant>

#include "stealio/coro.h"
#include "stealio/future.h"
#include "stealio/internal/await.h"
#include "stealio/task.h"

namespace stealio {
inline namespace v1 {
namespace internal {

template <class A>
struct IsCoro : std::false_type {};
template <class T>
struct IsCoro<Coro<T>> : std::true_type {};

template <class A>
struct IsFutureLike : std::false_type {};
template <class T>
struct IsFutureLike<Future<T>> : std::true_type {};
template <class T>
struct IsFutureLike<Task<T>> : std::true_type {};

// Coro<T>, Future<T> or Task<T>: what asyncio calls an awaitable.
template <class A>
concept Awaitable = IsCoro<std::remove_cvref_t<A>>::value ||
                    IsFutureLike<std::remove_cvref_t<A>>::value;
template <class A>
concept FutureLike = IsFutureLike<std::remove_cvref_t<A>>::value;

template <Awaitable A>
using awaitable_value_t = typename std::remove_cvref_t<A>::value_type;

// asyncio.ensure_future: a coroutine becomes a task on the running loop; a future or task is
// used as it is.
template <class T>
Task<T> ensure_future(Coro<T>&& coro) {
  return create_task(std::move(coro));
}
template <class T>
Task<T> ensure_future(Task<T> task) {
  return task;
}
template <class T>
Future<T> ensure_future(Future<T> future) {
  return future;
}
template <Awaitable A>
using ensured_future_t = decltype(ensure_future(std::declval<std::remove_cvref_t<A>&&>()));

// A coroutine that awaits `a`: Coro<T> as it is; a future is awaited by a new coroutine.
template <class T>
Coro<T> as_coro(Coro<T>&& c) {
  return std::move(c);
}
template <class F>
  requires FutureLike<F>
Coro<typename F::value_type> as_coro(F f) {
  co_return co_await f;
}

// Waits until `core` is done and raises like Future::result() (the value stays in the future).
inline FutureAwaiter<void> await_done(FutureCore& core) noexcept {
  static ValueSlot<void> none;  // stateless
  return FutureAwaiter<void>{&core, &none};
}

// True when `e` holds a CancelledError (or a subclass).
bool is_cancelled_error(const std::exception_ptr& e) noexcept;

// How a value of type T is stored in a result container: void as std::monostate, a reference as
// std::reference_wrapper.
template <class T>
using stored_t = std::conditional_t<
    std::is_void_v<T>, std::monostate,
    std::conditional_t<std::is_reference_v<T>,
                       std::reference_wrapper<std::remove_reference_t<T>>, T>>;

// The value of a finished future, as stored_t: copied when copyable (others may read it too),
// moved otherwise (move-only values have one reader). Raises like result().
template <class T>
stored_t<T> take_stored(Future<T>& f) {
  if constexpr (std::is_void_v<T>) {
    f.result();
    return std::monostate{};
  } else if constexpr (std::is_reference_v<T> || std::is_copy_constructible_v<T>) {
    return f.result();
  } else {
    return std::move(f.result());
  }
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_TASKS_INTERNAL_AWAITABLE_H_
