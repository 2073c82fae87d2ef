// WsDeque: the per-worker queue of runnable task steps. The owner pushes and pops at the bottom
// (LIFO: depth-first, so a fork-join program runs in the memory of its serial execution); thieves
// steal from the top (FIFO: the oldest, usually largest, piece of work).
//
// Protocol: Chase–Lev with the C11 orderings of Lê, Pop, Cohen, Zappa Nardelli, "Correct and
// Efficient Work-Stealing for Weak Memory Models" (PPoPP 2013).
//   - bottom_ is written only by the owner; top_ only advances, by CAS (owner on the last item,
//     thieves always), so each item is taken exactly once.
//   - push: store the item, then publish with a release store of bottom_ (thieves acquire it; the
//     paper's release fence + relaxed store, written as a release store so ThreadSanitizer, which
//     does not model fences, sees the edge; same instructions on x86).
//   - pop: decrement bottom_, seq_cst fence, read top_: the fence orders the owner's claim against
//     a thief's read of bottom_ (the thief has a seq_cst fence between its top_ and bottom_ reads).
//     On the last item both race on the top_ CAS.
//   - A deque without thieves (Thieves::kOwnerOnly: the one worker of a one-worker scheduler)
//     needs neither the fence nor the CAS: its owner moves both ends with plain loads and stores.
//     Tried and dropped for deques with thieves: asymmetric fences (light_fence() in pop, a
//     membarrier heavy_fence() in steal once the deque looks non-empty). It saved as much at one
//     worker and 5-6% on fib(35) and skynet at two, but each steal's system call and interrupt
//     cost ~13 us on our VMs: UTS at two workers (~1,500 such steals) took 6% longer, reduce 5%,
//     and at 16 workers every steal would interrupt 15 CPUs.
//   - The ring grows (doubling) when full; old rings stay alive until the deque is destroyed,
//     since a thief may still be reading one. Growth is rare: the ring is kept, not shrunk.
// Why Chase–Lev and not Tokio's bounded ring with steal-half: fork-join code pushes deep stacks
// of children and wants LIFO for the owner; Tokio's ring is FIFO for the owner (breadth-first,
// which holds every pending child in memory at once) and overflows to the shared injection
// queue. Measured against a port of it (ws_ring.h, perf/ws_deque_bench.cc, 2-core machine,
// medians): the ring is cheaper per operation (push+pop 6.3 vs 13.8 ns; stealing a batch of 16,
// 9.5 vs 15.0 ns per item), but with a thief at work the deque moves 1.4x more fork-join items
// (push 2/pop 1: 23.0 vs 16.0 M items/s), and the ring holds 757 pending children at peak in a
// depth-12 tree against the deque's 13, spilling into the injection queue.
#ifndef STEALIO_INTERNAL_WS_DEQUE_H_
#define STEALIO_INTERNAL_WS_DEQUE_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/attributes.h"
#include "scheduler/internal/atomic.h"

