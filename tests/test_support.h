// Helpers shared by the tests: run a function on a given loop and wait for its result.
#ifndef STEALIO_TESTS_TEST_SUPPORT_H_
#define STEALIO_TESTS_TEST_SUPPORT_H_

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <latch>
#include <thread>
#include <type_traits>
#include <utility>

#include "stealio/lifetime.h"
#include "stealio/loop.h"
#include "stealio/scheduler.h"
#include "stealio/task_base.h"

namespace stealio_test {

// A generous bound for "it happens", even under TSan on a loaded machine.
inline constexpr std::chrono::seconds kWaitLimit{20};

// Polls `pred` until it holds or `limit` passes. For states that have no event to wait on (a
// worker going to sleep); never used to order the test's own actions.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = kWaitLimit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// The value of `f`, which must be ready within kWaitLimit. Otherwise it reports and aborts
// rather than return: the work may still run later and touch the caller's frame.
template <class T>
T get_within(std::future<T>& f) {
  if (f.wait_for(kWaitLimit) != std::future_status::ready) {
    std::fprintf(stderr, "FATAL: timed out waiting for work to run\n");
    std::fflush(stderr);
    std::abort();
  }
  return f.get();
}

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

// Holds the only worker of `sched` in a posted function until release(): what is posted or
// spawned meanwhile waits in the injection queue. Must outlive that function (keep it until the
// work posted after it has run).
class HeldWorker {
 public:
  explicit HeldWorker(stealio::Scheduler& sched) {
    auto held_f = held_.get_future();
    sched.post([this] {
      held_.set_value();
      hold_.wait();
    });
    get_within(held_f);
  }
  void release() { hold_.count_down(); }

 private:
  std::latch hold_{1};
  std::promise<void> held_;
};

inline bool contains(const std::vector<stealio::TaskRef>& v, const stealio::TaskBase* t) {
  for (const auto& r : v) {
    if (r.get() == t) return true;
  }
  return false;
}

}  // namespace stealio_test

#endif  // STEALIO_TESTS_TEST_SUPPORT_H_
