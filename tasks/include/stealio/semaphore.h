// Semaphore and BoundedSemaphore: asyncio's, counters that tasks wait on without blocking their
// workers.
//
// acquire() takes one unit, waiting while the value is 0; release() gives one back and wakes the
// first waiter. Waiters are served in FIFO order, and while any waits a new acquire() queues even
// if units are free (asyncio 3.13's fairness). A waiter cancelled after a release() chose it
// gives its unit back and wakes the next one. BoundedSemaphore raises ValueError
// `BoundedSemaphore released too many times` when release() would exceed the initial value.
// release(), locked() and repr() are safe from any thread; acquire() must be awaited in a task.
//
// Example:
//   stealio::Semaphore slots(4);              // at most 4 downloads at once
//   stealio::Coro<Page> download(Url u) {
//     auto guard = co_await slots.scoped();   // async with slots:
//     co_return co_await fetch(u);
//   }
#ifndef STEALIO_SEMAPHORE_H_
#define STEALIO_SEMAPHORE_H_

#include <cstdint>
#include <string>

#include "oneapi/tbb/spin_mutex.h"
#include "stealio/internal/wait_list.h"
#include "stealio/lock.h"

namespace stealio {
inline namespace v1 {

// asyncio.Semaphore.
class Semaphore {
 public:
  // Raises ValueError `Semaphore initial value must be >= 0` when `value` < 0.
  explicit Semaphore(std::int64_t value = 1);
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  // `co_await sem.acquire()`: takes a unit, waiting for one (and for the earlier waiters) if
  // needed; returns true.
  internal::AcquireAwaiter<Semaphore> acquire() noexcept {
    return internal::AcquireAwaiter<Semaphore>(*this);
  }
  // `auto guard = co_await sem.scoped()`: acquire(), returning a Guard that releases.
  internal::ScopedAwaiter<Semaphore> scoped() noexcept {
    return internal::ScopedAwaiter<Semaphore>(*this);
  }

  // Gives a unit back and wakes the first waiter. From any thread.
  void release();

  // True when acquire() would wait: the value is 0, or tasks (not cancelled) wait.
  bool locked() const;

  // `<Semaphore [unlocked, value:2]>`, `<Semaphore [locked, waiters:3]>`.
  std::string repr() const;

 protected:
  // `bound` < 0: unbounded.
  Semaphore(std::int64_t value, std::int64_t bound);

 private:
  friend class internal::AcquireAwaiter<Semaphore>;

  bool acquire_or_enqueue(internal::WaitNode& node);
  void finish_acquire(internal::WaitNode& node, bool acquired);
  bool locked_unguarded() const;
  bool wake_up_next(internal::Wakeups& wakeups);
  const std::int64_t bound_;
  mutable tbb::spin_mutex mu_;
  // Guarded by mu_.
  std::int64_t value_;
  internal::WaitList waiters_;
};

// asyncio.BoundedSemaphore: release() beyond the initial value raises ValueError.
class BoundedSemaphore : public Semaphore {
 public:
  // Raises ValueError `Semaphore initial value must be >= 0` when `value` < 0.
  explicit BoundedSemaphore(std::int64_t value = 1) : Semaphore(value, value) {}
};

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_SEMAPHORE_H_
