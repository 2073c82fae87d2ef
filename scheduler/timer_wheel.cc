#include "scheduler/internal/timer_wheel.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <utility>

namespace stealio {
inline namespace v1 {
namespace internal {

namespace {

bool cancelled_entry(const auto& e) { return e.timer->is_cancelled(); }

}  // namespace

// 15 entries and a header: 496 bytes, so a sparse wheel (a few timers per slot) stays small.
struct TimerWheel::Block {
  static constexpr std::uint32_t kCap = 15;
  Block* next = nullptr;
  std::uint32_t n = 0;
  Entry e[kCap];
};

TimerWheel::~TimerWheel() {
  clear();
  while (free_ != nullptr) delete std::exchange(free_, free_->next);
}

TimerWheel::Block* TimerWheel::new_block() {
  Block* b = free_;
  if (b == nullptr) return new Block;
  free_ = b->next;
  --free_count_;
  b->next = nullptr;
  b->n = 0;
  return b;
}

// Blocks go back to the free list, which keeps about as many as the wheel has timers' worth.
void TimerWheel::free_blocks(Block* b) {
  while (b != nullptr) {
    Block* next = b->next;
    for (std::uint32_t i = 0; i < b->n; ++i) b->e[i].timer.reset();
    if (free_count_ < 64 + size_ / Block::kCap) {
      b->next = free_;
      free_ = b;
      ++free_count_;
    } else {
      delete b;
    }
    b = next;
  }
}

std::uint64_t TimerWheel::tick_of(TimePoint t) noexcept {
  const std::int64_t ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return ns <= 0 ? 0 : static_cast<std::uint64_t>(ns) >> kTickShift;
}

int TimerWheel::level_for(std::uint64_t elapsed, std::uint64_t tick) noexcept {
  const std::uint64_t masked = (elapsed ^ tick) | (kSlots - 1);
  const int level = (63 - std::countl_zero(masked)) / kSlotBits;
  // Beyond level 5 only for a tick in the next turn of level 5 (within kSpan): its slot there
  // lies behind elapsed_'s, and next_expiration reads it as one turn ahead.
  return std::min(level, kLevels - 1);
}

void TimerWheel::add(std::shared_ptr<TimerState> t) {
  Entry e{t->when, seq_++, std::move(t)};
  // The new timer is the next one when it is the only one or precedes the remembered one (its
  // seq is the largest, so a tie in `when` leaves the remembered one first).
  if (size_ == 0 || (next_valid_ && e.when < next_when_)) remember_next(e);
  ++size_;
  const std::uint64_t tick = tick_of(e.when);
  if (tick <= elapsed_) {
    push_late(std::move(e));
  } else if (tick - elapsed_ >= kSpan) {
    overflow_.push_back(std::move(e));
    std::push_heap(overflow_.begin(), overflow_.end(), later);
  } else {
    place(std::move(e), tick);
  }
  if (size_ >= 2 * low_ + kSweepSlack) sweep();
}

void TimerWheel::place(Entry e, std::uint64_t tick) {
  const int level = level_for(elapsed_, tick);
  const int slot = static_cast<int>((tick >> (level * kSlotBits)) & (kSlots - 1));
  Slot& s = slots_[level][slot];
  if (s.tail == nullptr || s.tail->n == Block::kCap) {
    Block* b = new_block();
    (s.tail != nullptr ? s.tail->next : s.head) = b;
    s.tail = b;
  }
  s.tail->e[s.tail->n++] = std::move(e);
  occupied_[level] |= std::uint64_t{1} << slot;
}

void TimerWheel::push_late(Entry e) {
  if (run_head_ == run_.size()) {
    run_.clear();
    run_head_ = 0;
  }
  // In order after the run (the common case when nothing else is due): append, no heap.
  if (run_.empty() || !before(e, run_.back())) {
    run_.push_back(std::move(e));
    return;
  }
  late_.push_back(std::move(e));
  std::push_heap(late_.begin(), late_.end(), later);
}

std::optional<TimerWheel::Expiration> TimerWheel::next_expiration() const noexcept {
  // Every timer of level L comes before every timer of level L+1 (it shares elapsed_'s level-L+1
  // digit; theirs differ and are ahead), so the lowest occupied level holds the earliest slot.
  for (int level = 0; level < kLevels; ++level) {
    const std::uint64_t occ = occupied_[level];
    if (occ == 0) continue;
    const int shift = level * kSlotBits;
    const int now_slot = static_cast<int>((elapsed_ >> shift) & (kSlots - 1));
    const int slot = (std::countr_zero(std::rotr(occ, now_slot)) + now_slot) & (kSlots - 1);
    const std::uint64_t level_range = std::uint64_t{1} << (shift + kSlotBits);
    std::uint64_t deadline =
        (elapsed_ & ~(level_range - 1)) + (static_cast<std::uint64_t>(slot) << shift);
    if (deadline <= elapsed_) deadline += level_range;  // level 5's next turn
    return Expiration{level, slot, deadline};
  }
  return std::nullopt;
}

void TimerWheel::advance(std::uint64_t target) {
  for (;;) {
    // elapsed_ may jump to any tick before the next expiration, but no further than the tick at
    // which the earliest overflow timer comes within kSpan (it must enter the wheel in time).
    std::uint64_t limit = target;
    if (!overflow_.empty()) {
      limit = std::min(limit, tick_of(overflow_.front().when) - kSpan + 1);
    }
    const std::optional<Expiration> exp = next_expiration();
    if (exp && exp->deadline <= limit) {
      elapsed_ = exp->deadline;
      expire(*exp);
      refill_from_overflow();
      continue;
    }
    if (elapsed_ >= target) return;
    elapsed_ = limit;
    refill_from_overflow();
  }
}

void TimerWheel::expire(const Expiration& exp) {
  Slot& slot = slots_[exp.level][exp.slot];
  Block* blocks = std::exchange(slot.head, nullptr);
  slot.tail = nullptr;
  occupied_[exp.level] &= ~(std::uint64_t{1} << exp.slot);
  if (run_head_ == run_.size()) {
    run_.clear();
    run_head_ = 0;
  }
  // What is left of the run is due at earlier ticks, so the slot's ready timers (all due at tick
  // elapsed_) go after it, sorted among themselves. Cancelled ones ride along: ready_front drops
  // them, and not reading their state here spares a cache miss per timer.
  const std::size_t ready_from = run_.size();
  for (Block* b = blocks; b != nullptr; b = b->next) {
    for (std::uint32_t i = 0; i < b->n; ++i) {
      Entry& e = b->e[i];
      const std::uint64_t tick = exp.level == 0 ? elapsed_ : tick_of(e.when);
      if (tick <= elapsed_) {
        run_.push_back(std::move(e));
      } else {
        place(std::move(e), tick);
      }
    }
  }
  free_blocks(blocks);
  std::sort(run_.begin() + static_cast<std::ptrdiff_t>(ready_from), run_.end(), before);
}

std::size_t TimerWheel::compact(Slot& s) {
  Block* wb = s.head;
  std::uint32_t wi = 0;
  std::size_t kept = 0;
  for (Block* rb = s.head; rb != nullptr; rb = rb->next) {
    for (std::uint32_t i = 0; i < rb->n; ++i) {
      Entry& e = rb->e[i];
      if (e.timer->is_cancelled()) {
        e.timer.reset();
        continue;
      }
      if (wi == Block::kCap) {
        wb = wb->next;
        wi = 0;
      }
      if (&wb->e[wi] != &e) wb->e[wi] = std::move(e);
      ++wi;
      ++kept;
    }
  }
  if (kept == 0) {
    free_blocks(std::exchange(s.head, nullptr));
    s.tail = nullptr;
    return 0;
  }
  // Blocks before wb are full (only the tail of a list is ever partial, and writes trail reads).
  Block* rest = std::exchange(wb->next, nullptr);
  for (std::uint32_t i = wi; i < wb->n; ++i) wb->e[i].timer.reset();
  wb->n = wi;
  s.tail = wb;
  free_blocks(rest);
  return kept;
}

void TimerWheel::refill_from_overflow() {
  while (!overflow_.empty()) {
    const std::uint64_t tick = tick_of(overflow_.front().when);
    if (tick >= elapsed_ + kSpan) return;
    std::pop_heap(overflow_.begin(), overflow_.end(), later);
    Entry e = std::move(overflow_.back());
    overflow_.pop_back();
    if (e.timer->is_cancelled()) {
      removed(1);
      continue;
    }
    // tick > elapsed_: elapsed_ never passes the overflow's entry point (see advance).
    place(std::move(e), tick);
  }
}

const TimerWheel::Entry* TimerWheel::ready_front() {
  for (;;) {
    Entry* r = run_head_ < run_.size() ? &run_[run_head_] : nullptr;
    if (r != nullptr && r->timer->is_cancelled()) {
      r->timer.reset();
      ++run_head_;
      removed(1);
      continue;
    }
    Entry* l = late_.empty() ? nullptr : &late_.front();
    if (l != nullptr && l->timer->is_cancelled()) {
      std::pop_heap(late_.begin(), late_.end(), later);
      late_.pop_back();
      removed(1);
      continue;
    }
    if (r == nullptr) return l;
    // The run is consumed in order: start loading the state of a timer a few places on, whose
    // cancel flag the next calls read (a cache miss each in a large wheel).
    if (run_head_ + 4 < run_.size()) __builtin_prefetch(run_[run_head_ + 4].timer.get());
    if (l == nullptr) return r;
    return before(*l, *r) ? l : r;
  }
}

void TimerWheel::pop_due(TimePoint now, std::vector<Callback>& out) {
  const std::uint64_t now_tick = tick_of(now);
  if (now_tick > elapsed_) advance(now_tick);
  while (const Entry* front = ready_front()) {
    if (front->when > now) break;
    std::shared_ptr<TimerState> t;
    if (run_head_ < run_.size() && front == &run_[run_head_]) {
      t = std::move(run_[run_head_].timer);
      ++run_head_;
    } else {
      std::pop_heap(late_.begin(), late_.end(), later);
      t = std::move(late_.back().timer);
      late_.pop_back();
    }
    removed(1);
    // Claim it: a cancel() from now on is too late, as in asyncio once the handle is running.
    if (t->claim(TimerState::kFired)) out.push_back(std::move(t->fn));
  }
  if (run_head_ == run_.size()) {
    run_.clear();
    run_head_ = 0;
  } else if (run_head_ >= 1024 && 2 * run_head_ >= run_.size()) {
    run_.erase(run_.begin(), run_.begin() + static_cast<std::ptrdiff_t>(run_head_));
    run_head_ = 0;
  }
}

std::optional<TimePoint> TimerWheel::next_deadline() {
  if (next_valid_ && !next_timer_->is_cancelled()) return next_when_;
  if (const Entry* front = ready_front()) {
    remember_next(*front);
    return front->when;
  }
  while (const std::optional<Expiration> exp = next_expiration()) {
    // The first slot to expire holds the earliest timers, unsorted: take the smallest by (when,
    // seq) without reading the timers' states (a cache miss each); only if it turns out to be
    // cancelled, drop the slot's cancelled entries and look again.
    Slot& slot = slots_[exp->level][exp->slot];
    const Entry* first = nullptr;
    for (;;) {
      first = &slot.head->e[0];
      for (Block* b = slot.head; b != nullptr; b = b->next) {
        for (std::uint32_t i = 0; i < b->n; ++i) {
          if (before(b->e[i], *first)) first = &b->e[i];
        }
      }
      if (!first->timer->is_cancelled()) break;
      std::size_t before_n = 0;
      for (Block* b = slot.head; b != nullptr; b = b->next) before_n += b->n;
      const std::size_t kept = compact(slot);
      removed(before_n - kept);
      if (kept == 0) {
        occupied_[exp->level] &= ~(std::uint64_t{1} << exp->slot);
        first = nullptr;
        break;
      }
    }
    if (first == nullptr) continue;
    remember_next(*first);
    return first->when;
  }
  while (!overflow_.empty() && cancelled_entry(overflow_.front())) {
    std::pop_heap(overflow_.begin(), overflow_.end(), later);
    overflow_.pop_back();
    removed(1);
  }
  if (overflow_.empty()) return std::nullopt;
  remember_next(overflow_.front());
  return overflow_.front().when;
}

void TimerWheel::sweep() {
  std::size_t kept = 0;
  for (int level = 0; level < kLevels; ++level) {
    for (std::uint64_t occ = occupied_[level]; occ != 0; occ &= occ - 1) {
      const int s = std::countr_zero(occ);
      const std::size_t k = compact(slots_[level][s]);
      if (k == 0) occupied_[level] &= ~(std::uint64_t{1} << s);
      kept += k;
    }
  }
  run_.erase(run_.begin(), run_.begin() + static_cast<std::ptrdiff_t>(run_head_));
  run_head_ = 0;
  std::erase_if(run_, [](const Entry& e) { return cancelled_entry(e); });
  std::erase_if(late_, [](const Entry& e) { return cancelled_entry(e); });
  std::make_heap(late_.begin(), late_.end(), later);
  std::erase_if(overflow_, [](const Entry& e) { return cancelled_entry(e); });
  std::make_heap(overflow_.begin(), overflow_.end(), later);
  kept += run_.size() + late_.size() + overflow_.size();
  size_ = kept;
  low_ = kept;
  next_valid_ = false;
  // Give back what a burst left: spare blocks beyond the limit, and vectors mostly empty.
  while (free_count_ > 64 + size_ / Block::kCap) {
    delete std::exchange(free_, free_->next);
    --free_count_;
  }
  for (std::vector<Entry>* v : {&run_, &late_, &overflow_}) {
    if (v->capacity() > 1024 && v->capacity() > 4 * v->size()) v->shrink_to_fit();
  }
}

void TimerWheel::removed(std::size_t n) noexcept {
  size_ -= n;
  low_ = std::min(low_, size_);
  next_valid_ = false;
}

void TimerWheel::remember_next(const Entry& e) noexcept {
  next_valid_ = true;
  next_when_ = e.when;
  next_timer_ = e.timer.get();
}

void TimerWheel::clear() {
  for (auto& level : slots_) {
    for (Slot& slot : level) {
      free_blocks(std::exchange(slot.head, nullptr));
      slot.tail = nullptr;
    }
  }
  occupied_ = {};
  run_.clear();
  run_head_ = 0;
  late_.clear();
  overflow_.clear();
  size_ = 0;
  low_ = 0;
  next_valid_ = false;
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio
