// TaskQueue: a FIFO of runnable task steps shared by several threads: the scheduler's injection
// queue (steps submitted from outside the workers) and each worker's yield queue (steps that gave
// way to other work). Intrusive through TaskBase::queue_next_, so pushing allocates nothing.
//
// A spin lock guards the list (held for a few stores; absl::Mutex cost 7% of 1,000,000 outside
// spawns, see SpinMutex); len_ mirrors its length so that idle workers can skip an empty queue
// without taking the lock. Pushers publish len_ with a release store after linking; readers that
// see a non-zero length still take the lock before touching the list.
#ifndef STEALIO_INTERNAL_TASK_QUEUE_H_
#define STEALIO_INTERNAL_TASK_QUEUE_H_

#include <cstddef>

#include "absl/base/thread_annotations.h"
#include "scheduler/internal/mutex.h"
#include "scheduler/internal/atomic.h"
#include "stealio/task_base.h"

namespace stealio {
inline namespace v1 {
namespace internal {

class TaskQueue {
 public:
  TaskQueue() = default;
  TaskQueue(const TaskQueue&) = delete;
  TaskQueue& operator=(const TaskQueue&) = delete;

  // Takes over one reference to `t`.
  void push(TaskBase* t) {
    push_if(t, [] { return true; });
  }

  // push(t) if `admit()`, called under the lock, returns true; else pushes nothing and returns
  // false (the caller keeps its reference).
  template <class Admit>
  bool push_if(TaskBase* t, Admit&& admit) {
    SpinLock lock(&mu_);
    if (!admit()) return false;
    t->queue_next_ = nullptr;
    if (tail_) {
      tail_->queue_next_ = t;
    } else {
      head_ = t;
    }
    tail_ = t;
    len_.store(len_.load(memory_order_relaxed) + 1, memory_order_release);
    return true;
  }

  // Calls visit(task) for every queued step, oldest first, then then(), all under the lock (no
  // step is pushed or popped meanwhile). Neither may push to or pop from this queue.
  template <class Visit, class Then>
  void visit_then(Visit&& visit, Then&& then) {
    SpinLock lock(&mu_);
    for (TaskBase* t = head_; t; t = t->queue_next_) visit(*t);
    then();
  }

  // Hands over one reference, or null when empty.
  TaskBase* pop() {
    if (len_.load(memory_order_acquire) == 0) return nullptr;
    SpinLock lock(&mu_);
    return pop_locked();
  }

  // Like pop() but gives up instead of waiting for the lock (thieves).
  TaskBase* try_pop() {
    if (len_.load(memory_order_acquire) == 0) return nullptr;
    if (!mu_.TryLock()) return nullptr;
    TaskBase* t = pop_locked();
    mu_.Unlock();
    return t;
  }

  // Moves up to `max` steps, oldest first, into out[0..n) under one lock acquisition and returns
  // n; hands over one reference per step. Workers take the injection queue's steps in batches
  // (Tokio's pop_n): with 16 workers draining 1,000,000 outside spawns one lock per step, the
  // lock's cache line was fought over by every worker (7.7 us per spawn at 16 threads).
  // on_popped(task) is called for each step under the lock.
  template <class OnPopped>
  std::size_t pop_batch(TaskBase** out, std::size_t max, OnPopped&& on_popped) {
    if (max == 0 || len_.load(memory_order_acquire) == 0) return 0;
    SpinLock lock(&mu_);
    return pop_batch_locked(out, max, on_popped);
  }
  std::size_t pop_batch(TaskBase** out, std::size_t max) {
    return pop_batch(out, max, [](TaskBase&) {});
  }

  // Like pop_batch() but takes nothing (returns 0) when the lock is held: by the pushing thread
  // or by another worker taking its share. For workers of a scheduler with several: one that
  // comes away empty searches, polls or re-checks before it parks, and every such check sees a
  // non-empty queue (size()), so nothing queued is left behind. When they waited for the lock
  // instead, each step an outside thread pushed had every idle worker queue up behind it:
  // 1,000,000 outside spawns at 16 workers on the 16-core device took 1.5 s (with the wake-up
  // rule of idle.h), 0.96 s with this (oneTBB 0.80 s).
  template <class OnPopped>
  std::size_t try_pop_batch(TaskBase** out, std::size_t max, OnPopped&& on_popped) {
    if (max == 0 || len_.load(memory_order_acquire) == 0) return 0;
    if (!mu_.TryLock()) return 0;
    const std::size_t n = pop_batch_locked(out, max, on_popped);
    mu_.Unlock();
    return n;
  }

  bool empty() const noexcept { return len_.load(memory_order_acquire) == 0; }
  std::size_t size() const noexcept { return len_.load(memory_order_relaxed); }

 private:
  template <class OnPopped>
  std::size_t pop_batch_locked(TaskBase** out, std::size_t max, OnPopped& on_popped)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::size_t n = 0;
    while (n < max && (out[n] = pop_locked()) != nullptr) on_popped(*out[n++]);
    return n;
  }

  TaskBase* pop_locked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    TaskBase* t = head_;
    if (!t) return nullptr;
    head_ = t->queue_next_;
    if (!head_) tail_ = nullptr;
    t->queue_next_ = nullptr;
    len_.store(len_.load(memory_order_relaxed) - 1, memory_order_release);
    return t;
  }

  SpinMutex mu_;
  TaskBase* head_ ABSL_GUARDED_BY(mu_) = nullptr;
  TaskBase* tail_ ABSL_GUARDED_BY(mu_) = nullptr;
  atomic<std::size_t> len_{0};
};

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_INTERNAL_TASK_QUEUE_H_
