#include "stealio/lifetime.h"

#include "scheduler/internal/current_slot.h"
#include "scheduler/internal/scheduler_core.h"
#include "scheduler/internal/worker.h"
#include "stealio/errors.h"
#include "stealio/loop.h"

namespace stealio {
inline namespace v1 {
namespace {

// The current-task slot. A task is alive while it sits in the slot (whoever runs its step holds a
// reference until after it left), so the only danger is a thread other than the worker reading
// the slot and retaining the task after the worker took it out and freed it. Such a reader
// publishes the pointer it read as a hazard (slot_hazard_), then checks that the slot still
// holds it; whoever takes a task out of the slot then waits while the hazard names that task.
// Dekker, with asymmetric fences (atomic.h): the worker, which swaps the slot twice per step,
// pays a compiler barrier; the foreign reader, which is rare (debuggers, monitors), pays the
// heavy fence. Either the worker sees the hazard and waits for the reader to take its
// reference, or the reader sees the slot as it is after the swap and tries again.
std::uintptr_t bits(const TaskBase* t) { return reinterpret_cast<std::uintptr_t>(t); }

}  // namespace

void register_task(TaskBase& task) {
  internal::SchedulerCore& core = task.get_loop()->scheduler().core();
  internal::Worker* w = core.local_worker();
  core.registry().add(task, core.registry().home_shard(w ? w->index() : -1));
}

namespace internal {
#ifndef STEALIO_SKIP_REGISTRATION
namespace {
void add_new(SchedulerCore& core, Worker* w, TaskBase& task) {
  // A worker of `core` owns its shard (Worker::run binds it).
  if (w) {
    core.registry().add_new(task, w->index(), /*caller_owns=*/true);
  } else {
    core.registry().add_new(task, core.registry().home_shard(-1));
  }
}
}  // namespace
#endif

void register_new_task(TaskBase& task) {
#ifdef STEALIO_SKIP_REGISTRATION
  // A measurement build (CMake option of that name): what tasks cost without the registry.
  // unregister_task then finds the task unregistered and returns at once.
  static_cast<void>(task);
#else
  SchedulerCore& core = task.get_loop()->scheduler().core();
  add_new(core, core.local_worker(), task);
#endif
}

void register_new_and_schedule(TaskRef first_step) {
  TaskBase& task = *first_step;
  SchedulerCore& core = task.get_loop()->scheduler().core();
  Worker* w = core.local_worker();
#ifndef STEALIO_SKIP_REGISTRATION
  if (!w && !task.pinned()) {
    core.spawn_new(first_step);
    return;
  }
  add_new(core, w, task);
#endif
  // Fork-join's case, a task created on a worker: its first step goes on this worker's deque
  // here, without schedule_step's dispatch on the task's home and the caller's thread again.
  if (w && !task.pinned() && !core.closed()) {
    w->push_local(first_step.leak());
    core.idle().notify_work();
    return;
  }
  schedule_step(std::move(first_step));
}

void unregister_finished_task(TaskBase& task) noexcept {
  task.get_loop()->scheduler().core().registry().remove_finished(task);
}
}  // namespace internal

void unregister_task(TaskBase& task) noexcept {
  task.get_loop()->scheduler().core().registry().remove(task);
}

TaskRef current_task(const Loop& loop) {
  if (loop.is_running_here()) {
    // The running step's task is alive; only our own thread takes tasks out of the slot.
    return TaskRef(reinterpret_cast<TaskBase*>(loop.slot_.load(std::memory_order_acquire)));
  }
  std::lock_guard<std::mutex> lock(loop.slot_reader_mu_);
  std::uintptr_t v = loop.slot_.load(std::memory_order_acquire);
  while (v != 0) {
    loop.slot_hazard_.store(v, std::memory_order_relaxed);
    internal::heavy_fence();
    const std::uintptr_t again = loop.slot_.load(std::memory_order_acquire);
    if (again == v) break;  // still in the slot after the hazard was visible: alive
    v = again;
  }
  TaskRef ref(reinterpret_cast<TaskBase*>(v));
  loop.slot_hazard_.store(0, std::memory_order_release);
  return ref;
}

TaskRef current_task() { return current_task(get_running_loop()); }

void enter_task(Loop& loop, TaskBase& task) {
  std::uintptr_t expected = 0;
  while (!loop.slot_.compare_exchange_weak(expected, bits(&task), std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
    if (expected == 0) continue;  // spurious failure
    TaskRef current = current_task(loop);
    if (!current) {  // it left meanwhile: try again
      expected = 0;
      continue;
    }
    throw RuntimeError("Cannot enter into task " + task.repr() + " while another task " +
                       current->repr() + " is being executed.");
  }
  internal::record_loop(loop, task);
}

void leave_task(Loop& loop, TaskBase& task) {
  std::uintptr_t expected = bits(&task);
  while (!loop.slot_.compare_exchange_weak(expected, 0, std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
    if (expected == bits(&task)) continue;  // spurious failure
    TaskRef current = current_task(loop);
    throw RuntimeError("Leaving task " + task.repr() + " does not match the current task " +
                       (current ? current->repr() : std::string("None")) + ".");
  }
  internal::CurrentSlot::wait_for_reader(loop, bits(&task));
}

namespace internal {
// The task's steps now run on `loop`: that is how a migration is recorded. A task's steps never
// overlap, so only the calling thread writes the task's loop now.
void record_loop(Loop& loop, TaskBase& task) noexcept {
  Loop* previous = task.loop_.load(std::memory_order_relaxed);
  if (previous != &loop) {
    task.loop_.store(&loop, std::memory_order_release);
    loop.migrations_in_.fetch_add(1, std::memory_order_relaxed);
    previous->migrations_out_.fetch_add(1, std::memory_order_relaxed);
  }
}

// Called on the loop's worker only, around a step it runs nested (create_task's eager step, an
// inline join): a plain store, since enter_task from another thread (a misuse) cannot succeed
// while the slot holds the running step's task, and a compare-and-swap is kept for the case
// where the slot is empty (a callback creating an eager task).
TaskBase* swap_current_task(Loop& loop, TaskBase* task) {
  std::uintptr_t cur = loop.slot_.load(std::memory_order_relaxed);
  if (cur != 0) {
    loop.slot_.store(bits(task), std::memory_order_release);
  } else {
    while (!loop.slot_.compare_exchange_weak(cur, bits(task), std::memory_order_acq_rel,
                                             std::memory_order_relaxed)) {
      if (cur != 0) {
        // Another thread entered a task meanwhile (a misuse): the nested step still runs as
        // ours, and that thread's leave_task will report the mismatch.
        loop.slot_.store(bits(task), std::memory_order_release);
        break;
      }
    }
  }
  if (cur != 0) CurrentSlot::wait_for_reader(loop, cur);
  if (task) record_loop(loop, *task);
  return reinterpret_cast<TaskBase*>(cur);
}
}  // namespace internal

std::vector<TaskRef> all_tasks(const Loop& loop) {
  std::vector<TaskRef> out;
  loop.scheduler().core().snapshot(
      [&loop](const TaskBase& t) { return t.get_loop() == &loop && !t.done(); }, out);
  return out;
}

std::vector<TaskRef> all_tasks() { return all_tasks(get_running_loop()); }

}  // namespace v1
}  // namespace stealio
