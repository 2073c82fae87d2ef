#include <algorithm>

#include "scheduler/internal/timer.h"

namespace stealio {
inline namespace v1 {
namespace internal {

void TimerHeap::add(std::shared_ptr<TimerState> t) {
  TimePoint when = t->when;
  heap_.push_back(Entry{when, seq_++, std::move(t)});
  std::push_heap(heap_.begin(), heap_.end(), later);
  if ((seq_ & 1023) == 0) compact_if_mostly_cancelled();
}

void TimerHeap::drop_cancelled_top() {
  while (!heap_.empty() && heap_.front().timer->is_cancelled()) {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
  }
}

void TimerHeap::compact_if_mostly_cancelled() {
  std::size_t live = 0;
  for (const Entry& e : heap_) live += !e.timer->is_cancelled();
  if (live * 2 >= heap_.size()) return;
  heap_.erase(std::remove_if(heap_.begin(), heap_.end(),
                             [](const Entry& e) {
                               return e.timer->is_cancelled();
                             }),
              heap_.end());
  std::make_heap(heap_.begin(), heap_.end(), later);
}

void TimerHeap::pop_due(TimePoint now, std::vector<Callback>& out) {
  for (;;) {
    drop_cancelled_top();
    if (heap_.empty() || heap_.front().when > now) return;
    std::pop_heap(heap_.begin(), heap_.end(), later);
    std::shared_ptr<TimerState> t = std::move(heap_.back().timer);
    heap_.pop_back();
    // Claim it: a cancel() from now on is too late, as in asyncio once the handle is running.
    if (t->claim(TimerState::kFired)) out.push_back(std::move(t->fn));
  }
}

std::optional<TimePoint> TimerHeap::next_deadline() {
  drop_cancelled_top();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().when;
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio
