// One place for the atomics and fences the runtime's lock-free protocols use, so a model
// checker or a deterministic scheduler can be swapped in later (as Tokio does with loom).
#ifndef STEALIO_INTERNAL_ATOMIC_H_
#define STEALIO_INTERNAL_ATOMIC_H_

#include <atomic>

namespace stealio {
inline namespace v1 {
namespace internal {

using std::atomic;
using std::memory_order_acq_rel;
using std::memory_order_acquire;
using std::memory_order_relaxed;
using std::memory_order_release;
using std::memory_order_seq_cst;

inline void fence_seq_cst() noexcept { std::atomic_thread_fence(std::memory_order_seq_cst); }

// Size of a cache line; fields written by different threads sit this far apart.
inline constexpr std::size_t kCacheLine = 64;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_INTERNAL_ATOMIC_H_
