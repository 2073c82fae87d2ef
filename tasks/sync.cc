// The waiting protocol of the synchronization primitives (see stealio/internal/wait_list.h).
#include "stealio/internal/wait_list.h"

namespace stealio {
inline namespace v1 {
namespace internal {

void WaitList::push_back(WaitNode& n) noexcept {
  n.prev = tail_;
  n.next = nullptr;
  (tail_ ? tail_->next : head_) = &n;
  tail_ = &n;
  n.linked = true;
  ++size_;
}

void WaitList::remove(WaitNode& n) noexcept {
  if (!n.linked) return;
  (n.prev ? n.prev->next : head_) = n.next;
  (n.next ? n.next->prev : tail_) = n.prev;
  n.prev = n.next = nullptr;
  n.linked = false;
  --size_;
}

WaitNode* WaitList::pop_front() noexcept {
  WaitNode* n = head_;
  if (n) remove(*n);
  return n;
}

void Wakeups::ring() noexcept {
  // First to last: a plain future's completion queues its waiter's step FIFO on the ringing
  // worker (FutureCore::dispatch), so the waiters run in the order they were woken, as asyncio
  // resumes them, within one set()/notify_all()/shutdown() and across separate calls.
  for (Future<void>& f : futures_) f.core()->try_finish([] {});
  futures_.clear();
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio
