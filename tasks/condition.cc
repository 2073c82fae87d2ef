// asyncio.Condition (CPython 3.13's locks.py) on the waiting protocol of wait_list.h.
#include "stealio/condition.h"

#include <exception>

#include "stealio/errors.h"
#include "stealio/loop.h"

namespace stealio {
inline namespace v1 {

using internal::WaitNode;
using internal::Wakeups;
using Held = tbb::spin_mutex::scoped_lock;

Condition::Condition() : own_lock_(std::make_unique<Lock>()), lock_(own_lock_.get()) {}
Condition::Condition(Lock& lock) noexcept : lock_(&lock) {}
Condition::~Condition() = default;

Coro<bool> Condition::wait() {
  if (!lock_->locked()) throw RuntimeError("cannot wait on un-acquired lock");
  WaitNode node;
  node.fut.emplace(get_running_loop());
  // Linked before the release: a notify() by whoever takes the lock next must find us.
  {
    Held held(mu_);
    waiters_.push_back(node);
  }
  try {
    lock_->release();
  } catch (...) {
    Held held(mu_);  // released by someone else meanwhile: we never waited
    waiters_.remove(node);
    throw;
  }
  std::exception_ptr error;
  try {
    co_await *node.fut;
  } catch (...) {
    error = std::current_exception();
  }
  {
    Held held(mu_);
    waiters_.remove(node);
  }
  // Re-acquire even when cancelled: the caller expects the lock held however wait() ends. Only
  // CancelledError is retried; the last one is raised.
  for (;;) {
    try {
      co_await lock_->acquire();
      break;
    } catch (const CancelledError&) {
      error = std::current_exception();
    }
  }
  if (error) {
    // We may have been notified before the error: hand a notification to another waiter (a
    // spurious wakeup at worst, which the protocol allows).
    notify_unchecked(1);
    std::rethrow_exception(error);
  }
  co_return true;
}

void Condition::notify(std::size_t n) {
  if (!lock_->locked()) throw RuntimeError("cannot notify on un-acquired lock");
  notify_unchecked(n);
}

void Condition::notify_unchecked(std::size_t n) {
  Wakeups wakeups;
  Held held(mu_);
  std::size_t woken = 0;
  waiters_.for_each([&](WaitNode& w) {
    if (woken >= n) return false;
    if (w.can_wake()) {
      wakeups.add(w);
      ++woken;
    }
    return true;
  });
}

std::string Condition::repr() const {
  std::string extra = locked() ? "locked" : "unlocked";
  Held held(mu_);
  if (!waiters_.empty()) extra += ", waiters:" + std::to_string(waiters_.size());
  return "<Condition [" + extra + "]>";
}

}  // namespace v1
}  // namespace stealio
