// asyncio.Lock (CPython 3.13's locks.py) on the waiting protocol of wait_list.h.
#include "stealio/lock.h"

#include "stealio/errors.h"
#include "stealio/loop.h"

namespace stealio {
inline namespace v1 {

using internal::WaitNode;
using internal::Wakeups;
using Held = tbb::spin_mutex::scoped_lock;

bool Lock::only_cancelled_waiters() const {
  bool all = true;
  waiters_.for_each([&](WaitNode& n) { return all = n.fut->cancelled(); });
  return all;
}

bool Lock::acquire_or_enqueue(WaitNode& node) {
  Held held(mu_);
  // Fair: a free lock is taken at once only when nobody (not cancelled) waits for it.
  if (!locked_ && only_cancelled_waiters()) {
    locked_ = true;
    return false;
  }
  node.fut.emplace(get_running_loop());
  waiters_.push_back(node);
  return true;
}

void Lock::finish_acquire(WaitNode& node, bool acquired) {
  Wakeups wakeups;
  Held held(mu_);
  waiters_.remove(node);
  if (acquired) {
    // Only a release() rings a waiter, and none can lock in between: the lock is free.
    locked_ = true;
    return;
  }
  // Cancelled. If the lock is free (maybe released for us), the first waiter must run.
  if (!locked_) wake_up_first(wakeups);
}

void Lock::wake_up_first(Wakeups& wakeups) {
  WaitNode* first = waiters_.front();
  // A first waiter already woken, or cancelled (its own CancelledError path wakes the next one),
  // needs nothing.
  if (first && first->can_wake()) wakeups.add(*first);
}

void Lock::release() {
  Wakeups wakeups;
  Held held(mu_);
  if (!locked_) throw RuntimeError("Lock is not acquired.");
  locked_ = false;
  wake_up_first(wakeups);
}

bool Lock::locked() const {
  Held held(mu_);
  return locked_;
}

std::string Lock::repr() const {
  Held held(mu_);
  std::string extra = locked_ ? "locked" : "unlocked";
  if (!waiters_.empty()) extra += ", waiters:" + std::to_string(waiters_.size());
  return "<Lock [" + extra + "]>";
}

}  // namespace v1
}  // namespace stealio
