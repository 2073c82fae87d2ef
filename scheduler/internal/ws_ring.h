// WsRing: Tokio's bounded local run queue (tokio/src/runtime/scheduler/multi_thread/queue.rs),
// ported as a BENCHMARK REFERENCE. The runtime uses WsDeque (ws_deque.h); this ring exists so the
// choice between the two is made by measurement (perf/ws_deque_bench.cc), not by argument.
//
// Protocol (Tokio's, same orderings):
//   - A fixed ring of 256 slots. tail_ is written only by the owner (release store; thieves
//     acquire it). head_ packs two 32-bit indices in one 64-bit atomic: `steal` (high half, the
//     first slot a thief may still be copying) and `real` (low half, the next slot to take).
//     steal == real when no steal is in progress. Indices wrap (unsigned arithmetic).
//   - push: the owner writes slot tail_ and publishes it with tail_.store(release), if
//     tail - steal < 256. When full and no steal is in progress, it CASes head_ forward by 128
//     (release) and hands those 128 oldest items plus the new one to `overflow` (the shared
//     injection queue). When full during a steal it hands over only the new item, as Tokio does.
//   - pop: the owner takes slot `real` by CAS of head_ (acq_rel): FIFO, as Tokio.
//   - steal_half_into(dst): a thief claims n = ceil(len/2) items by one CAS (acq_rel) that moves
//     `real` but leaves `steal` behind, copies the slots into dst (which it owns), then a second
//     CAS sets steal = real, releasing the slots to the owner's pushes. Only one steal runs at a
//     time per ring: a thief that sees steal != real gives up. It returns the last item copied
//     and publishes the rest in dst with one release store of dst's tail_.
//   - Slots are relaxed atomics where Tokio has UnsafeCell: the same mov on x86, and every
//     access stays defined (and visible to ThreadSanitizer) without standalone fences.
//
// Measured (Release, g++ 12, a 2-core machine shared with a CI job, load ~3; median of 3 runs of
//   ./build-ring/perf/ws_deque_bench --benchmark_repetitions=3
//     --benchmark_report_aggregates_only=true   (one command line)
// per item, deque vs ring):
//   PushPop                      13.1 ns  vs  6.9 ns
//   PushBatchThenPop/16           7.6 ns  vs  7.5 ns
//   PushBatchThenPop/1024         7.4 ns  vs  3.2 ns  (ring: 3/4 go to the injection vector)
//   PushBatchThenSteal(Half)/16  15.0 ns  vs  9.5 ns  (fence+CAS per item vs 2 CAS per half)
//   PushBatchThenSteal(Half)/1024 15.0 ns vs  3.7 ns  (ring: mostly the injection vector)
//   ForkJoin2T (push 2, pop 1)   72.5 vs 73.2 M items/s (thief's share < 0.02% on this box)
//   ForkJoinTree/12 (8191 nodes) 58.5 vs 58.9 us; peak nodes queued 13 vs 757 (overflowing)
// Re-run on the idle machine (same command, --benchmark_repetitions=5, medians), where the
// thief really takes work: ForkJoin2T 23.0 (deque) vs 16.0 (ring) M items/s, the thief taking
// 35% vs 38%; ForkJoinTree/12 63.4 vs 52.7 us; PushPop 13.8 vs 6.3 ns.
// Verdict: keep WsDeque. The ring's single-item costs are lower and steal-half amortises a
// steal's CAS over many items, but with a thief at work the deque moves 1.4x more fork-join
// items per second, and the ring's FIFO owner walks the tree breadth-first: 58x more pending
// children held at once, spilled into the shared injection queue. LIFO keeps that bounded by the depth; each pending
// child is a live coroutine frame, a cost these pure-queue benchmarks do not even charge.
#ifndef STEALIO_INTERNAL_WS_RING_H_
#define STEALIO_INTERNAL_WS_RING_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "scheduler/internal/atomic.h"

