// Scheduler: N worker threads, each running a Loop, sharing task steps by work stealing.
//
// Task steps are the stealable unit: schedule_step() puts a task's next step on the calling
// worker's deque (or, from outside the workers, on the scheduler's injection queue), and idle
// workers steal from each other. Callbacks scheduled on a loop (call_soon) run on that loop only.
// Idle workers park and burn no CPU; work arriving wakes one of them.
//
// Example:
//   stealio::Scheduler sched(stealio::SchedulerOptions{.workers = 4});
//   sched.loop(2).call_soon_threadsafe([] { /* runs on worker 2 */ });
//   for (const stealio::TaskRef& t : sched.all_tasks()) std::cout << *t << "\n";
//   sched.shutdown();  // also done by the destructor
#ifndef STEALIO_SCHEDULER_H_
#define STEALIO_SCHEDULER_H_

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "stealio/loop.h"
#include "stealio/task_base.h"

namespace stealio {
inline namespace v1 {

namespace internal {
class SchedulerCore;
}  // namespace internal

struct SchedulerOptions {
  // Worker threads; 0 means one per hardware thread.
  int workers = 0;
  // Default of TaskOptions::eager_start for tasks created on this scheduler (CPython 3.12's
  // eager task factory, scheduler-wide).
  bool eager_start = false;
};

// What the exception handler receives; asyncio's exception-handler context dict.
struct ExceptionContext {
  std::string message;           // e.g. "Task exception was never retrieved"
  std::exception_ptr exception;  // may be null
  std::string task;              // repr of the task or future concerned, may be empty
  Loop* loop = nullptr;
};
using ExceptionHandler = std::function<void(const ExceptionContext&)>;

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options = {});
  // Calls shutdown().
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  int workers() const noexcept;
  Loop& loop(int index) const;
  const SchedulerOptions& options() const noexcept;

  // Makes a task of a coroutine, from any thread: Task<T> spawn(Coro<T>, TaskOptions = {}).
  // Defined in <stealio/task.h>.
  template <class C, class... Options>
  auto spawn(C&& coro, Options&&... options);
  // asyncio.run(): runs the coroutine as the main task, blocks the calling thread until it is
  // done, returns its result or rethrows its exception. Raises RuntimeError on a worker.
  // Defined in <stealio/task.h>.
  template <class C>
  auto run(C&& coro);

  // Runs `fn` once on some worker, as stealable work. From any thread.
  void post(Callback fn);

  // Snapshot of every registered task that is not done, on every loop.
  std::vector<TaskRef> all_tasks() const;

  // Stops the scheduler: closes the registry and the loops (scheduling then raises
  // `Event loop is closed`), wakes and joins every worker, drops the queued work and calls
  // abandon() on every task still registered. Idempotent; concurrent calls wait for the first.
  // Raises RuntimeError `Cannot close a running event loop` when called from a worker.
  void shutdown();
  bool is_closed() const noexcept;

  // Registers `hook` to run at the start of shutdown(), in registration order, while the
  // workers still run (so tasks can still finish): for services built on the scheduler, such as
  // a thread pool that must wait for or abandon its blocking calls. Raises `Event loop is
  // closed` once shutdown has begun.
  void add_shutdown_hook(Callback hook);

  // asyncio's loop.set_exception_handler(); null restores the default, which writes the context
  // to stderr. Shared by all the scheduler's loops.
  void set_exception_handler(ExceptionHandler handler);
  void call_exception_handler(const ExceptionContext& context) noexcept;
  static void default_exception_handler(const ExceptionContext& context);

  internal::SchedulerCore& core() const noexcept { return *core_; }

 private:
  std::unique_ptr<internal::SchedulerCore> core_;
};

// Schedules the next step of `task` as stealable work: on the calling worker's deque when the
// caller is one of the task's scheduler's workers (runs soon, LIFO, may be stolen), otherwise on
// the injection queue. A pinned task's step goes to its creation loop instead. On a closed
// scheduler the step is dropped (the task stays pending; shutdown abandons it).
void schedule_step(TaskRef task);
// Like schedule_step(), but the step runs after the work already queued on this worker (FIFO):
// asyncio's `await sleep(0)`. Still stealable.
void schedule_step_yield(TaskRef task);

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_SCHEDULER_H_
