// asyncio.Semaphore and BoundedSemaphore (CPython 3.13's locks.py) on the waiting protocol of
// wait_list.h. A release() that wakes a waiter takes the unit for it at once (value_ counts the
// units nobody has been promised), as _wake_up_next does.
#include "stealio/semaphore.h"

#include "stealio/errors.h"
#include "stealio/loop.h"

namespace stealio {
inline namespace v1 {

using internal::WaitNode;
using internal::Wakeups;
using Held = tbb::spin_mutex::scoped_lock;

Semaphore::Semaphore(std::int64_t value) : Semaphore(value, -1) {}

Semaphore::Semaphore(std::int64_t value, std::int64_t bound) : bound_(bound), value_(value) {
  if (value < 0) throw ValueError("Semaphore initial value must be >= 0");
}

bool Semaphore::locked_unguarded() const {
  if (value_ == 0) return true;
  // FIFO: a unit left free still belongs to the waiters, unless all of them were cancelled.
  bool any_waiting = false;
  waiters_.for_each([&](WaitNode& n) { return !(any_waiting = !n.fut->cancelled()); });
  return any_waiting;
}

bool Semaphore::acquire_or_enqueue(WaitNode& node) {
  Held held(mu_);
  if (!locked_unguarded()) {
    --value_;
    return false;
  }
  node.fut.emplace(get_running_loop());
  waiters_.push_back(node);
  return true;
}

void Semaphore::finish_acquire(WaitNode& node, bool acquired) {
  Wakeups wakeups;
  Held held(mu_);
  waiters_.remove(node);
  // Woken but not acquiring (cancelled after the wakeup, or the ring lost to the cancel): the
  // unit taken for us goes back.
  if (!acquired && node.woken) ++value_;
  // Units released while the earlier waiters had not yet run: wake as many as they allow.
  while (value_ > 0 && wake_up_next(wakeups)) {
  }
}

bool Semaphore::wake_up_next(Wakeups& wakeups) {
  bool woke = false;
  waiters_.for_each([&](WaitNode& n) {
    if (!n.can_wake()) return true;
    --value_;
    wakeups.add(n);
    woke = true;
    return false;
  });
  return woke;
}

void Semaphore::release() {
  Wakeups wakeups;
  Held held(mu_);
  if (bound_ >= 0 && value_ >= bound_) {
    throw ValueError("BoundedSemaphore released too many times");
  }
  ++value_;
  wake_up_next(wakeups);
}

bool Semaphore::locked() const {
  Held held(mu_);
  return locked_unguarded();
}

std::string Semaphore::repr() const {
  Held held(mu_);
  std::string extra =
      locked_unguarded() ? "locked" : "unlocked, value:" + std::to_string(value_);
  if (!waiters_.empty()) extra += ", waiters:" + std::to_string(waiters_.size());
  return std::string(bound_ >= 0 ? "<BoundedSemaphore [" : "<Semaphore [") + extra + "]>";
}

}  // namespace v1
}  // namespace stealio
