// Coro<T>: stealio's coroutine type, asyncio's coroutine object.
//
// Calling a coroutine function starts nothing (it is lazy). `co_await coro` runs it inline in the
// current task, like `await coro()` in Python; `create_task(coro)` makes it a task that may run on
// another worker. Control passes between nested coroutines by symmetric transfer, so a chain of a
// million nested `co_await`s uses constant stack. Exceptions propagate to the awaiter. T may be
// void, a move-only type or a reference.
//
// Example:
//   stealio::Coro<int> add(int a, int b) { co_return a + b; }
//   stealio::Coro<int> twice(int x) {
//     int y = co_await add(x, x);   // runs inline, no new task
//     co_return y;
//   }
#ifndef STEALIO_CORO_H_
#define STEALIO_CORO_H_

#include <coroutine>
#include <cstdint>
#include <exception>
#include <utility>

#include "stealio/errors.h"
#include "stealio/internal/frame_alloc.h"
#include "stealio/internal/result.h"

namespace stealio {
inline namespace v1 {

template <class T = void>
class Coro;

namespace internal {

class TaskCore;
// A task's coroutine has ended: `task` takes its value from the promise, or `error` (defined
// with TaskCore; the frame frees itself right after).
void task_coroutine_ended(TaskCore& task, std::exception_ptr& error) noexcept;

// Parts of a Coro promise that do not depend on T.
class CoroPromiseBase {
 public:
  static void* operator new(std::size_t size) { return frame_alloc(size); }
  static void operator delete(void* p, std::size_t size) noexcept { frame_free(p, size); }

  std::suspend_always initial_suspend() noexcept { return {}; }

  // A coroutine awaited inline suspends at its end, and control passes to its awaiter, which
  // reads the result from the promise and destroys the frame. A task's coroutine hands its
  // outcome to the task and does not suspend: the frame frees itself within the step that ends
  // it, without a later destroy() entering the coroutine once more (callgrind, skynet: ~30
  // instructions per task).
  struct FinalAwaiter {
    bool ended_in_task;  // one byte: the awaiter is kept in the frame
    bool await_ready() noexcept { return ended_in_task; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      const std::uintptr_t next = h.promise().link_;
      return next ? std::coroutine_handle<>::from_address(reinterpret_cast<void*>(next))
                  : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept {
    if (!(link_ & kTaskTag)) return {false};
    task_coroutine_ended(*reinterpret_cast<TaskCore*>(link_ & ~kTaskTag), exception_);
    return {true};
  }

  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  void set_continuation(std::coroutine_handle<> h) noexcept {
    link_ = reinterpret_cast<std::uintptr_t>(h.address());
  }
  const std::exception_ptr& exception() const noexcept { return exception_; }
  // For Task, which owns the coroutine from its creation: where the outcome goes at the end.
  void set_task(TaskCore* task) noexcept {
    link_ = reinterpret_cast<std::uintptr_t>(task) | kTaskTag;
  }

 protected:
  void rethrow_if_exception() {
    if (exception_) std::rethrow_exception(exception_);
  }

 private:
  static constexpr std::uintptr_t kTaskTag = 1;
  // The coroutine awaiting this one inline (set_continuation), or the task that owns it
  // (set_task), told apart by bit 0: one word per frame, since a task's coroutine is never
  // awaited inline. Zero: neither (a coroutine resumed by hand).
  std::uintptr_t link_ = 0;
  std::exception_ptr exception_;
};

template <class T>
class CoroPromise : public CoroPromiseBase {
 public:
  Coro<T> get_return_object() noexcept;
  template <class U>
  void return_value(U&& v) {
    value_.set(std::forward<U>(v));
  }
  // The value (moved out), or the exception rethrown.
  T result() {
    rethrow_if_exception();
    return value_.take();
  }

 private:
  ValueSlot<T> value_;
};

template <>
class CoroPromise<void> : public CoroPromiseBase {
 public:
  Coro<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void result() { rethrow_if_exception(); }
};

}  // namespace internal

template <class T>
class [[nodiscard]] Coro {
 public:
  using promise_type = internal::CoroPromise<T>;
  using Handle = std::coroutine_handle<promise_type>;
  using value_type = T;

  Coro() noexcept = default;
  Coro(Coro&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Coro& operator=(Coro&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  ~Coro() { reset(); }

  explicit operator bool() const noexcept { return static_cast<bool>(h_); }
  bool done() const noexcept { return h_ && h_.done(); }

  // Runs the coroutine inline in the awaiting coroutine (symmetric transfer).
  auto operator co_await() && {
    struct Awaiter {
      Handle h;
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        h.promise().set_continuation(awaiting);
        return h;
      }
      T await_resume() { return h.promise().result(); }
    };
    if (!h_) throw RuntimeError("cannot await an empty coroutine");
    return Awaiter{h_};
  }
  auto operator co_await() & { return std::move(*this).operator co_await(); }

  // For the task machinery.
  Handle handle() const noexcept { return h_; }
  Handle release() noexcept { return std::exchange(h_, {}); }

 private:
  friend class internal::CoroPromise<T>;
  explicit Coro(Handle h) noexcept : h_(h) {}
  void reset() noexcept {
    if (h_) std::exchange(h_, {}).destroy();
  }
  Handle h_;
};

namespace internal {
template <class T>
Coro<T> CoroPromise<T>::get_return_object() noexcept {
  return Coro<T>(std::coroutine_handle<CoroPromise<T>>::from_promise(*this));
}
inline Coro<void> CoroPromise<void>::get_return_object() noexcept {
  return Coro<void>(std::coroutine_handle<CoroPromise<void>>::from_promise(*this));
}
}  // namespace internal

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_CORO_H_
