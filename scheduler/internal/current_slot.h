// CurrentSlot: the worker's own path through a loop's current-task slot, for steps it runs
// nested inside the running one (inline joins, eager starts), and for stealio's own tasks' steps
// at the top of the loop (enter/leave: enter_task and leave_task without their
// compare-and-swaps).
//
// The slot's protocol is in lifetime.cc: the worker takes a task out of the slot with a plain
// store, then waits while a foreign current_task() reader names that task as its hazard. The
// out-of-line swap_current_task() handles every case. This is its common case inlined: the
// slot already holds the running task (so no other thread can enter one: a plain store is
// enough) and the nested task already runs on this loop (no migration to record). Callgrind on
// skynet(1e5), one worker: the two out-of-line calls per task cost ~46 instructions (the calls,
// the test for an empty slot, the null and migration tests); inlined, ~20 fewer per task
// (101.08 -> 98.87 M in all).
//
// Example (TaskCore::run_nested):
//   TaskBase* previous = CurrentSlot::swap(loop, this);
//   ... resume the coroutine ...
//   CurrentSlot::swap(loop, previous);
#ifndef STEALIO_INTERNAL_CURRENT_SLOT_H_
#define STEALIO_INTERNAL_CURRENT_SLOT_H_

#include <atomic>
#include <cstdint>

#include "scheduler/internal/atomic.h"
#include "stealio/lifetime.h"
#include "stealio/loop.h"
#include "stealio/task_base.h"

namespace stealio {
inline namespace v1 {
namespace internal {

class CurrentSlot {
 public:
  // swap_current_task(loop, task), called on the loop's worker: sets the slot to `task` and
  // returns what it held.
  static TaskBase* swap(Loop& loop, TaskBase* task) {
    const std::uintptr_t cur = loop.slot_.load(std::memory_order_relaxed);
    if (cur == 0 || task == nullptr || task->get_loop() != &loop) [[unlikely]] {
      return swap_current_task(loop, task);
    }
    loop.slot_.store(reinterpret_cast<std::uintptr_t>(task), std::memory_order_release);
    wait_for_reader(loop, cur);
    return reinterpret_cast<TaskBase*>(cur);
  }

  // enter_task(loop, task) for a step the loop's worker runs at the top of its loop (the slot
  // empty). A plain store where the slot is empty: the only other writer would be a thread
  // entering a task from outside (a misuse), and that thread's leave_task then reports the
  // mismatch, as after swap(). An occupied slot goes to enter_task, which raises.
  static void enter(Loop& loop, TaskBase& task) {
    if (loop.slot_.load(std::memory_order_relaxed) != 0) [[unlikely]] {
      enter_task(loop, task);
      return;
    }
    loop.slot_.store(reinterpret_cast<std::uintptr_t>(&task), std::memory_order_release);
    if (task.get_loop() != &loop) record_loop(loop, task);  // it migrated here
  }
  // leave_task(loop, task) after enter(). While the slot holds `task`, no other thread can
  // write it (enter_task expects an empty slot, leave_task its own task): a plain store, then
  // the wait for a foreign reader naming `task` as its hazard, as swap() does. A slot that
  // holds another task goes to leave_task, which raises.
  static void leave(Loop& loop, TaskBase& task) {
    const auto mine = reinterpret_cast<std::uintptr_t>(&task);
    if (loop.slot_.load(std::memory_order_relaxed) != mine) [[unlikely]] {
      leave_task(loop, task);
      return;
    }
    loop.slot_.store(0, std::memory_order_release);
    wait_for_reader(loop, mine);
  }

  // After taking `taken` out of the slot (every path above, and lifetime.cc's): waits while a
  // foreign current_task() reader names it as its hazard, about to retain it.
  static void wait_for_reader(const Loop& loop, std::uintptr_t taken) noexcept {
    light_fence();
    while (loop.slot_hazard_.load(std::memory_order_acquire) == taken) cpu_relax();
  }
};

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_INTERNAL_CURRENT_SLOT_H_
