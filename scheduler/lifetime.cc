#include "stealio/lifetime.h"

#include "scheduler/internal/scheduler_core.h"
#include "scheduler/internal/worker.h"
#include "stealio/errors.h"
#include "stealio/loop.h"

namespace stealio {
inline namespace v1 {
namespace {

// The current-task slot holds a TaskBase* whose bit 0 a reader from another thread sets while it
// takes a reference (TaskBase is at least 8-byte aligned). leave_task waits for the bit to clear,
// so the task, alive while it sits in the slot, is still alive when the reader retains it.
constexpr std::uintptr_t kReaderBit = 1;

std::uintptr_t bits(const TaskBase* t) { return reinterpret_cast<std::uintptr_t>(t); }

}  // namespace

void register_task(TaskBase& task) {
  internal::SchedulerCore& core = task.get_loop()->scheduler().core();
  internal::Worker* w = core.local_worker();
  core.registry().add(task, core.registry().home_shard(w ? w->index() : -1));
}

namespace internal {
void register_new_task(TaskBase& task) {
  SchedulerCore& core = task.get_loop()->scheduler().core();
  Worker* w = core.local_worker();
  core.registry().add_new(task, core.registry().home_shard(w ? w->index() : -1));
}
}  // namespace internal

void unregister_task(TaskBase& task) noexcept {
  task.get_loop()->scheduler().core().registry().remove(task);
}

TaskRef current_task(const Loop& loop) {
  std::uintptr_t v = loop.slot_.load(std::memory_order_acquire);
  if (loop.is_running_here()) {
    // The running step's task is alive; only our own thread changes the slot.
    return TaskRef(reinterpret_cast<TaskBase*>(v & ~kReaderBit));
  }
  for (;;) {
    if (v == 0) return nullptr;
    if (v & kReaderBit) {
      internal::cpu_relax();
      v = loop.slot_.load(std::memory_order_acquire);
      continue;
    }
    if (loop.slot_.compare_exchange_weak(v, v | kReaderBit, std::memory_order_acquire)) break;
  }
  TaskRef ref(reinterpret_cast<TaskBase*>(v));
  loop.slot_.store(v, std::memory_order_release);
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
    if (expected == bits(&task) || expected == (bits(&task) | kReaderBit)) {
      // Spurious failure, or a reader is taking a reference: wait for it.
      if (expected & kReaderBit) internal::cpu_relax();
      expected = bits(&task);
      continue;
    }
    TaskRef current = current_task(loop);
    throw RuntimeError("Leaving task " + task.repr() + " does not match the current task " +
                       (current ? current->repr() : std::string("None")) + ".");
  }
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

TaskBase* swap_current_task(Loop& loop, TaskBase* task) {
  std::uintptr_t cur = loop.slot_.load(std::memory_order_acquire);
  for (;;) {
    if (cur & kReaderBit) {  // a reader is taking a reference: let it finish
      cpu_relax();
      cur = loop.slot_.load(std::memory_order_acquire);
      continue;
    }
    if (loop.slot_.compare_exchange_weak(cur, bits(task), std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
      if (task) record_loop(loop, *task);
      return reinterpret_cast<TaskBase*>(cur);
    }
  }
}
}  // namespace internal

std::vector<TaskRef> all_tasks(const Loop& loop) {
  std::vector<TaskRef> out;
  loop.scheduler().core().registry().snapshot(
      [&loop](const TaskBase& t) { return t.get_loop() == &loop && !t.done(); }, out);
  return out;
}

std::vector<TaskRef> all_tasks() { return all_tasks(get_running_loop()); }

}  // namespace v1
}  // namespace stealio
