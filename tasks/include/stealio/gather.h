// gather(): asyncio.gather, run awaitables concurrently and collect their results in order.
//
// Each argument is a Coro<T> (made a task on the running loop when the returned coroutine starts,
// in argument order), a Task<T> or a Future<T>. Results come back in argument order:
//   - variadic form: std::tuple of the results;
//   - vector form (std::vector of Coro<T>, Task<T> or Future<T>): std::vector of the results.
// A void result is std::monostate; a T& result is std::reference_wrapper<T>. Results are copied
// out of the futures when copyable (a passed Task may have other readers), moved otherwise.
//
// Errors, as asyncio:
//   - by default the first child to fail (or to end cancelled) makes gather raise that exception
//     (a cancelled child: CancelledError) at once; the other children are not cancelled and go on
//     running;
//   - with `stealio::return_exceptions` first, every result is an Outcome<T>: a std::variant
//     holding the value (index 0) or the exception (index 1; a cancelled child gives a
//     CancelledError), and gather raises nothing of the children's.
// Cancelling the task that awaits gather cancels every child still running; gather then raises
// CancelledError once they are done (even with return_exceptions, asyncio's bpo-32684).
//
// Example:
//   stealio::Coro<int> a();
//   stealio::Coro<std::string> b();
//   auto [x, s] = co_await stealio::gather(a(), b());                 // std::tuple<int, string>
//   std::vector<stealio::Task<int>> ts = ...;
//   std::vector<int> all = co_await stealio::gather(std::move(ts));
//   auto outs = co_await stealio::gather(stealio::return_exceptions, a(), b());
//   if (std::get<0>(outs).index() == 1) { /* a() failed: std::get<1>(std::get<0>(outs)) */ }
#ifndef STEALIO_GATHER_H_
#define STEALIO_GATHER_H_

#include <exception>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "stealio/coro.h"
#include "stealio/errors.h"
#include "stealio/future.h"
#include "stealio/internal/awaitable.h"
#include "stealio/task.h"

namespace stealio {
inline namespace v1 {

// The tag that asks gather() for asyncio's return_exceptions=True.
struct ReturnExceptions {
  explicit constexpr ReturnExceptions() = default;
};
inline constexpr ReturnExceptions return_exceptions{};

// A child's outcome under return_exceptions: its value (index 0) or its exception (index 1).
template <class T>
using Outcome = std::variant<internal::stored_t<T>, std::exception_ptr>;

namespace internal {

// Waits for `children` with asyncio's _GatheringFuture rules (see gather.cc); raises the first
// failure unless `return_exceptions`, or CancelledError if the gather was cancelled.
Coro<void> gather_wait(std::vector<FutureCore*> children, bool return_exceptions);

template <class T>
Outcome<T> take_outcome(Future<T>& f) {
  if (f.cancelled()) {
    return Outcome<T>(std::in_place_index<1>,
                      std::make_exception_ptr(CancelledError(f.core()->cancel_message())));
  }
  if (std::exception_ptr e = f.exception()) return Outcome<T>(std::in_place_index<1>, e);
  return Outcome<T>(std::in_place_index<0>, take_stored(f));
}

template <bool kOutcomes, class... As>
auto gather_tuple(As... aws) -> Coro<std::conditional_t<
    kOutcomes, std::tuple<Outcome<awaitable_value_t<As>>...>,
    std::tuple<stored_t<awaitable_value_t<As>>...>>> {
  // Braced: the tasks are created left to right.
  std::tuple<ensured_future_t<As>...> futs{ensure_future(std::move(aws))...};
  if constexpr (sizeof...(As) > 0) {
    std::vector<FutureCore*> cores =
        std::apply([](auto&... f) { return std::vector<FutureCore*>{f.core()...}; }, futs);
    co_await gather_wait(std::move(cores), kOutcomes);
  }
  co_return std::apply(
      [](auto&... f) {
        if constexpr (kOutcomes) {
          return std::tuple<Outcome<awaitable_value_t<As>>...>{take_outcome(f)...};
        } else {
          return std::tuple<stored_t<awaitable_value_t<As>>...>{take_stored(f)...};
        }
      },
      futs);
}

template <bool kOutcomes, class A>
auto gather_vector(std::vector<A> aws) -> Coro<std::vector<std::conditional_t<
    kOutcomes, Outcome<awaitable_value_t<A>>, stored_t<awaitable_value_t<A>>>>> {
  std::vector<ensured_future_t<A>> futs;
  futs.reserve(aws.size());
  for (A& a : aws) futs.push_back(ensure_future(std::move(a)));
  aws.clear();
  if (!futs.empty()) {
    std::vector<FutureCore*> cores;
    cores.reserve(futs.size());
    for (auto& f : futs) cores.push_back(f.core());
    co_await gather_wait(std::move(cores), kOutcomes);
  }
  std::vector<std::conditional_t<kOutcomes, Outcome<awaitable_value_t<A>>,
                                 stored_t<awaitable_value_t<A>>>>
      out;
  out.reserve(futs.size());
  for (auto& f : futs) {
    if constexpr (kOutcomes) {
      out.push_back(take_outcome(f));
    } else {
      out.push_back(take_stored(f));
    }
  }
  co_return out;
}

}  // namespace internal

// asyncio.gather(*aws): a tuple of the results, in argument order.
//
// Example:
//   auto [a, b] = co_await stealio::gather(fetch(1), fetch(2));
template <internal::Awaitable... As>
auto gather(As... aws) {
  return internal::gather_tuple<false>(std::move(aws)...);
}

// asyncio.gather(*aws, return_exceptions=True): a tuple of Outcome<T>.
//
// Example:
//   auto [a, b] = co_await stealio::gather(stealio::return_exceptions, fetch(1), fetch(2));
//   if (a.index() == 0) use(std::get<0>(a));
template <internal::Awaitable... As>
auto gather(ReturnExceptions, As... aws) {
  return internal::gather_tuple<true>(std::move(aws)...);
}

// asyncio.gather(*list): a vector of the results, in order.
//
// Example:
//   std::vector<stealio::Coro<int>> work;
//   for (int i = 0; i < 10; ++i) work.push_back(fetch(i));
//   std::vector<int> pages = co_await stealio::gather(std::move(work));
template <internal::Awaitable A>
auto gather(std::vector<A> aws) {
  return internal::gather_vector<false>(std::move(aws));
}

// asyncio.gather(*list, return_exceptions=True): a vector of Outcome<T>.
template <internal::Awaitable A>
auto gather(ReturnExceptions, std::vector<A> aws) {
  return internal::gather_vector<true>(std::move(aws));
}

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_GATHER_H_
