// Task<T>: asyncio.Task, a Future<T> that drives a Coro<T> on the scheduler's workers.
//
// create_task(coro) (on the running loop), loop.create_task(coro) and sched.spawn(coro) (from
// any thread) make a task; its steps are stealable, so it may migrate between workers, and each
// step runs between enter_task and leave_task: current_task() inside the coroutine is the task,
// on whichever worker runs the step. A task is registered (all_tasks) until it is done.
//
// Options: `name` (default `Task-N`), `context` (default: a copy of the creator's context; a
// given context is used as is, shared), `eager_start` (run the first step inside create_task, as
// CPython 3.12's eager task factory; default from SchedulerOptions::eager_start), `pinned` (every
// step on the creation loop, never stolen).
//
// Example:
//   stealio::Coro<std::uint64_t> fib(int n) {
//     if (n < 2) co_return n;
//     stealio::Task<std::uint64_t> a = stealio::create_task(fib(n - 1));  // may be stolen
//     std::uint64_t b = co_await fib(n - 2);                              // runs inline
//     co_return co_await a + b;
//   }
//   stealio::Scheduler sched(stealio::SchedulerOptions{.workers = 4});
//   std::uint64_t r = sched.run(fib(30));  // 832040
#ifndef STEALIO_TASK_H_
#define STEALIO_TASK_H_

#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "stealio/context.h"
#include "stealio/coro.h"
#include "stealio/future.h"
#include "stealio/internal/task_core.h"
#include "stealio/lifetime.h"
#include "stealio/loop.h"
#include "stealio/scheduler.h"