namespace stealio {
inline namespace v1 {
namespace internal {

template <class T>
class WsRing {
  static_assert(std::is_pointer_v<T>, "WsRing holds pointers; null means empty");

 public:
  static constexpr std::uint32_t kCapacity = 256;
  static constexpr std::uint32_t kHalf = kCapacity / 2;  // moved out on overflow

  WsRing() {
    for (auto& s : slots_) s.store(nullptr, memory_order_relaxed);
  }
  WsRing(const WsRing&) = delete;
  WsRing& operator=(const WsRing&) = delete;

  // Owner only. Queues `item` at the tail; true when it went into the ring. When the ring is
  // full, `overflow` is called once with a std::span<T> and the item is not in the ring (false):
  // normally the 128 oldest items (FIFO order) followed by `item` (129 in all), or `item` alone
  // if a thief is mid-steal (its slots cannot be moved). The caller owns the span's contents
  // (push them to the injection queue).
  template <class Overflow>
  bool push(T item, Overflow&& overflow) {
    const std::uint32_t tail = tail_.load(memory_order_relaxed);  // owner is the only writer
    for (;;) {
      const std::uint64_t head = head_.load(memory_order_acquire);
      const std::uint32_t steal = steal_of(head);
      const std::uint32_t real = real_of(head);
      if (tail - steal < kCapacity) break;
      if (steal != real) {
        T one[1] = {item};
        overflow(std::span<T>(one));
        return false;
      }
      if (push_overflow(item, real, overflow)) return false;
      // A thief moved head_ between the load and the CAS: there may be room now.
    }
    slots_[tail & kMask].store(item, memory_order_relaxed);
    tail_.store(tail + 1, memory_order_release);
    return true;
  }

  // Owner only. The oldest item (FIFO), or null when empty.
  T pop() {
    std::uint64_t head = head_.load(memory_order_acquire);
    const std::uint32_t tail = tail_.load(memory_order_relaxed);
    std::uint32_t real;
    for (;;) {
      const std::uint32_t steal = steal_of(head);
      real = real_of(head);
      if (real == tail) return nullptr;
      // With no steal in progress both halves move; otherwise only `real`, and the thief's
      // second CAS brings `steal` up.
      const std::uint64_t next =
          steal == real ? pack(real + 1, real + 1) : pack(steal, real + 1);
      if (head_.compare_exchange_weak(head, next, memory_order_acq_rel, memory_order_acquire)) {
        break;
      }
    }
    return slots_[real & kMask].load(memory_order_relaxed);
  }

  // Thief: the calling thread owns `dst` (and `dst` is not this ring). Moves half of this ring's
  // items (rounded up) into `dst` and returns one of them to run now; null when this ring is
  // empty, another thief is mid-steal here, or `dst` is more than half full.
  T steal_half_into(WsRing& dst) {
    const std::uint32_t dst_tail = dst.tail_.load(memory_order_relaxed);  // we own dst
    const std::uint32_t dst_steal = steal_of(dst.head_.load(memory_order_acquire));
    if (dst_tail - dst_steal > kHalf) return nullptr;  // no room for a half batch
    std::uint32_t n = steal_into(dst, dst_tail);
    if (n == 0) return nullptr;
    --n;
    T ret = dst.slots_[(dst_tail + n) & kMask].load(memory_order_relaxed);
    if (n != 0) dst.tail_.store(dst_tail + n, memory_order_release);
    return ret;
  }

  // Approximate from a thief; exact from the owner with no thief active.
  std::uint32_t size() const noexcept {
    const std::uint32_t tail = tail_.load(memory_order_acquire);
    return tail - steal_of(head_.load(memory_order_acquire));
  }
  bool empty() const noexcept { return size() == 0; }

 private:
  static constexpr std::uint32_t kMask = kCapacity - 1;
  static_assert((kCapacity & kMask) == 0, "capacity must be a power of two");

  static constexpr std::uint32_t steal_of(std::uint64_t h) noexcept {
    return static_cast<std::uint32_t>(h >> 32);
  }
  static constexpr std::uint32_t real_of(std::uint64_t h) noexcept {
    return static_cast<std::uint32_t>(h);
  }
  static constexpr std::uint64_t pack(std::uint32_t steal, std::uint32_t real) noexcept {
    return (static_cast<std::uint64_t>(steal) << 32) | real;
  }

  // Owner, ring full (tail - head == kCapacity), no steal in progress: claim the oldest half
  // by one CAS, then hand it out. False when a thief moved head_ first (the caller retries).
  template <class Overflow>
  bool push_overflow(T item, std::uint32_t head, Overflow& overflow) {
    std::uint64_t prev = pack(head, head);
    // Release: not needed for the slots (only the owner writes them) but Tokio's ordering, so a
    // thief that sees the new head also sees every earlier owner write.
    if (!head_.compare_exchange_strong(prev, pack(head + kHalf, head + kHalf),
                                       memory_order_release, memory_order_relaxed)) {
      return false;
    }
    T batch[kHalf + 1];
    for (std::uint32_t i = 0; i < kHalf; ++i) {
      batch[i] = slots_[(head + i) & kMask].load(memory_order_relaxed);
    }
    batch[kHalf] = item;
    overflow(std::span<T>(batch));
    return true;
  }

  // Claims and copies half of this ring's items into dst's slots from dst_tail on, without
  // publishing them. Returns how many were copied.
  std::uint32_t steal_into(WsRing& dst, std::uint32_t dst_tail) {
    std::uint64_t prev = head_.load(memory_order_acquire);
    std::uint64_t next;
    std::uint32_t n;
    for (;;) {
      const std::uint32_t steal = steal_of(prev);
      const std::uint32_t real = real_of(prev);
      if (steal != real) return 0;  // another thief is copying from this ring
      const std::uint32_t tail = tail_.load(memory_order_acquire);
      n = tail - real;
      n -= n / 2;
      if (n == 0) return 0;
      // Move `real` past the claimed items; `steal` stays, so the owner won't overwrite them.
      next = pack(steal, real + n);
      if (head_.compare_exchange_weak(prev, next, memory_order_acq_rel, memory_order_acquire)) {
        break;
      }
    }
    const std::uint32_t first = steal_of(next);
    for (std::uint32_t i = 0; i < n; ++i) {
      T v = slots_[(first + i) & kMask].load(memory_order_relaxed);
      dst.slots_[(dst_tail + i) & kMask].store(v, memory_order_relaxed);
    }
    // Release the claimed slots: steal = real. The owner may have popped meanwhile (moving only
    // `real`), so retry with the value seen.
    prev = next;
    for (;;) {
      const std::uint32_t real = real_of(prev);
      if (head_.compare_exchange_weak(prev, pack(real, real), memory_order_acq_rel,
                                      memory_order_acquire)) {
        return n;
      }
    }
  }

  alignas(kCacheLine) atomic<std::uint64_t> head_{0};  // steal (high) | real (low)
  alignas(kCacheLine) atomic<std::uint32_t> tail_{0};  // written by the owner only
  alignas(kCacheLine) atomic<T> slots_[kCapacity];
};

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_INTERNAL_WS_RING_H_
