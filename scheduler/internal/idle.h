// Idle: which workers sleep and which search, and the wake-up rule that loses no work.
//
// A worker with nothing to run first *searches* (steals, polls the injection queue); at most
// half the workers search at once (as in Tokio and Go: more searchers only contend). A worker
// whose search failed *sleeps*: it announces itself (add_sleeper, a seq_cst RMW), then re-checks
// every queue, and only then parks.
//
// Wake-up rule, for whoever makes stealable work visible: push, then notify_work(), which after
// a fence reads `sleeping_`. Dekker: either the pusher sees the sleeper's announcement and wakes
// someone, or the sleeper's re-check sees the work. The pusher's fence is a light one and the
// sleeper's a heavy one (atomic.h): pushes happen per task, parking rarely, and a full fence per
// push was 6% of skynet's time at one worker (perf). When a searcher exists the pusher
// wakes nobody: the last searcher to give up re-checks the queues after announcing itself (it
// always does), and a searcher that finds work while others sleep wakes one more (so parallelism
// spreads one worker at a time instead of as a thundering herd).
//
// Nor does it wake anyone while a worker polls before parking (Worker::sleep): the poller sees
// the work within its backoff, and a poller that gives up announces itself as a sleeper and
// re-checks like any other (its end_poll() comes before that heavy fence, so the pusher either
// still sees it polling and the re-check sees the work, or sees it gone and wakes a sleeper).
// Waking a sleeper as well made every idle worker of a scheduler fed by one outside thread
// park and be woken over and over: 1,000,000 outside spawns at 16 workers on the 16-core
// device parked 60,000-110,000 times, each park a membarrier that interrupts every busy CPU.
//
// Fast path: when nobody sleeps, notify_work() is a compiler barrier and one load of a line that
// only changes when workers park or wake.
#ifndef STEALIO_INTERNAL_IDLE_H_
#define STEALIO_INTERNAL_IDLE_H_

#include <vector>

#include "absl/base/attributes.h"
#include "absl/base/thread_annotations.h"
#include "scheduler/internal/mutex.h"
#include "scheduler/internal/atomic.h"
#include "scheduler/internal/parker.h"

namespace stealio {
inline namespace v1 {
namespace internal {

class Idle {
 public:
  explicit Idle(std::vector<Parker*> parkers);

  // After making stealable work visible.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void notify_work() {
    light_fence();
    if (sleeping_.load(memory_order_relaxed) == 0) return;
    if (searching_.load(memory_order_relaxed) != 0) return;
    if (polling_.load(memory_order_relaxed) != 0) return;
    wake_one();
  }

  // False when enough workers search already: the caller should go to sleep instead.
  bool begin_search() noexcept;
  // Returns true when the caller was the last searcher.
  bool end_search() noexcept;

  // Before parking, a worker may poll the queues for a while (Worker::sleep): only a few at once
  // (a quarter of the workers, at least 2). True when the caller may poll; then end_poll().
  bool begin_poll() noexcept;
  void end_poll() noexcept;

  // The sleeping protocol: add_sleeper, re-check the queues, park, remove_sleeper.
  void add_sleeper(int index);
  void remove_sleeper(int index);

  // Wakes one sleeping worker, if any.
  void wake_one();
  void wake_all();

  int sleeping() const noexcept { return sleeping_.load(memory_order_acquire); }
  int searching() const noexcept { return searching_.load(memory_order_acquire); }

 private:
  const std::vector<Parker*> parkers_;
  alignas(kCacheLine) atomic<int> searching_{0};
  alignas(kCacheLine) atomic<int> sleeping_{0};
  alignas(kCacheLine) atomic<int> polling_{0};
  Mutex mu_;
  std::vector<int> sleepers_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> asleep_ ABSL_GUARDED_BY(mu_);
};

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_INTERNAL_IDLE_H_
