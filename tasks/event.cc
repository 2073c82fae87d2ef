// asyncio.Event (CPython 3.13's locks.py) on the waiting protocol of wait_list.h.
#include "stealio/event.h"

#include <exception>

#include "stealio/loop.h"

namespace stealio {
inline namespace v1 {

using internal::WaitNode;
using internal::Wakeups;
using Held = tbb::spin_mutex::scoped_lock;

Coro<bool> Event::wait() {
  WaitNode node;
  {
    Held held(mu_);
    if (value_) co_return true;
    node.fut.emplace(get_running_loop());
    waiters_.push_back(node);
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
  // A cancelled waiter takes nothing from the others: set() wakes them all.
  if (error) std::rethrow_exception(error);
  co_return true;
}

void Event::set() {
  Wakeups wakeups;
  Held held(mu_);
  if (value_) return;
  value_ = true;
  waiters_.for_each([&](WaitNode& n) {
    if (n.can_wake()) wakeups.add(n);
    return true;
  });
}

void Event::clear() {
  Held held(mu_);
  value_ = false;
}

bool Event::is_set() const {
  Held held(mu_);
  return value_;
}

std::string Event::repr() const {
  Held held(mu_);
  std::string extra = value_ ? "set" : "unset";
  if (!waiters_.empty()) extra += ", waiters:" + std::to_string(waiters_.size());
  return "<Event [" + extra + "]>";
}

}  // namespace v1
}  // namespace stealio
