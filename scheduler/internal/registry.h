// Registry: the tasks registered with one scheduler, for all_tasks().
//
// Sharding. One shard per worker, plus as many (at least 4) for threads outside the scheduler.
// A worker registers into its own shard, so the register/unregister pair of a task that starts
// and ends on one worker only touches that worker's shard, a cache line no other worker writes.
// An outside thread registers into the outside shards in turn, since its tasks are finished by
// whichever workers take them. A task that migrated leaves its creator's shard through that
// shard's unlink stack (below: one cross-core compare-and-swap, paid only by migrated tasks).
// all_tasks() visits the shards one at a time; it never holds two, so it never blocks every
// worker at once. (Tokio's OwnedTasks shards a list by task id; CPython 3.14 keeps per-thread
// lists; ours is per-thread for workers because the thread that creates a task is, for fork-join
// work, almost always the one that finishes it.)
//
// Access to a shard. A worker shard is biased towards its worker (the owner), which registers
// and unregisters every task it creates and finishes, twice per task: the owner enters with two
// plain stores and a load (Dekker, with asymmetric fences: atomic.h), not a lock's atomic
// exchange (skynet 0.85x and fib(32) 0.95x the time at one worker, 0.85x / 0.95x at two;
// alternating medians of 7). Any other thread (a visitor: all_tasks, another worker
// unregistering a third-party task, a test) takes the shard's SpinMutex, counts itself in
// `visitors`, issues the heavy fence (a membarrier system call: ~35 us on our VMs while the
// workers run) and waits until the owner is out. An owner that sees a visitor counted backs off to
// the mutex. Outside shards have no owner: a SpinMutex alone. A snapshot counts itself in every
// worker shard first and pays one heavy fence for all of them, then visits them one at a time.
//
// Tasks that end on another worker than their shard's (stolen ones) do not visit: the last step
// marks the task kUnlinkPending (no longer listed) and pushes it, with a reference, on the shard's
// `unlink_pending` stack, one compare-and-swap on another worker's line, as the lock was before.
// The owner's next registration or unregistration unlinks them and drops the references (so
// do size(), and drain() at shutdown); until then a parked owner keeps them, unlisted. A
// snapshot only skips them: it runs under the injection queue's lock, and dropping a reference
// may run a task's destructor.
//
// Invariants, per shard, under exclusive access:
//   - the list holds exactly the tasks whose reg_shard_ is this shard's index, and the tasks
//     pending unlinking (kUnlinkPending) not yet unlinked;
//   - reg_shard_ is set and the task linked in one exclusive section, and unlinked and reset in
//     another, so unregister, which reads reg_shard_ and then enters that shard, finds it linked;
//   - a listed task's memory is alive: ~TaskBase unregisters (entering the shard) before freeing,
//     and a task pending unlinking is held by the registry's reference. A snapshot takes a
//     reference with try_retain(), which fails once the count reached zero, so it never holds a
//     task being destroyed;
//   - no reference is ever taken here to a task that is done (snapshot and drain skip them, and
//     the pending-unlink reference is taken before the last step marks the task done), so the
//     holder of a done task's last reference may free it without a read-modify-write
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
#include "scheduler/internal/atomic.h"
#include "scheduler/internal/mutex.h"
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
  // add() for a task no other thread can reach yet: no race to settle, so no CAS. `caller_owns`:
  // the caller knows it is the shard's owner (a worker registering into its own shard), which
  // spares the check of the thread-local owner.
  void add_new(TaskBase& t, int shard, bool caller_owns = false);
  // Unregisters `t` (from its shard, or from the injection queue's listing). Idempotent.
  void remove(TaskBase& t) noexcept;
  // remove() at the end of a task's last step, while its queue link (queue_next_) is free: on a
  // thread other than the shard's worker, the unlinking is left to that worker.
  void remove_finished(TaskBase& t) noexcept;
  // Makes the calling thread the owner of worker shard `shard` (a worker, as it starts).
  void bind_owner(int shard) noexcept;
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

  // The number of tasks registered (those pending unlinking are unlinked first).
  std::size_t size() const;

 private:
  // The list fields are guarded by exclusive access (above), which the thread-safety analysis
  // cannot express: they carry no annotation.
  struct alignas(kCacheLine) Shard {
    // Written by the owner on every operation.
    atomic<bool> owner_in{false};
    TaskBase* head = nullptr;
    std::size_t count = 0;
    bool closed = false;
    // Written by others.
    alignas(kCacheLine) mutable SpinMutex mu;
    atomic<int> visitors{0};
    atomic<TaskBase*> unlink_pending{nullptr};  // linked through queue_next_
  };
  class Exclusive;
  bool owns(int shard) const noexcept;
  // The owner's entry and exit for the two operations of every task (add_new, remove), spelled
  // out: through Exclusive, kept in memory for its out-of-line slow path, they took twice the
  // instructions (callgrind, fib(22) at one worker). try_owner_enter is false for a thread that
  // is not the owner, or when a visitor is counted (then Exclusive takes the mutex).
  bool try_owner_enter(Shard& s, int idx) const noexcept;
  // try_owner_enter() for a caller that owns the shard.
  static bool owner_enter(Shard& s) noexcept;
  // Leaves, then unlinks the tasks pending unlinking, if any, in an exclusive section of its own.
  void owner_leave(Shard& s, int idx) noexcept;
  void collect_pending(Shard& s, int idx) noexcept;
  // remove() from `idx`, the task's shard when read: the owner's path, else remove_slow.
  void remove_at(Shard& s, TaskBase& t, int idx) noexcept;
  // add_new and remove through Exclusive.
  void add_new_slow(Shard& s, TaskBase& t, int shard);
  void remove_slow(Shard& s, TaskBase& t, int idx) noexcept;
  bool is_worker_shard(int shard) const noexcept { return shard >= 0 && shard < worker_shards_; }
  // With exclusive access: unlinks the tasks pending unlinking; returns them (linked through
  // queue_next_), to be released after the exclusive section.
  static TaskBase* unlink_pending(Shard& s);
  // unlink_pending(), the tasks prepended to the chain `into`.
  static void take_pending(Shard& s, TaskBase*& into);
  // Runs fn(shard, index) on every shard in turn, with exclusive access to it.
  template <class Fn>
  void visit_all(Fn&& fn) const;
  static void release_chain(TaskBase* chain) noexcept;
  static void unlink(Shard& s, TaskBase& t);
  static void link(Shard& s, TaskBase& t);
  // remove() with exclusive access to `idx`, the task's shard when read.
  static void remove_from(Shard& s, TaskBase& t, int idx);

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
