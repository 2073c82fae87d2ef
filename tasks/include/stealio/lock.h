// Lock: asyncio.Lock, a mutual-exclusion lock for tasks that suspends the waiting task, never its
// worker. Guard<L>: what `async with lock:` does, as an RAII object.
//
// A Lock is not owned by a task: any task (or thread) may release it. Waiters acquire it in FIFO
// order; a task that calls acquire() while others wait queues behind them even if the lock is
// free at that moment (asyncio's fairness). A waiter cancelled after release() chose it passes
// the lock on to the next waiter. Every method is safe from any thread; acquire() must be awaited
// inside a task.
//
// Example:
//   stealio::Lock lock;
//   stealio::Coro<void> add(int& shared) {
//     auto guard = co_await lock.scoped();   // async with lock:
//     shared += co_await compute();         //   (the lock is released by guard's destructor,
//   }                                       //    also when an exception or cancel unwinds)
//   ...
//   co_await lock.acquire();                // or by hand
//   try { ... } catch (...) { lock.release(); throw; }
//   lock.release();
#ifndef STEALIO_LOCK_H_
#define STEALIO_LOCK_H_

#include <string>
#include <utility>

#include "oneapi/tbb/spin_mutex.h"
#include "stealio/internal/wait_list.h"

namespace stealio {
inline namespace v1 {

class Lock;

// Holds an acquired Lock, Semaphore or BoundedSemaphore and releases it when destroyed (asyncio's
// `async with`). Made by `co_await x.scoped()`. Movable, not copyable. Do not release the
// primitive yourself while a guard holds it: call guard.release() instead (a release that fails
// in the destructor, e.g. RuntimeError on a lock released behind the guard's back, terminates).
//
// Example:
//   {
//     stealio::Guard<stealio::Semaphore> g = co_await sem.scoped();
//     co_await use_the_resource();
//   }  // sem.release()
template <class L>
class [[nodiscard]] Guard {
 public:
  explicit Guard(L& l) noexcept : l_(&l) {}
  Guard(Guard&& o) noexcept : l_(std::exchange(o.l_, nullptr)) {}
  Guard& operator=(Guard&& o) noexcept {
    if (this != &o) {
      reset();
      l_ = std::exchange(o.l_, nullptr);
    }
    return *this;
  }
  ~Guard() { reset(); }

  // Releases now; the destructor then does nothing.
  void release() {
    if (L* l = std::exchange(l_, nullptr)) l->release();
  }
  // True while the guard still holds the primitive.
  bool owns() const noexcept { return l_ != nullptr; }

 private:
  void reset() noexcept {
    if (L* l = std::exchange(l_, nullptr)) l->release();
  }
  L* l_;
};

namespace internal {
// `co_await x.scoped()`: acquires like x.acquire(), then hands out the Guard.
template <class L>
class ScopedAwaiter : public AcquireAwaiter<L> {
 public:
  using AcquireAwaiter<L>::AcquireAwaiter;
  Guard<L> await_resume() {
    AcquireAwaiter<L>::await_resume();
    return Guard<L>(*this->p_);
  }
};
}  // namespace internal

// asyncio.Lock.
class Lock {
 public:
  Lock() = default;
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  // `co_await lock.acquire()`: waits until the lock is free and this task's turn has come (FIFO),
  // locks it and returns true. Does not suspend when the lock is free and nobody waits. A cancel
  // while waiting raises CancelledError and leaves the lock as it was for the others.
  internal::AcquireAwaiter<Lock> acquire() noexcept { return internal::AcquireAwaiter<Lock>(*this); }
  // `auto guard = co_await lock.scoped()`: acquire(), returning a Guard that releases.
  internal::ScopedAwaiter<Lock> scoped() noexcept { return internal::ScopedAwaiter<Lock>(*this); }

  // Unlocks and lets the first waiter proceed. Raises RuntimeError `Lock is not acquired.` when
  // the lock is not locked. From any thread.
  void release();

  // True while locked. Between a release() that chose a waiter and that waiter's resumption the
  // lock reads unlocked, as in asyncio (nobody else can take it meanwhile).
  bool locked() const;

  // `<Lock [locked, waiters:2]>` (asyncio's repr without the address).
  std::string repr() const;

 private:
  friend class internal::AcquireAwaiter<Lock>;

  bool acquire_or_enqueue(internal::WaitNode& node);
  void finish_acquire(internal::WaitNode& node, bool acquired);
  bool only_cancelled_waiters() const;
  void wake_up_first(internal::Wakeups& wakeups);

  mutable tbb::spin_mutex mu_;
  // Guarded by mu_.
  bool locked_ = false;
  internal::WaitList waiters_;
};

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_LOCK_H_