namespace stealio {
inline namespace v1 {

// How to create a task. Built with chained setters:
//   stealio::create_task(work(), stealio::TaskOptions().with_name("io").with_eager_start(true));
// Not an aggregate on purpose: g++ 12 destroys a brace-initialized aggregate temporary twice when
// it appears inside a `co_await` expression (checked on Debian's 12.2 with a standalone
// coroutine type), so `co_await create_task(c, TaskOptions{...})` would crash.
class TaskOptions {
 public:
  TaskOptions() noexcept {}

  TaskOptions with_name(std::string n) && {
    name = std::move(n);
    return std::move(*this);
  }
  TaskOptions with_context(Context c) && {
    context = std::move(c);
    return std::move(*this);
  }
  TaskOptions with_eager_start(bool e = true) && {
    eager_start = e;
    return std::move(*this);
  }
  TaskOptions with_pinned(bool p = true) && {
    pinned = p;
    return std::move(*this);
  }

  std::string name;                 // empty: `Task-N`
  std::optional<Context> context;   // empty: copy_context() of the creator
  std::optional<bool> eager_start;  // empty: the scheduler's default
  bool pinned = false;              // every step on the creation loop
};

namespace internal {

template <class T>
class TaskState final : public TaskCore {
 public:
  // The task owns the frame from here on (TaskCore::frame()). `given`: see TaskCore. Released
  // from `coro` only once TaskCore is made: if making its context throws, `coro` still frees it.
  TaskState(Loop& loop, bool pinned, const Context* given, Coro<T>&& coro)
      : TaskCore(loop, pinned, given, coro.handle()) {
    coro.release().promise().set_task(this);
  }
  ~TaskState() override { report_unretrieved(); }

  ValueSlot<T> value;

 private:
  void take_value() override {
    if constexpr (!std::is_void_v<T>) {
      value.set(Coro<T>::Handle::from_address(frame().address()).promise().result());
    }
  }
};

// Picks the loop for a task spawned from a thread that is not one of `sched`'s workers.
Loop& loop_for_spawn(Scheduler& sched) noexcept;

}  // namespace internal

template <class T = void>
class Task : public Future<T> {
 public:
  // An empty handle.
  Task() noexcept : Future<T>(nullptr, nullptr) {}

  std::uint64_t id() const noexcept { return state()->id(); }
  std::string get_name() const { return state()->get_name(); }
  void set_name(std::string name) { state()->set_name(std::move(name)); }
  // asyncio's Task.cancelling()/uncancel().
  int cancelling() const { return state()->cancelling(); }
  int uncancel() { return state()->uncancel(); }
  // `<Task pending name='Task-3' id=3 loop=1>`.
  std::string repr() const { return state()->repr(); }
  // The task as a TaskBase (for the lifetime protocol functions).
  TaskRef ref() const noexcept { return TaskRef(state()); }
  explicit operator bool() const noexcept { return this->core() != nullptr; }

  // Makes a task on `loop` from `coro` (what create_task and spawn call).
  static Task make(Loop& loop, Coro<T> coro, const TaskOptions& options);
  // make() with default options, without building a TaskOptions (the fork-join hot path).
  static Task make(Loop& loop, Coro<T> coro);

 private:
  // `given`: the context to share, or null to inherit the creator's.
  static Task make_with(Loop& loop, Coro<T>&& coro, const Context* given, bool eager, bool pinned,
                        const std::string* name);
  explicit Task(internal::TaskState<T>* s) noexcept : Future<T>(s, &s->value) {}
  internal::TaskState<T>* state() const noexcept {
    return static_cast<internal::TaskState<T>*>(this->core());
  }
};

template <class T>
Task<T> Task<T>::make(Loop& loop, Coro<T> coro, const TaskOptions& options) {
  // A given context is shared; else the creator's is copied (deferred: see ContextSlot).
  const bool eager = options.eager_start.value_or(loop.scheduler().options().eager_start);
  return make_with(loop, std::move(coro), options.context ? &*options.context : nullptr, eager,
                   options.pinned, options.name.empty() ? nullptr : &options.name);
}

template <class T>
Task<T> Task<T>::make(Loop& loop, Coro<T> coro) {
  return make_with(loop, std::move(coro), nullptr, loop.scheduler().options().eager_start, false,
                   nullptr);
}

template <class T>
Task<T> Task<T>::make_with(Loop& loop, Coro<T>&& coro, const Context* given, bool eager,
                           bool pinned, const std::string* name) {
  if (loop.is_closed()) throw RuntimeError("Event loop is closed");
  if (!coro) throw RuntimeError("a coroutine was expected, got an empty Coro");
  eager = eager && loop.is_running_here();
  auto* s = new internal::TaskState<T>(loop, pinned, given, std::move(coro));
  Task<T> task(s);
  // The first step's reference, taken while no other thread can see the task (registering it
  // publishes it to all_tasks): one atomic read-modify-write less per task.
  TaskRef first_step;
  if (!eager) {
    s->retain_unshared();
    first_step = TaskRef::adopt(s);
  }
  if (name) s->set_name(*name);
  if (eager) {
    internal::register_new_task(*s);
    s->run_nested(loop);
  } else {
    internal::register_new_and_schedule(std::move(first_step));
  }
  return task;
}

// asyncio.create_task(): a task on the running loop. Raises RuntimeError `no running event loop`
// outside a worker, `Event loop is closed` after shutdown (the coroutine is destroyed).
template <class T>
Task<T> create_task(Coro<T> coro) {
  return Task<T>::make(get_running_loop(), std::move(coro));
}
template <class T>
Task<T> create_task(Coro<T> coro, const TaskOptions& options) {
  return Task<T>::make(get_running_loop(), std::move(coro), options);
}

template <class C, class... Options>
auto Loop::create_task(C&& coro, Options&&... options) {
  using T = typename std::decay_t<C>::value_type;
  static_assert(sizeof...(Options) <= 1, "create_task(coro[, TaskOptions])");
  if constexpr (sizeof...(Options) == 0) {
    return Task<T>::make(*this, std::forward<C>(coro));
  } else {
    return Task<T>::make(*this, std::forward<C>(coro), options...);
  }
}

template <class C, class... Options>
auto Scheduler::spawn(C&& coro, Options&&... options) {
  using T = typename std::decay_t<C>::value_type;
  Loop* here = get_running_loop_or_null();
  Loop& loop = here && &here->scheduler() == this ? *here : internal::loop_for_spawn(*this);
  static_assert(sizeof...(Options) <= 1, "spawn(coro[, TaskOptions])");
  if constexpr (sizeof...(Options) == 0) {
    return Task<T>::make(loop, std::forward<C>(coro));
  } else {
    return Task<T>::make(loop, std::forward<C>(coro), options...);
  }
}

template <class C>
auto Scheduler::run(C&& coro) {
  using T = typename std::decay_t<C>::value_type;
  if (get_running_loop_or_null()) {
    throw RuntimeError("asyncio.run() cannot be called from a running event loop");
  }
  Task<T> main = spawn(std::forward<C>(coro));
  main.wait();
  if constexpr (std::is_void_v<T>) {
    main.result();
  } else if constexpr (std::is_reference_v<T>) {
    return static_cast<T>(main.result());
  } else {
    return T(std::move(main.result()));
  }
}

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_TASK_H_
