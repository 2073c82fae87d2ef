// asyncio's task lifetime protocol ("asyncio — Extending", task lifetime support).
//
// Any task type derived from TaskBase that follows it is as visible to `all_tasks()` and
// `current_task()` as stealio's own tasks:
//   register_task(task)        once, when the task is created (idempotent)
//   enter_task(loop, task)     at the start of every step, on the loop running the step
//   leave_task(loop, task)     at the end of every step
//   unregister_task(task)      when the task is done (a task never registered is a no-op)
// enter_task records the loop in the task (`get_loop()`): that is how a migration shows.
//
// Misuse raises RuntimeError with asyncio's message and leaves the loop's slot unchanged.
//
// Example:
//   stealio::register_task(*t);
//   stealio::enter_task(loop, *t);
//   assert(stealio::current_task(loop) == t);
//   stealio::leave_task(loop, *t);
//   stealio::unregister_task(*t);
#ifndef STEALIO_LIFETIME_H_
#define STEALIO_LIFETIME_H_

#include <vector>

#include "stealio/task_base.h"

namespace stealio {
inline namespace v1 {

class Loop;

// Adds `task` to the registry of its loop's scheduler. Idempotent. Raises RuntimeError
// `Event loop is closed` once that scheduler has shut down.
void register_task(TaskBase& task);

// Removes `task` from the registry. A task that is not registered is a no-op.
void unregister_task(TaskBase& task) noexcept;

// Makes `task` the current task of `loop` and records `loop` as the task's loop. Raises
// RuntimeError `Cannot enter into task <task> while another task <current> is being executed.`
// when the slot already holds a task. The task must stay alive until leave_task.
void enter_task(Loop& loop, TaskBase& task);

// Clears `loop`'s current-task slot. Raises RuntimeError
// `Leaving task <task> does not match the current task <current>.` when the slot holds another
// task (`None` when it is empty).
void leave_task(Loop& loop, TaskBase& task);

// The task in `loop`'s slot, or null. Safe from any thread.
TaskRef current_task(const Loop& loop);
// The current task of the running loop. Raises RuntimeError `no running event loop` outside a
// worker.
TaskRef current_task();

// Snapshot of the registered tasks that are not done and whose get_loop() is `loop`.
std::vector<TaskRef> all_tasks(const Loop& loop);
// all_tasks(get_running_loop()).
std::vector<TaskRef> all_tasks();

namespace internal {
// register_task for a task that no other thread can see yet (the runtime's own, inside
// create_task): the same effect, without the compare-and-swap that settles two threads
// registering one task at once.
void register_new_task(TaskBase& task);
// register_new_task(*first_step), then schedule_step(first_step): the first step of a task no
// other thread can see yet. From a thread outside the workers, an unpinned task is registered
// through the injection queue its step goes to (one lock instead of two; see registry.h).
void register_new_and_schedule(TaskRef first_step);
// unregister_task at the end of the task's last step, while the task is in no run queue and no
// waiter list: on a worker other than the one it registered on (a stolen task), the unlinking is
// left to that worker (see registry.h), which costs this one no visit to its shard.
void unregister_finished_task(TaskBase& task) noexcept;
}  // namespace internal

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_LIFETIME_H_
