// Condition: asyncio.Condition, a condition variable for tasks, on a Lock of its own or a given
// one (shared with other conditions or code that takes the Lock directly).
//
// wait() must be called with the lock held: it releases the lock, waits for notify() or
// notify_all(), and re-acquires the lock before returning, also when cancelled (the
// CancelledError is raised with the lock held). A waiter that raises after it was notified
// passes the notification on to another waiter; a spurious wakeup may result, so re-check the
// state after waking (wait_for(pred) does it). notify() and notify_all() require the lock to be
// held and are safe from any thread.
//
// Example:
//   stealio::Condition cond;
//   std::deque<int> items;
//   stealio::Coro<int> take() {
//     auto guard = co_await cond.scoped();
//     co_await cond.wait_for([&] { return !items.empty(); });
//     int v = items.front();
//     items.pop_front();
//     co_return v;
//   }
//   stealio::Coro<void> give(int v) {
//     auto guard = co_await cond.scoped();
//     items.push_back(v);
//     cond.notify();
//   }
#ifndef STEALIO_CONDITION_H_
#define STEALIO_CONDITION_H_

#include <cstddef>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>

#include "oneapi/tbb/spin_mutex.h"
#include "stealio/coro.h"
#include "stealio/internal/wait_list.h"
#include "stealio/lock.h"

namespace stealio {
inline namespace v1 {

// asyncio.Condition.
class Condition {
 public:
  // A condition with a Lock of its own.
  Condition();
  // A condition on `lock`, which must outlive it (asyncio's Condition(lock)).
  explicit Condition(Lock& lock) noexcept;
  ~Condition();
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;

  // The underlying lock's acquire(), scoped(), release() and locked().
  internal::AcquireAwaiter<Lock> acquire() noexcept { return lock_->acquire(); }
  internal::ScopedAwaiter<Lock> scoped() noexcept { return lock_->scoped(); }
  void release() { lock_->release(); }
  bool locked() const { return lock_->locked(); }
  Lock& lock() const noexcept { return *lock_; }

  // `co_await cond.wait()`: releases the lock, waits until notified, re-acquires the lock and
  // returns true. Raises RuntimeError `cannot wait on un-acquired lock` when the lock is not held.
  Coro<bool> wait();

  // `co_await cond.wait_for(pred)`: waits until pred() is truthy and returns its last value;
  // pred is called with the lock held. Raises like wait() when it has to wait without the lock.
  template <class Pred>
  Coro<std::decay_t<std::invoke_result_t<Pred&>>> wait_for(Pred pred);

  // Wakes up to `n` waiters (that are not already woken or cancelled). Raises RuntimeError
  // `cannot notify on un-acquired lock` when the lock is not held.
  void notify(std::size_t n = 1);
  // Wakes every waiter. Raises like notify().
  void notify_all() { notify(std::numeric_limits<std::size_t>::max()); }

  // `<Condition [locked, waiters:1]>`.
  std::string repr() const;

 private:
  void notify_unchecked(std::size_t n);

  std::unique_ptr<Lock> own_lock_;
  Lock* const lock_;
  mutable tbb::spin_mutex mu_;
  // Guarded by mu_.
  internal::WaitList waiters_;
};

template <class Pred>
Coro<std::decay_t<std::invoke_result_t<Pred&>>> Condition::wait_for(Pred pred) {
  auto result = pred();
  while (!result) {
    co_await wait();
    result = pred();
  }
  co_return result;
}

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_CONDITION_H_
