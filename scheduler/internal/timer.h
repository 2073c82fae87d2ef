// Timers: their shared state (TimerState), and a binary min-heap of them. The loops keep their
// timers in a TimerWheel (timer_wheel.h), which measured faster; the heap is the simple reference
// the wheel is tested against (timer_wheel_test) and benchmarked against (perf/timer_bench).
// Known limit, left alone since no loop uses it: the compaction check every 1024 adds scans the
// whole heap, so a burst of n adds costs O(n^2 / 1024).
//
// Only the owner touches the heap; other threads add timers through the loop's inbox. Cancel
// is a flag any thread may set; the owner drops cancelled entries when they reach the top, and
// rebuilds the heap when more than half of it is cancelled (asyncio's rule), so a program that
// arms and cancels many timeouts does not grow the heap without bound.
#ifndef STEALIO_INTERNAL_TIMER_H_
#define STEALIO_INTERNAL_TIMER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "scheduler/internal/atomic.h"
#include "stealio/loop.h"

namespace stealio {
inline namespace v1 {
namespace internal {

struct TimerState {
  TimerState(TimePoint w, Callback f) : when(w), fn(std::move(f)) {}
  enum : int { kPending = 0, kCancelled = 1, kFired = 2 };
  // Both cancel() and firing move the state out of kPending by CAS: whichever comes first wins.
  bool cancel() noexcept { return claim(kCancelled); }
  bool claim(int to) noexcept {
    int expected = kPending;
    return state.compare_exchange_strong(expected, to, memory_order_acq_rel);
  }
  bool is_cancelled() const noexcept { return state.load(memory_order_acquire) == kCancelled; }

  const TimePoint when;
  atomic<int> state{kPending};
  Callback fn;  // touched only by the owning loop's worker
};

class TimerHeap {
 public:
  void add(std::shared_ptr<TimerState> t);
  // Moves the callbacks of the timers due at `now` (in deadline order) to `out`.
  void pop_due(TimePoint now, std::vector<Callback>& out);
  // The earliest live deadline, if any.
  std::optional<TimePoint> next_deadline();
  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  void clear() { heap_.clear(); }

 private:
  struct Entry {
    TimePoint when;
    std::uint64_t seq;  // FIFO among equal deadlines
    std::shared_ptr<TimerState> timer;
  };
  static bool later(const Entry& a, const Entry& b) {
    return a.when != b.when ? a.when > b.when : a.seq > b.seq;
  }
  void drop_cancelled_top();
  void compact_if_mostly_cancelled();

  std::vector<Entry> heap_;
  std::uint64_t seq_ = 0;
};

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_INTERNAL_TIMER_H_
