// The awaiters by which a coroutine inside a task suspends: on a future (FutureAwaiter) or to
// let other work run (YieldAwaiter). Both hand the suspension to the running task (TaskCore),
// which acts on it after its step has left the loop.
#ifndef STEALIO_TASKS_INTERNAL_AWAIT_H_
#define STEALIO_TASKS_INTERNAL_AWAIT_H_

#include <coroutine>
#include <cstdint>
#include <type_traits>

#include "stealio/internal/future_core.h"
#include "stealio/internal/result.h"

namespace stealio {
inline namespace v1 {
namespace internal {

// The low bit of a Future handle's core address (Future::bits_): the handle also holds the
// queue's reference to the task, handed over by an inline join.
inline constexpr std::uintptr_t kJoinedReference = 1;

// Checks that a task is running and that `f` belongs to its scheduler (RuntimeError otherwise).
// If `f` is a task whose step sits at the bottom of this worker's deque, runs that step here
// first (inline join); returns false when `f` is then done (no suspension). Otherwise records
// the suspension and returns true. `handle`: the bits of the Future handle being awaited (null
// when the awaiter has none), which then takes over the queue's reference to the joined task.
bool suspend_current_task_on(FutureCore& f, std::coroutine_handle<> h, std::uintptr_t* handle);
void suspend_current_task_yield(std::coroutine_handle<> h);
// Rethrows a cancellation delivered to the resumed task, if any.
void rethrow_resume_exception();
// Blocks the calling (non-worker) thread until `f` is done; RuntimeError on a worker.
void block_until_done(FutureCore& f);
bool block_until_done_for(FutureCore& f, absl::Duration timeout);

template <class T>
struct FutureAwaiter {
  FutureCore* core;
  ValueSlot<T>* value;
  // The awaited handle's bits (Future::bits_), or null. The handle outlives the awaiter.
  std::uintptr_t* handle = nullptr;
  bool suspended = false;

  bool await_ready() const noexcept { return core->done(); }
  bool await_suspend(std::coroutine_handle<> h) {
    suspended = suspend_current_task_on(*core, h, handle);
    return suspended;
  }
  T await_resume() {
    if (suspended) rethrow_resume_exception();
    core->check_result();
    if constexpr (std::is_void_v<T> || std::is_reference_v<T> || std::is_copy_constructible_v<T>) {
      return value->get();
    } else {
      return value->take();  // move-only: the one awaiter takes the value
    }
  }
};

struct YieldAwaiter {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { suspend_current_task_yield(h); }
  void await_resume() { rethrow_resume_exception(); }
};

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_TASKS_INTERNAL_AWAIT_H_
