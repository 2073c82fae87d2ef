// Registry: the tasks registered with one scheduler, for all_tasks().
//
// Sharding. One shard per worker, plus as many (at least 4) for threads outside the scheduler.
// A worker registers into its own shard, so the register/unregister pair of a task that starts
// and ends on one worker only touches that worker's shard: an uncontended lock on a cache line
// no other worker writes. An outside thread registers into the outside shards in turn, since
// its tasks are finished by whichever workers take them. A task that migrated unregisters from
// its creator's shard (one cross-core lock, paid only by migrated tasks). all_tasks() locks the
// shards one at a time; it never holds two, so it never blocks every worker at once. (Tokio's
// OwnedTasks shards a list by task id; CPython 3.14 keeps per-thread lists; ours is per-thread
// for workers because the thread that creates a task is, for fork-join work, almost always the
// one that finishes it.)
//
// The shard lock is a SpinMutex: the owner's register/unregister hold it for a few stores.
// Invariants, per shard under its lock:
//   - the list holds exactly the tasks whose reg_shard_ is this shard's index;
//   - reg_shard_ is set and the task linked in one critical section, and unlinked and reset in
//     another, so unregister, which reads reg_shard_ and then locks that shard, finds it linked;
//   - a listed task's memory is alive: ~TaskBase unregisters (taking this lock) before freeing.
//     A snapshot takes a reference with try_retain(), which fails once the count reached zero,
//     so it never holds a task being destroyed;
//   - no reference is ever taken here to a task that is done (snapshot and drain skip them), so
//     the holder of a done task's last reference may free it without a read-modify-write
//     (TaskBase::release).
// Closing (at shutdown) sets `closed` in every shard: register raises `Event loop is closed`.
//
// Tasks created outside the workers are not linked here at first: an outside thread's spawn
// marks the task kInInjectQueue and pushes its first step to the injection queue in one critical
// section of that queue's lock, and all_tasks lists such tasks from the queue
// (SchedulerCore::snapshot). The worker that takes the step links the task into its own shard
// (adopt_queued) under the same queue lock, so a snapshot, which holds that lock throughout, sees
// each task exactly once. Why: the outside thread's add and the worker's remove met on one shard
// lock per task, a cache-line transfer each way that made up ~21% of 1,000,000 outside spawns at
// one worker (perf); now both are local to the worker.
#ifndef STEALIO_INTERNAL_REGISTRY_H_
#define STEALIO_INTERNAL_REGISTRY_H_

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "scheduler/internal/mutex.h"
#include "scheduler/internal/atomic.h"
#include "stealio/task_base.h"

namespace stealio {
inline namespace v1 {
namespace internal {

class Registry {
 public:
  // `worker_shards` shards for the workers (worker i uses shard i) and a few more for others.
  explicit Registry(int worker_shards);
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registers `t` in `shard` (use home_shard()). Idempotent. Raises RuntimeError when closed.
  void add(TaskBase& t, int shard);
  // add() for a task no other thread can reach yet: no race to settle, so no CAS.
  void add_new(TaskBase& t, int shard);
  // Unregisters `t` (from its shard, or from the injection queue's listing). Idempotent.
  void remove(TaskBase& t) noexcept;
  // For a step just taken from the injection queue, under that queue's lock: a task registered
  // through the queue (kInInjectQueue) moves into `shard`; any other task is left as it is.
  // Links even into a closed shard: drain() runs after the workers stopped and finds it there.
  void adopt_queued(TaskBase& t, int shard) noexcept;

  // The shard to register into from the calling thread: its worker's index; for a thread that is
  // not a worker, the next of the outside shards (in turn, so that the workers that finish its
  // tasks do not all unregister from one shard).
  int home_shard(int worker_index) const noexcept;

  // Appends a reference to every registered, alive task that is not done and for which `keep` is
  // true.
  void snapshot(absl::FunctionRef<bool(const TaskBase&)> keep, std::vector<TaskRef>& out) const;

  void close();
  bool closed() const noexcept { return closed_.load(memory_order_acquire); }
  // After close: unregisters every task and returns references to those still alive and not
  // done.
  std::vector<TaskRef> drain();

  std::size_t size() const;

 private:
  struct alignas(kCacheLine) Shard {
    mutable SpinMutex mu;
    TaskBase* head ABSL_GUARDED_BY(mu) = nullptr;
    std::size_t count ABSL_GUARDED_BY(mu) = 0;
    bool closed ABSL_GUARDED_BY(mu) = false;
  };
  void unlink(Shard& s, TaskBase& t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu);
  void link(Shard& s, TaskBase& t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu);

  const int worker_shards_;
  const int outside_shards_;
  const int num_shards_;
  std::unique_ptr<Shard[]> shards_;
  atomic<bool> closed_{false};
};

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_INTERNAL_REGISTRY_H_
