// TaskGroup: asyncio.TaskGroup (3.11, with 3.13's cancellation rules), structured concurrency.
//
// C++ has no `async with`, so the group's scope is a body: a callable that receives the group and
// returns a Coro. task_group(body) (or TaskGroup::run) enters the group, awaits the body inline in
// the current task (the parent), then waits for every task created in the group:
//
//   co_await stealio::task_group([&](stealio::TaskGroup& tg) -> stealio::Coro<void> {
//     tg.create_task(a());
//     tg.create_task(b());
//     co_return;
//   });   // a() and b() are done here
//
// Why a body callable rather than a Coro: the body must reach the group to create tasks, and the
// group must exist (entered, knowing its parent task) before the body's first line runs.
//
// Rules, as asyncio's:
//   - the first child that fails with an exception other than CancelledError cancels the other
//     children and the parent (whatever the body awaits), and the body ends with CancelledError;
//   - every child's exception, and the body's own (unless it is CancelledError), is raised at the
//     end together as ExceptionGroup("unhandled errors in a TaskGroup"), exceptions() in the
//     order they happened; the parent's cancellation made by the group is withdrawn (uncancel);
//   - cancelling the parent cancels the children; the group then raises CancelledError;
//   - create_task after the group finished raises RuntimeError `TaskGroup <...> is finished`,
//     while it is aborting `... is shutting down`, before it is entered `... has not been
//     entered` (the coroutine is destroyed unstarted).
// Children may create tasks in the group (pass them the TaskGroup&) until it finishes. A
// TaskGroup is entered once; it is neither copied nor moved. Its methods are thread-safe.
//
// Example:
//   stealio::Coro<int> total() {
//     stealio::Task<int> x, y;
//     co_await stealio::task_group([&](stealio::TaskGroup& tg) -> stealio::Coro<void> {
//       x = tg.create_task(fetch(1));
//       y = tg.create_task(fetch(2));
//       co_return;
//     });
//     co_return x.result() + y.result();
//   }
#ifndef STEALIO_TASK_GROUP_H_
#define STEALIO_TASK_GROUP_H_

#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "stealio/coro.h"
#include "stealio/errors.h"
#include "stealio/internal/awaitable.h"
#include "stealio/task.h"

namespace stealio {
inline namespace v1 {

namespace internal {
struct TaskGroupState;  // task_group.cc
// TaskGroup's __aexit__: waits for the children, then raises as asyncio does (see the header).
Coro<void> task_group_exit(std::shared_ptr<TaskGroupState> s, std::exception_ptr error);
}  // namespace internal

class TaskGroup {
 public:
  TaskGroup();
  ~TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // Runs `body(*this)` as the group's scope and returns its result, once every child is done.
  // Raises RuntimeError `TaskGroup <...> has already been entered` on a second run,
  // `... cannot determine the parent task` outside a task.
  template <class F>
    requires std::is_invocable_v<F&, TaskGroup&>
  auto run(F body) -> std::invoke_result_t<F&, TaskGroup&>;

  // asyncio's TaskGroup.create_task(coro, name=, context=): a task in the group, on the calling
  // worker's loop (or the parent's loop, called from elsewhere).
  template <class T>
  Task<T> create_task(Coro<T> coro, const TaskOptions& options = TaskOptions());

  // `<TaskGroup tasks=2 errors=1 cancelling>`, as asyncio's repr.
  std::string repr() const;

 private:
  void enter();
  // Checks that a task may be created now; the loop to create it on.
  Loop& prepare_create() const;
  // Takes a created task into the group (done callback; cancelled if the group is aborting).
  void adopt(internal::FutureCore& task);

  std::shared_ptr<internal::TaskGroupState> s_;
};

template <class F>
  requires std::is_invocable_v<F&, TaskGroup&>
auto TaskGroup::run(F body) -> std::invoke_result_t<F&, TaskGroup&> {
  using T = typename std::invoke_result_t<F&, TaskGroup&>::value_type;
  enter();
  std::exception_ptr error;
  internal::ValueSlot<T> value;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await body(*this);
    } else {
      value.set(co_await body(*this));
    }
  } catch (...) {
    error = std::current_exception();
  }
  co_await internal::task_group_exit(s_, error);
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<T>) co_return value.take();
}

template <class T>
Task<T> TaskGroup::create_task(Coro<T> coro, const TaskOptions& options) {
  Loop& loop = prepare_create();
  Task<T> task = Task<T>::make(loop, std::move(coro), options);
  adopt(*task.core());
  return task;
}

// Runs `body` in a new TaskGroup: `co_await task_group(body)` is Python's
// `async with TaskGroup() as tg: <body>`. Returns the body's result.
//
// Example:
//   co_await stealio::task_group([](stealio::TaskGroup& tg) -> stealio::Coro<void> {
//     for (int i = 0; i < 10; ++i) tg.create_task(worker(i));
//     co_return;
//   });
template <class F>
  requires std::is_invocable_v<F&, TaskGroup&>
auto task_group(F body) -> std::invoke_result_t<F&, TaskGroup&> {
  TaskGroup group;
  co_return co_await group.run(std::move(body));
}

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_TASK_GROUP_H_
