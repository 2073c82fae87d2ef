// Asymmetric fences: see atomic.h.
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "scheduler/internal/atomic.h"

namespace stealio {
inline namespace v1 {
namespace internal {

std::atomic<bool> g_asymmetric_fences{false};

namespace {
long membarrier(int cmd) { return syscall(__NR_membarrier, cmd, 0, 0); }
}  // namespace

void enable_asymmetric_fences() noexcept {
#if !defined(STEALIO_TSAN)
  static std::once_flag once;
  std::call_once(once, [] {
    const long supported = membarrier(MEMBARRIER_CMD_QUERY);
    if (supported < 0 || !(supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) return;
    if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0) return;
    // Workers and outside threads that push work start (or reach the scheduler) after this
    // store, through a happens-before edge of their own (thread creation, the handle).
    g_asymmetric_fences.store(true, std::memory_order_release);
  });
#endif
}

void heavy_fence() noexcept {
  if (!g_asymmetric_fences.load(std::memory_order_acquire)) {
    fence_seq_cst();
    return;
  }
  fence_seq_cst();  // this thread's own accesses; the system call covers the others'
  if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
    // Registered, so it cannot fail; if it ever did, light fences would order nothing.
    std::fputs("stealio: membarrier(PRIVATE_EXPEDITED) failed after registration\n", stderr);
    std::abort();
  }
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio
