// Queue<T>, PriorityQueue<T>, LifoQueue<T>: asyncio's queues (Python 3.13, with shutdown), for
// producer and consumer tasks on any workers.
//
// `co_await q.put(v)` waits while the queue is full (maxsize > 0), `co_await q.get()` while it is
// empty; both suspend the task, never the worker. put_nowait/get_nowait raise QueueFull /
// QueueEmpty instead of waiting. Every put counts an unfinished task; task_done() counts one
// done, and `co_await q.join()` waits until none is unfinished. shutdown() makes puts raise
// QueueShutDown at once and gets raise it once the queue is empty (at once with immediate=true,
// which also drops the items and counts them done); tasks blocked in put() or get() wake and
// re-check. A get() or put() cancelled while waiting takes or adds nothing and passes a wakeup it
// was given on to the next waiter. Non-waiting methods are safe from any thread.
//
// PriorityQueue<T, Compare> returns the smallest item first (Compare = std::less<T>, as heapq);
// LifoQueue<T> the most recently put one.
//
// Example:
//   stealio::Queue<std::string> q(/*maxsize=*/16);
//   stealio::Coro<void> producer() {
//     for (auto& line : lines) co_await q.put(line);
//     q.shutdown();                            // consumers stop once the queue is drained
//   }
//   stealio::Coro<void> consumer() {
//     try {
//       for (;;) {
//         std::string line = co_await q.get();
//         process(line);
//         q.task_done();
//       }
//     } catch (const stealio::QueueShutDown&) {
//     }
//   }
// As everywhere with g++ 12: bind a brace-initialized aggregate to a variable before passing it
// to `co_await q.put(...)` (see README: g++ 12 destroys such a temporary twice).
#ifndef STEALIO_QUEUE_H_
#define STEALIO_QUEUE_H_

#include <algorithm>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "oneapi/tbb/spin_mutex.h"
#include "stealio/coro.h"
#include "stealio/errors.h"
#include "stealio/internal/wait_list.h"
#include "stealio/loop.h"

