// The waiting protocol shared by the synchronization primitives (lock.h, event.h, condition.h,
// semaphore.h, barrier.h, queue.h): how a task waits without blocking its worker, and how a
// wakeup is given so that it is never lost and never given twice.
//
// A waiting task owns a WaitNode, in its coroutine frame (a Coro local or an awaiter), so the
// node's address is stable while it is linked. The node holds a Future<void> created on the
// running loop: the task awaits it, and completing it (the "ring") schedules the task's next step.
//
// Each primitive guards its state and its WaitLists with one small spin lock (the primitive's
// `mu_`). Under that lock a waker decides who gets a wakeup and marks the node `woken`; the ring
// itself happens after the lock is released (Wakeups collects the futures and rings them in its
// destructor), so the lock is never held across the scheduler's wake-up of a worker.
//
// `woken`, written under the primitive's lock, is the truth; the future is only the doorbell.
// Two things can happen to a node's future outside the primitive's lock: the ring, and a cancel
// (Task.cancel() cancels the future its task awaits, from any thread). Hence:
//   - a node can be woken only while `!woken && !fut->cancelled()` (asyncio's `not fut.done()`);
//   - a future that finished with a value implies `woken` (only rings finish it);
//   - a waiter that resumes with CancelledError checks `woken` under the lock: when set, the
//     wakeup was spent on it (its ring may even have lost to the cancel) and it passes the wakeup
//     on, as asyncio's Lock/Semaphore/Queue do in their CancelledError paths. So a cancelled
//     waiter never swallows a wakeup meant for another.
#ifndef STEALIO_TASKS_INTERNAL_WAIT_LIST_H_
#define STEALIO_TASKS_INTERNAL_WAIT_LIST_H_

#include <coroutine>
#include <cstddef>
#include <optional>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "stealio/future.h"
#include "stealio/internal/await.h"

namespace stealio {
inline namespace v1 {
namespace internal {

// One waiting task's place in a primitive's FIFO of waiters. Not copyable or movable (linked).
struct WaitNode {
  WaitNode() = default;
  WaitNode(const WaitNode&) = delete;
  WaitNode& operator=(const WaitNode&) = delete;

  // True while the node may still be given a wakeup (asyncio: `not fut.done()`).
  bool can_wake() const noexcept { return !woken && !fut->cancelled(); }

  WaitNode* prev = nullptr;
  WaitNode* next = nullptr;
  bool linked = false;
  // A wakeup was given to this waiter. Under the primitive's lock.
  bool woken = false;
  // The doorbell, on the loop of the waiting task; empty until the task has to wait.
  std::optional<Future<void>> fut;
};

// Intrusive FIFO of WaitNodes. Not thread-safe: used under the owning primitive's lock.
class WaitList {
 public:
  WaitList() = default;
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;

  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  WaitNode* front() const noexcept { return head_; }

  void push_back(WaitNode& n) noexcept;
  // Unlinks `n` if it is linked (a waker may have unlinked it already).
  void remove(WaitNode& n) noexcept;
  WaitNode* pop_front() noexcept;

  // Calls fn(WaitNode&) for each node, front to back; fn returns false to stop.
  template <class F>
  void for_each(F fn) const {
    for (WaitNode* n = head_; n;) {
      WaitNode* next = n->next;
      if (!fn(*n)) return;
      n = next;
    }
  }

 private:
  WaitNode* head_ = nullptr;
  WaitNode* tail_ = nullptr;
  std::size_t size_ = 0;
};

// The rings decided under a primitive's lock, made when this object is destroyed: declare it
// before the lock guard, so it outlives the guard and rings after the unlock (also when an
// exception leaves the function).
class Wakeups {
 public:
  Wakeups() = default;
  Wakeups(const Wakeups&) = delete;
  Wakeups& operator=(const Wakeups&) = delete;
  ~Wakeups() { ring(); }

  // Marks `n` woken and keeps its future to ring. Call with the primitive's lock held.
  void add(WaitNode& n) {
    n.woken = true;
    futures_.push_back(*n.fut);
  }
  // Rings every future added so far, in the order they were added. A ring that loses to a
  // cancel is harmless: the cancelled waiter sees `woken` and passes the wakeup on.
  void ring() noexcept;

 private:
  absl::InlinedVector<Future<void>, 2> futures_;
};

// The awaiter of Lock::acquire() and Semaphore::acquire(): takes the primitive at once when it
// may (no suspension, no allocation), otherwise waits on a WaitNode. P provides
//   bool acquire_or_enqueue(WaitNode&)   // false: taken at once; true: node linked, must wait
//   void finish_acquire(WaitNode&, bool acquired)  // after the wait: unlink, then take the
//                                                  // primitive or pass the wakeup on
template <class P>
class AcquireAwaiter {
 public:
  explicit AcquireAwaiter(P& p) noexcept : p_(&p) {}
  AcquireAwaiter(const AcquireAwaiter&) = delete;
  AcquireAwaiter& operator=(const AcquireAwaiter&) = delete;

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    if (!p_->acquire_or_enqueue(node_)) return false;
    suspended_ = true;
    inner_ = node_.fut->operator co_await();
    try {
      return inner_.await_suspend(h);
    } catch (...) {
      // Not inside a task: the node may already have been woken; give the wakeup back.
      p_->finish_acquire(node_, false);
      throw;
    }
  }
  bool await_resume() {
    if (!suspended_) return true;
    try {
      inner_.await_resume();
    } catch (...) {
      p_->finish_acquire(node_, false);
      throw;
    }
    p_->finish_acquire(node_, true);
    return true;
  }

 protected:
  P* const p_;

 private:
  WaitNode node_;
  FutureAwaiter<void> inner_{nullptr, nullptr};
  bool suspended_ = false;
};

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_TASKS_INTERNAL_WAIT_LIST_H_