namespace stealio {
inline namespace v1 {
namespace internal {

template <class T>
class WsDeque {
  static_assert(std::is_pointer_v<T>, "WsDeque holds pointers; null means empty");

 public:
  // Who may call steal(): other threads (kAnyThread, the work-stealing case), or the owner alone
  // (kOwnerOnly: a scheduler with one worker, which has nobody to steal from it). A deque without
  // thieves pops and steals without the fence and the compare-and-swap that only a race with a
  // thief needs: fib(35) and skynet at one worker took 0.93x the time (alternating medians of 9).
  enum class Thieves { kAnyThread, kOwnerOnly };

  explicit WsDeque(std::int64_t capacity = 1024, Thieves thieves = Thieves::kAnyThread)
      : owner_only_(thieves == Thieves::kOwnerOnly) {
    auto ring = std::make_unique<Ring>(capacity);
    ring_.store(ring.get(), memory_order_relaxed);
    rings_.push_back(std::move(ring));
  }
  WsDeque(const WsDeque&) = delete;
  WsDeque& operator=(const WsDeque&) = delete;

  // Owner only. Always inlined: the fork-join path pushes once per task, and LTO had left it a
  // call (with Idle::notify_work inlined too: 9 instructions fewer per skynet task, callgrind).
  ABSL_ATTRIBUTE_ALWAYS_INLINE void push(T item) {
    std::int64_t b = bottom_.load(memory_order_relaxed);
    std::int64_t t = top_.load(memory_order_acquire);
    Ring* r = ring_.load(memory_order_relaxed);
    if (b - t > r->mask) [[unlikely]] r = grow(r, t, b);
    r->put(b, item);
    bottom_.store(b + 1, memory_order_release);
  }

  // Owner only. Null when empty.
  ABSL_ATTRIBUTE_ALWAYS_INLINE T pop() {
    if (owner_only_) return take_at_bottom();
    std::int64_t b = bottom_.load(memory_order_relaxed) - 1;
    Ring* r = ring_.load(memory_order_relaxed);
    bottom_.store(b, memory_order_relaxed);
    fence_seq_cst();
    std::int64_t t = top_.load(memory_order_relaxed);
    if (t > b) {  // empty
      bottom_.store(b + 1, memory_order_relaxed);
      return nullptr;
    }
    T item = r->get(b);
    if (t == b) {  // last item: race the thieves for it
      if (!top_.compare_exchange_strong(t, t + 1, memory_order_seq_cst, memory_order_relaxed)) {
        item = nullptr;
      }
      bottom_.store(b + 1, memory_order_relaxed);
    }
    return item;
  }

  // Owner only. Takes `item` if it is the bottom (most recently pushed) entry; false otherwise,
  // or when a thief took it first.
  bool pop_if_bottom(T item) {
    std::int64_t b = bottom_.load(memory_order_relaxed);
    if (b <= top_.load(memory_order_acquire)) return false;
    if (ring_.load(memory_order_relaxed)->get(b - 1) != item) return false;
    return pop() == item;  // only a thief stealing the last item can make pop() miss it
  }

  // Owner only. Whether `item` is among the `depth` most recently pushed entries. A thief may
  // take it meanwhile: a true answer is a hint, which pop() settles. `at` carries the index where
  // it was found last time (-1: unknown): a joiner that pops the entries above `item` one by one
  // asks again after each, and an entry keeps its index until it is popped or stolen, so the
  // answer usually costs one comparison instead of a scan of the window.
  bool holds_near_bottom(T item, std::int64_t depth, std::int64_t& at) const {
    const std::int64_t b = bottom_.load(memory_order_relaxed);
    const std::int64_t t = top_.load(memory_order_acquire);
    const Ring* r = ring_.load(memory_order_relaxed);
    const std::int64_t lowest = std::max(t, b - depth);
    if (at >= lowest && at < b && r->get(at) == item) return true;
    for (std::int64_t i = b - 1; i >= lowest; --i) {
      if (r->get(i) == item) {
        at = i;
        return true;
      }
    }
    return false;
  }

  // Any thread (the owner alone under Thieves::kOwnerOnly). Null when empty or when it lost a race
  // (the caller may try elsewhere).
  T steal() {
    if (owner_only_) return take_at_top();
    std::int64_t t = top_.load(memory_order_acquire);
    fence_seq_cst();
    std::int64_t b = bottom_.load(memory_order_acquire);
    if (t >= b) return nullptr;
    Ring* r = ring_.load(memory_order_acquire);
    T item = r->get(t);
    if (!top_.compare_exchange_strong(t, t + 1, memory_order_seq_cst, memory_order_relaxed)) {
      return nullptr;
    }
    return item;
  }

  // Approximate; exact when called by the owner with no thief active.
  std::int64_t size() const noexcept {
    std::int64_t b = bottom_.load(memory_order_relaxed);
    std::int64_t t = top_.load(memory_order_relaxed);
    return b > t ? b - t : 0;
  }
  bool empty() const noexcept { return size() == 0; }

 private:
  struct Ring {
    explicit Ring(std::int64_t capacity)
        : mask(capacity - 1), slots(new atomic<T>[static_cast<std::size_t>(capacity)]) {}
    T get(std::int64_t i) const noexcept { return slots[i & mask].load(memory_order_relaxed); }
    void put(std::int64_t i, T v) noexcept { slots[i & mask].store(v, memory_order_relaxed); }
    const std::int64_t mask;  // capacity - 1; capacity is a power of two
    std::unique_ptr<atomic<T>[]> slots;
  };

  // Thieves::kOwnerOnly: one thread moves both ends, so plain loads and stores do.
  T take_at_bottom() {
    const std::int64_t b = bottom_.load(memory_order_relaxed);
    if (b <= top_.load(memory_order_relaxed)) return nullptr;
    bottom_.store(b - 1, memory_order_relaxed);
    return ring_.load(memory_order_relaxed)->get(b - 1);
  }
  T take_at_top() {
    const std::int64_t t = top_.load(memory_order_relaxed);
    if (t >= bottom_.load(memory_order_relaxed)) return nullptr;
    top_.store(t + 1, memory_order_relaxed);
    return ring_.load(memory_order_relaxed)->get(t);
  }

  // Out of line and cold, so that push() inlines into its callers without saving registers.
  [[gnu::noinline, gnu::cold]] Ring* grow(Ring* old, std::int64_t t, std::int64_t b) {
    auto bigger = std::make_unique<Ring>((old->mask + 1) * 2);
    for (std::int64_t i = t; i < b; ++i) bigger->put(i, old->get(i));
    Ring* r = bigger.get();
    rings_.push_back(std::move(bigger));
    ring_.store(r, memory_order_release);
    return r;
  }

  const bool owner_only_;
  alignas(kCacheLine) atomic<std::int64_t> top_{0};
  alignas(kCacheLine) atomic<std::int64_t> bottom_{0};
  atomic<Ring*> ring_{nullptr};
  std::vector<std::unique_ptr<Ring>> rings_;  // owner only; every ring ever used
};

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_INTERNAL_WS_DEQUE_H_
