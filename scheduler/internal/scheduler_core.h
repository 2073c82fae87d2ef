// SchedulerCore: the state of one Scheduler shared by its workers.
//
// Shutdown sequence (shutdown(), once):
//   0. the shutdown hooks run (workers still running), then no more can be added.
//   1. closed_ = true and the registry closes: create_task/register raise `Event loop is closed`,
//      schedule_step drops the step.
//   2. stopping_ = true, every parker is unparked, every worker thread is joined.
//   3. Each worker drops its queued steps, callbacks and timers (releasing their references).
//   4. Every task still registered (in the registry, or through the injection queue) is
//      abandoned (TaskBase::abandon) and unregistered, so cycles between suspended tasks and the
//      futures they wait on break and nothing leaks.
#ifndef STEALIO_INTERNAL_SCHEDULER_CORE_H_
#define STEALIO_INTERNAL_SCHEDULER_CORE_H_

#include <memory>
#include <thread>
#include <vector>

#include <mutex>
#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "scheduler/internal/mutex.h"
#include "scheduler/internal/atomic.h"
#include "scheduler/internal/idle.h"
#include "scheduler/internal/registry.h"
#include "scheduler/internal/task_queue.h"
#include "scheduler/internal/worker.h"
#include "stealio/scheduler.h"

namespace stealio {
inline namespace v1 {
namespace internal {

class SchedulerCore {
 public:
  SchedulerCore(Scheduler& sched, SchedulerOptions options);
  ~SchedulerCore();

  void start();
  void shutdown();

  // Queues a runnable step (takes over one reference). `yield` puts it behind queued work.
  void schedule(TaskBase* t, bool yield);

  // For a new, unpinned task created on a thread that is not one of our workers: registers it
  // and queues its first step (`first_step`'s reference) in one critical section of the
  // injection queue, which lists it for all_tasks until a worker takes the step (registry.h).
  // Raises RuntimeError `Event loop is closed` once the registry is closed (first_step is
  // then released by the caller's TaskRef, as when register_task raises).
  void spawn_new(TaskRef& first_step);

  // all_tasks(): appends a reference to every registered task that is not done and for which
  // `keep` holds, from the injection queue and from the registry.
  void snapshot(absl::FunctionRef<bool(const TaskBase&)> keep, std::vector<TaskRef>& out);

  int num_workers() const noexcept { return static_cast<int>(workers_.size()); }
  Worker& worker(int i) const noexcept { return *workers_[static_cast<std::size_t>(i)]; }
  // The calling thread's worker if it belongs to this scheduler, else null.
  Worker* local_worker() const noexcept;

  Scheduler& sched() const noexcept { return sched_; }
  const SchedulerOptions& options() const noexcept { return options_; }
  Registry& registry() noexcept { return registry_; }
  TaskQueue& inject() noexcept { return inject_; }
  Idle& idle() noexcept { return *idle_; }
  bool closed() const noexcept { return closed_.load(memory_order_acquire); }
  bool stopping() const noexcept { return stopping_.load(memory_order_acquire); }

  void add_shutdown_hook(Callback hook);
  void set_exception_handler(ExceptionHandler h);
  void call_exception_handler(const ExceptionContext& c) noexcept;

 private:
  Scheduler& sched_;
  const SchedulerOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  Registry registry_;
  // The injection queue on a cache line of its own: an outside thread writes it on every spawn,
  // and the fields around it are read by every worker on every task (the registry's shard
  // array, idle_, closed_). Sharing a line with them, each spawn's lock took the line back from
  // a worker that had just read it: 1,000,000 outside spawns, 9 alternating runs on our 2-core
  // machine, 0.450 -> 0.283 s at one worker and 1.017 -> 0.713 s at two.
  alignas(kCacheLine) TaskQueue inject_;
  static_assert(sizeof(TaskQueue) <= kCacheLine);
  alignas(kCacheLine) std::unique_ptr<Idle> idle_;
  std::vector<std::thread> threads_;
  atomic<bool> closed_{false};
  atomic<bool> stopping_{false};
  std::once_flag shutdown_once_;
  Mutex hooks_mu_;
  std::vector<Callback> hooks_ ABSL_GUARDED_BY(hooks_mu_);
  bool hooks_closed_ ABSL_GUARDED_BY(hooks_mu_) = false;
  Mutex handler_mu_;
  ExceptionHandler handler_ ABSL_GUARDED_BY(handler_mu_);

  // Empties the injection queue (the workers have stopped): unregisters the tasks registered
  // through it and returns those alive and not done, to abandon; releases every other step.
  std::vector<TaskRef> drain_inject();
};

// Sends `c` to the exception handler of `loop`'s scheduler, or to the default handler when that
// scheduler no longer exists (a future can outlive its scheduler). Never throws.
void report_exception(const Loop* loop, const ExceptionContext& c) noexcept;

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_INTERNAL_SCHEDULER_CORE_H_
