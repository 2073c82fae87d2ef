// Helpers shared by the tests: run a function on a given loop and wait for its result.
#ifndef STEALIO_TESTS_TEST_SUPPORT_H_
#define STEALIO_TESTS_TEST_SUPPORT_H_

#include <future>
#include <type_traits>
#include <utility>

#include "stealio/lifetime.h"
#include "stealio/loop.h"
#include "stealio/scheduler.h"
#include "stealio/task_base.h"

namespace stealio_test {

// Runs `fn` on `loop`'s worker (call_soon_threadsafe) and returns its result, rethrowing.
template <class F>
auto run_on(stealio::Loop& loop, F fn) -> std::invoke_result_t<F> {
  using R = std::invoke_result_t<F>;
  auto p = std::make_shared<std::promise<R>>();
  std::future<R> f = p->get_future();
  loop.call_soon_threadsafe([p, fn = std::move(fn)]() mutable {
    try {
      if constexpr (std::is_void_v<R>) {
        fn();
        p->set_value();
      } else {
        p->set_value(fn());
      }
    } catch (...) {
      p->set_exception(std::current_exception());
    }
  });
  return f.get();
}

// A task with no behaviour of its own, for protocol tests: steps do nothing.
class InertTask final : public stealio::TaskBase {
 public:
  explicit InertTask(stealio::Loop& loop) : TaskBase(loop) {}
  void step() override {}
  void finish() { mark_done(); }
};

inline bool contains(const std::vector<stealio::TaskRef>& v, const stealio::TaskBase* t) {
  for (const auto& r : v) {
    if (r.get() == t) return true;
  }
  return false;
}

}  // namespace stealio_test

#endif  // STEALIO_TESTS_TEST_SUPPORT_H_
