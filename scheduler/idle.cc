#include "scheduler/internal/idle.h"

#include <algorithm>

namespace stealio {
inline namespace v1 {
namespace internal {

Idle::Idle(std::vector<Parker*> parkers)
    : parkers_(std::move(parkers)), asleep_(parkers_.size(), false) {}

namespace {
// Increments `count` unless it has reached `limit`; true when it did.
bool increment_below(atomic<int>& count, int limit, std::memory_order order) noexcept {
  int n = count.load(memory_order_relaxed);
  while (n < limit) {
    if (count.compare_exchange_weak(n, n + 1, order, memory_order_relaxed)) return true;
  }
  return false;
}
}  // namespace

bool Idle::begin_search() noexcept {
  return increment_below(searching_, std::max(1, static_cast<int>(parkers_.size()) / 2),
                         memory_order_seq_cst);
}

bool Idle::end_search() noexcept {
  return searching_.fetch_sub(1, memory_order_seq_cst) == 1;
}

bool Idle::begin_poll() noexcept {
  return increment_below(polling_, std::max(2, static_cast<int>(parkers_.size()) / 4),
                         memory_order_relaxed);
}

void Idle::end_poll() noexcept { polling_.fetch_sub(1, memory_order_relaxed); }

void Idle::add_sleeper(int index) {
  {
    MutexLock lock(&mu_);
    if (asleep_[index]) return;
    asleep_[index] = true;
    sleepers_.push_back(index);
    sleeping_.fetch_add(1, memory_order_seq_cst);
  }
  // Orders the caller's re-check of the queues after the announcement, against the light fence
  // every pusher runs between its push and its read of sleeping_ (see the header).
  heavy_fence();
}

void Idle::remove_sleeper(int index) {
  MutexLock lock(&mu_);
  if (!asleep_[index]) return;  // a waker removed us already
  asleep_[index] = false;
  for (auto it = sleepers_.begin(); it != sleepers_.end(); ++it) {
    if (*it == index) {
      sleepers_.erase(it);
      break;
    }
  }
  sleeping_.fetch_sub(1, memory_order_seq_cst);
}

void Idle::wake_one() {
  int index;
  {
    MutexLock lock(&mu_);
    if (sleepers_.empty()) return;
    index = sleepers_.back();  // the most recent sleeper: its caches are the warmest
    sleepers_.pop_back();
    asleep_[index] = false;
    sleeping_.fetch_sub(1, memory_order_seq_cst);
  }
  parkers_[index]->unpark();
}

void Idle::wake_all() {
  for (Parker* p : parkers_) p->unpark();
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio
