#include "scheduler/internal/parker.h"

namespace stealio {
inline namespace v1 {
namespace internal {

void Parker::park(std::optional<absl::Time> deadline) {
  int expected = kNotified;
  if (state_.compare_exchange_strong(expected, kEmpty, memory_order_acquire)) return;
  MutexLock lock(&mu_);
  expected = kEmpty;
  if (!state_.compare_exchange_strong(expected, kParked, memory_order_acquire)) {
    // A token arrived between the first check and taking the lock.
    state_.store(kEmpty, memory_order_relaxed);
    return;
  }
  for (;;) {
    bool timed_out = deadline ? cv_.WaitWithDeadline(&mu_, *deadline) : (cv_.Wait(&mu_), false);
    expected = kNotified;
    if (state_.compare_exchange_strong(expected, kEmpty, memory_order_acquire)) return;
    if (timed_out) {
      // Still kParked (no token): leave. A token racing in is caught by the exchange.
      if (state_.exchange(kEmpty, memory_order_acquire) == kNotified) return;
      return;
    }
    // Spurious wake-up: keep waiting.
  }
}

void Parker::unpark() {
  if (state_.exchange(kNotified, memory_order_release) != kParked) return;
  // The owner is (or is about to be) waiting under mu_: taking the lock orders our signal after
  // its wait started.
  mu_.Lock();
  mu_.Unlock();
  cv_.Signal();
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio
