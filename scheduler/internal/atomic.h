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

#if defined(__SANITIZE_THREAD__)
#define STEALIO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STEALIO_TSAN 1
#endif
#endif

// A full fence. ThreadSanitizer does not model std::atomic_thread_fence (and g++ rejects it
// under -fsanitize=thread), so there it is a seq_cst read-modify-write of one shared word: on
// x86 that is the same `lock`-prefixed full barrier, and TSan sees the synchronisation.
#if defined(STEALIO_TSAN)
inline void fence_seq_cst() noexcept {
  static std::atomic<int> word{0};
  word.fetch_add(0, std::memory_order_seq_cst);
}
#else
inline void fence_seq_cst() noexcept { std::atomic_thread_fence(std::memory_order_seq_cst); }
#endif

// Asymmetric fences (Linux membarrier, as folly's asymmetric_thread_fence_heavy/light): a
// light_fence() on a hot path and a heavy_fence() on a rare one order memory as two seq_cst
// fences would. The light one is then only a compiler barrier, and the heavy one a
// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) system call that makes every running thread of
// the process execute a full barrier. Used by the wake-up rule (idle.h): every push of work is
// followed by a light fence, and only a worker about to park pays the heavy one.
//
// enable_asymmetric_fences() registers the process once (the scheduler calls it before its
// workers start). Where the kernel lacks membarrier, and under ThreadSanitizer (which does not
// model it), both are fence_seq_cst().
void enable_asymmetric_fences() noexcept;
void heavy_fence() noexcept;
extern std::atomic<bool> g_asymmetric_fences;
[[gnu::always_inline]] inline void light_fence() noexcept {
#if defined(STEALIO_TSAN)
  fence_seq_cst();
#else
  if (g_asymmetric_fences.load(std::memory_order_relaxed)) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
  } else {
    fence_seq_cst();
  }
#endif
}

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