namespace stealio {
inline namespace v1 {
namespace internal {

// Item stores: asyncio's _init/_put/_get overrides.
template <class T>
struct FifoStore {
  static constexpr const char* kName = "Queue";
  std::deque<T> items;
  void push(T&& v) { items.push_back(std::move(v)); }
  T pop() {
    T v = std::move(items.front());
    items.pop_front();
    return v;
  }
};

template <class T>
struct LifoStore {
  static constexpr const char* kName = "LifoQueue";
  std::vector<T> items;
  void push(T&& v) { items.push_back(std::move(v)); }
  T pop() {
    T v = std::move(items.back());
    items.pop_back();
    return v;
  }
};

template <class T, class Compare>
struct PriorityStore {
  static constexpr const char* kName = "PriorityQueue";
  // A binary heap with the smallest item (by Compare) on top, like heapq.
  struct Greater {
    Compare less;
    bool operator()(const T& a, const T& b) const { return less(b, a); }
  };
  std::vector<T> items;
  void push(T&& v) {
    items.push_back(std::move(v));
    std::push_heap(items.begin(), items.end(), Greater{});
  }
  T pop() {
    std::pop_heap(items.begin(), items.end(), Greater{});
    T v = std::move(items.back());
    items.pop_back();
    return v;
  }
};

template <class T>
concept Printable = requires(std::ostream& os, const T& v) { os << v; };

// The queue, over an item store. Public types derive from it.
template <class T, class Store>
class QueueImpl {
 public:
  using value_type = T;

  // maxsize <= 0: unbounded.
  explicit QueueImpl(std::ptrdiff_t maxsize = 0) : maxsize_(maxsize) {}
  QueueImpl(const QueueImpl&) = delete;
  QueueImpl& operator=(const QueueImpl&) = delete;

  // `co_await q.put(v)`: waits for a free slot, then adds `item`. Raises QueueShutDown once the
  // queue is shut down (the item is then dropped).
  Coro<void> put(T item);
  // Adds `item` or raises QueueFull (full) / QueueShutDown (shut down).
  void put_nowait(T item);
  // `T v = co_await q.get()`: waits for an item and removes it. Raises QueueShutDown when the
  // queue is shut down and empty (or shut down with immediate=true).
  Coro<T> get();
  // Removes an item or raises QueueEmpty (empty) / QueueShutDown (shut down and empty).
  T get_nowait();

  // Marks one gotten item processed. Raises ValueError `task_done() called too many times` when
  // every item put is already marked.
  void task_done();
  // `co_await q.join()`: waits until every item put has been marked with task_done().
  Coro<void> join();

  // Makes put() raise QueueShutDown, and get() once the queue is empty; wakes the blocked
  // put() and get() callers. `immediate`: drops the items now (each counted done, which may
  // release join()), so get() raises at once.
  void shutdown(bool immediate = false);

  std::size_t qsize() const {
    Held held(mu_);
    return store_.items.size();
  }
  bool empty() const { return qsize() == 0; }
  // True when maxsize > 0 and qsize() >= maxsize.
  bool full() const {
    Held held(mu_);
    return full_unguarded();
  }
  std::ptrdiff_t maxsize() const noexcept { return maxsize_; }

  // asyncio's str(): `<Queue maxsize=0 _queue=[1, 2] _getters[1] tasks=2 shutdown>` (items are
  // shown when T can be written to an ostream; PriorityQueue shows its heap order, as asyncio
  // does).
  std::string repr() const;

 private:
  using Held = tbb::spin_mutex::scoped_lock;

  bool full_unguarded() const {
    return maxsize_ > 0 && store_.items.size() >= static_cast<std::size_t>(maxsize_);
  }
  // Wakes the first waiter of `waiters` that can be woken, dropping the others it passes (they
  // are cancelled), as asyncio's _wakeup_next.
  static void wakeup_next(WaitList& waiters, Wakeups& wakeups) {
    while (WaitNode* n = waiters.pop_front()) {
      if (n->can_wake()) {
        wakeups.add(*n);
        return;
      }
    }
  }
  static void wakeup_all(WaitList& waiters, Wakeups& wakeups) {
    while (WaitNode* n = waiters.pop_front()) {
      if (n->can_wake()) wakeups.add(*n);
    }
  }
  void put_unguarded(T&& item, Wakeups& wakeups) {
    store_.push(std::move(item));
    ++unfinished_tasks_;
    wakeup_next(getters_, wakeups);
  }

  const std::ptrdiff_t maxsize_;
  mutable tbb::spin_mutex mu_;
  // Guarded by mu_.
  Store store_;
  WaitList getters_;
  WaitList putters_;
  WaitList joiners_;  // asyncio's _finished Event, folded in so that it changes with the count
  std::size_t unfinished_tasks_ = 0;
  bool is_shutdown_ = false;
};

template <class T, class Store>
Coro<void> QueueImpl<T, Store>::put(T item) {
  for (;;) {
    WaitNode putter;
    {
      Wakeups wakeups;
      Held held(mu_);
      if (is_shutdown_) throw QueueShutDown();
      if (!full_unguarded()) {
        put_unguarded(std::move(item), wakeups);
        co_return;
      }
      putter.fut.emplace(get_running_loop());
      putters_.push_back(putter);
    }
    std::exception_ptr error;
    try {
      co_await *putter.fut;
    } catch (...) {
      error = std::current_exception();
    }
    if (error) {
      Wakeups wakeups;
      Held held(mu_);
      putters_.remove(putter);  // unless a get() or shutdown() took it out already
      // Woken by a get() but not putting: the free slot goes to the next putter in line.
      if (!full_unguarded() && putter.woken) wakeup_next(putters_, wakeups);
      held.release();
      std::rethrow_exception(error);
    }
  }
}

template <class T, class Store>
void QueueImpl<T, Store>::put_nowait(T item) {
  Wakeups wakeups;
  Held held(mu_);
  if (is_shutdown_) throw QueueShutDown();
  if (full_unguarded()) throw QueueFull();
  put_unguarded(std::move(item), wakeups);
}

template <class T, class Store>
Coro<T> QueueImpl<T, Store>::get() {
  for (;;) {
    WaitNode getter;
    {
      Wakeups wakeups;
      Held held(mu_);
      if (!store_.items.empty()) {
        T item = store_.pop();
        wakeup_next(putters_, wakeups);
        held.release();
        co_return std::move(item);
      }
      if (is_shutdown_) throw QueueShutDown();
      getter.fut.emplace(get_running_loop());
      getters_.push_back(getter);
    }
    std::exception_ptr error;
    try {
      co_await *getter.fut;
    } catch (...) {
      error = std::current_exception();
    }
    if (error) {
      Wakeups wakeups;
      Held held(mu_);
      getters_.remove(getter);
      // Woken by a put() but not getting: the item goes to the next getter in line.
      if (!store_.items.empty() && getter.woken) wakeup_next(getters_, wakeups);
      held.release();
      std::rethrow_exception(error);
    }
  }
}

template <class T, class Store>
T QueueImpl<T, Store>::get_nowait() {
  Wakeups wakeups;
  Held held(mu_);
  if (store_.items.empty()) {
    if (is_shutdown_) throw QueueShutDown();
    throw QueueEmpty();
  }
  T item = store_.pop();
  wakeup_next(putters_, wakeups);
  return item;
}

template <class T, class Store>
void QueueImpl<T, Store>::task_done() {
  Wakeups wakeups;
  Held held(mu_);
  if (unfinished_tasks_ == 0) throw ValueError("task_done() called too many times");
  if (--unfinished_tasks_ == 0) wakeup_all(joiners_, wakeups);
}

template <class T, class Store>
Coro<void> QueueImpl<T, Store>::join() {
  WaitNode joiner;
  {
    Held held(mu_);
    if (unfinished_tasks_ == 0) co_return;
    joiner.fut.emplace(get_running_loop());
    joiners_.push_back(joiner);
  }
  std::exception_ptr error;
  try {
    co_await *joiner.fut;
  } catch (...) {
    error = std::current_exception();
  }
  if (error) {
    Held held(mu_);
    joiners_.remove(joiner);
    held.release();
    std::rethrow_exception(error);
  }
}

template <class T, class Store>
void QueueImpl<T, Store>::shutdown(bool immediate) {
  Store dropped;  // destroyed last, outside the lock: an item's destructor may do anything
  Wakeups wakeups;
  Held held(mu_);
  is_shutdown_ = true;
  if (immediate) {
    const std::size_t n = store_.items.size();
    std::swap(dropped, store_);
    unfinished_tasks_ -= std::min(unfinished_tasks_, n);
    if (unfinished_tasks_ == 0) wakeup_all(joiners_, wakeups);
  }
  // Blocked callers re-check: getters raise once the queue is empty, putters at once.
  wakeup_all(getters_, wakeups);
  wakeup_all(putters_, wakeups);
}

template <class T, class Store>
std::string QueueImpl<T, Store>::repr() const {
  std::ostringstream os;
  Held held(mu_);
  os << '<' << Store::kName << " maxsize=" << maxsize_;
  if constexpr (Printable<T>) {
    if (!store_.items.empty()) {
      os << " _queue=[";
      const char* sep = "";
      for (const T& v : store_.items) {
        os << sep << v;
        sep = ", ";
      }
      os << ']';
    }
  }
  if (!getters_.empty()) os << " _getters[" << getters_.size() << ']';
  if (!putters_.empty()) os << " _putters[" << putters_.size() << ']';
  if (unfinished_tasks_ != 0) os << " tasks=" << unfinished_tasks_;
  if (is_shutdown_) os << " shutdown";
  os << '>';
  return os.str();
}

}  // namespace internal

// asyncio.Queue: first in, first out.
template <class T>
class Queue : public internal::QueueImpl<T, internal::FifoStore<T>> {
 public:
  // maxsize <= 0: unbounded.
  explicit Queue(std::ptrdiff_t maxsize = 0)
      : internal::QueueImpl<T, internal::FifoStore<T>>(maxsize) {}
};

// asyncio.PriorityQueue: the smallest item (by Compare) first. Items are typically pairs
// (priority, data).
template <class T, class Compare = std::less<T>>
class PriorityQueue : public internal::QueueImpl<T, internal::PriorityStore<T, Compare>> {
 public:
  explicit PriorityQueue(std::ptrdiff_t maxsize = 0)
      : internal::QueueImpl<T, internal::PriorityStore<T, Compare>>(maxsize) {}
};

// asyncio.LifoQueue: last in, first out.
template <class T>
class LifoQueue : public internal::QueueImpl<T, internal::LifoStore<T>> {
 public:
  explicit LifoQueue(std::ptrdiff_t maxsize = 0)
      : internal::QueueImpl<T, internal::LifoStore<T>>(maxsize) {}
};

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_QUEUE_H_
