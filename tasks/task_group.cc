// TaskGroup (asyncio/taskgroups.py, 3.13) for children that finish on any worker.
//
// Protocol. TaskGroupState holds the group's asyncio fields under `mu`: the children's done
// callbacks run on the children's loops, create_task may come from any child, and the parent
// runs the body and the exit anywhere. Each child's callback holds the state; the state holds
// the child until its callback removes it (or the TaskGroup is destroyed unfinished, at
// shutdown), so a child never keeps a finished group alive through a cycle.
//
// Everything asyncio does in one callback happens in one critical section here: removing the
// child, completing `on_completed` when it was the last, recording its error, and cancelling the
// other children and the parent. That is what keeps the exit from observing a state between two
// of those steps; in particular the parent's cancel() is issued before the exit can see the group
// empty, so the exit's uncancel() always matches it.
//
// Lock order: mu, then a task's lock (cancel/uncancel/cancelling), then what Task.cancel cancels
// (the awaited future's lock). No callback runs inside those calls (done callbacks go through the
// loop), so mu is never taken again beneath them.
#include "stealio/task_group.h"

#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "stealio/internal/task_core.h"

namespace stealio {
inline namespace v1 {
namespace internal {

struct TaskGroupState {
  std::mutex mu;
  bool entered = false;                  // guarded by mu
  bool exiting = false;                  // guarded by mu
  bool aborting = false;                 // guarded by mu
  bool parent_cancel_requested = false;  // guarded by mu
  Loop* loop = nullptr;                  // set on entry
  TaskRef parent;                        // guarded by mu: set from entry to the end of exit
  std::unordered_map<FutureCore*, CoreRef> tasks;  // guarded by mu
  std::vector<std::exception_ptr> errors;          // guarded by mu
  std::optional<Future<void>> on_completed;        // guarded by mu
  const CallbackId id = CallbackId::make();

  TaskCore* parent_core() { return parent ? static_cast<TaskCore*>(parent.get()) : nullptr; }
};

namespace {

std::string repr_locked(const TaskGroupState& s) {
  std::string info;
  if (!s.tasks.empty()) info += " tasks=" + std::to_string(s.tasks.size());
  if (!s.errors.empty()) info += " errors=" + std::to_string(s.errors.size());
  if (s.aborting) {
    info += " cancelling";
  } else if (s.entered) {
    info += " entered";
  }
  return "<TaskGroup" + info + ">";
}

void abort_locked(TaskGroupState& s) {
  s.aborting = true;
  for (auto& [core, ref] : s.tasks) {
    if (!ref->done()) ref->cancel(std::string());
  }
}

// _on_task_done.
void on_task_done(const std::shared_ptr<TaskGroupState>& s, FutureCore& task) {
  std::optional<ExceptionContext> report;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    s->tasks.erase(&task);
    if (s->on_completed && s->tasks.empty()) s->on_completed->core()->try_finish([] {});
    if (task.cancelled()) return;
    std::exception_ptr exc = task.exception();
    if (!exc) return;
    s->errors.push_back(exc);
    TaskCore* parent = s->parent_core();
    if (!parent || parent->done()) {
      report = ExceptionContext{"Task " + task.describe() +
                                    " has errored out but its parent task " +
                                    (parent ? parent->repr() : std::string("None")) +
                                    " is already completed",
                                exc, task.describe(), &task.loop()};
    } else if (!s->aborting && !s->parent_cancel_requested) {
      // Cancel whatever the body is awaiting; exit withdraws this cancellation (uncancel).
      abort_locked(*s);
      s->parent_cancel_requested = true;
      parent->cancel(std::string());
    }
  }
  if (report) task.loop().scheduler().call_exception_handler(*report);
}

}  // namespace

Coro<void> task_group_exit(std::shared_ptr<TaskGroupState> s, std::exception_ptr error) {
  const bool body_cancelled = is_cancelled_error(error);
  std::exception_ptr propagate;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    s->exiting = true;
    if (body_cancelled) propagate = error;
    // The parent is being cancelled, or the body raised: the children go too.
    if (error && !s->aborting) abort_locked(*s);
  }
  // A loop: the parent may be cancelled again (or first) while it waits.
  for (;;) {
    std::optional<Future<void>> completed;
    {
      std::lock_guard<std::mutex> lock(s->mu);
      if (s->tasks.empty()) break;
      if (!s->on_completed) s->on_completed.emplace(get_running_loop());
      completed = s->on_completed;
    }
    std::exception_ptr cancelled;
    try {
      co_await *completed;
    } catch (const CancelledError&) {
      cancelled = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(s->mu);
    if (cancelled && !s->aborting) {
      // The parent is cancelled from outside while the children still run.
      propagate = cancelled;
      abort_locked(*s);
    }
    s->on_completed.reset();
  }

  std::vector<std::exception_ptr> errors;
  TaskRef parent_ref;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    TaskCore* parent = s->parent_core();
    if (s->parent_cancel_requested && parent->uncancel() == 0) {
      // The only cancellation pending was the group's own: do not propagate it.
      propagate = nullptr;
    }
    errors = std::move(s->errors);
    s->errors.clear();
    parent_ref = std::move(s->parent);
  }
  // Other errors take priority over CancelledError.
  if (propagate && errors.empty()) std::rethrow_exception(propagate);
  if (error && !body_cancelled) errors.push_back(error);
  if (!errors.empty()) {
    auto& parent = static_cast<TaskCore&>(*parent_ref);
    if (parent.cancelling() > 0) {
      // Cancelled from outside too: keep that request pending past the ExceptionGroup, with the
      // count unchanged.
      parent.uncancel();
      parent.cancel(std::string());
    }
    throw ExceptionGroup("unhandled errors in a TaskGroup", std::move(errors));
  }
}

}  // namespace internal

TaskGroup::TaskGroup() : s_(std::make_shared<internal::TaskGroupState>()) {}

TaskGroup::~TaskGroup() {
  // Normally empty by now. A group destroyed unfinished (its task abandoned at shutdown) lets go
  // of its children, whose callbacks may still come.
  std::unordered_map<internal::FutureCore*, internal::CoreRef> tasks;
  TaskRef parent;
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    tasks.swap(s_->tasks);
    parent = std::move(s_->parent);
    s_->exiting = true;
  }
}

std::string TaskGroup::repr() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return internal::repr_locked(*s_);
}

void TaskGroup::enter() {
  std::lock_guard<std::mutex> lock(s_->mu);
  if (s_->entered) {
    throw RuntimeError("TaskGroup " + internal::repr_locked(*s_) + " has already been entered");
  }
  Loop& loop = get_running_loop();
  internal::TaskCore* parent = internal::running_task();
  if (!parent) {
    throw RuntimeError("TaskGroup " + internal::repr_locked(*s_) +
                       " cannot determine the parent task");
  }
  s_->loop = &loop;
  s_->parent = TaskRef(static_cast<TaskBase*>(parent));
  s_->entered = true;
}

Loop& TaskGroup::prepare_create() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  if (!s_->entered) {
    throw RuntimeError("TaskGroup " + internal::repr_locked(*s_) + " has not been entered");
  }
  if (s_->exiting && s_->tasks.empty()) {
    throw RuntimeError("TaskGroup " + internal::repr_locked(*s_) + " is finished");
  }
  if (s_->aborting) {
    throw RuntimeError("TaskGroup " + internal::repr_locked(*s_) + " is shutting down");
  }
  Loop* here = get_running_loop_or_null();
  return here && &here->scheduler() == &s_->loop->scheduler() ? *here : *s_->loop;
}

void TaskGroup::adopt(internal::FutureCore& task) {
  std::unique_lock<std::mutex> lock(s_->mu);
  if (s_->exiting && s_->tasks.empty()) {
    // Finished between prepare_create() and now (a task outside the group raced the exit).
    lock.unlock();
    task.cancel(std::string());
    throw RuntimeError("TaskGroup " + repr() + " is finished");
  }
  s_->tasks.emplace(&task, internal::CoreRef(&task));
  // Always through the callback, even for a task already done (an eager one): handling its
  // error inside create_task would cancel the parent too early (CPython gh-128550).
  task.add_done_callback(
      [s = s_](internal::FutureCore& t) { internal::on_task_done(s, t); }, std::nullopt, s_->id);
  // The group may have started aborting since prepare_create() (a child failed on another
  // worker): the new task must not outlive the abort.
  if (s_->aborting && !task.done()) task.cancel(std::string());
}

}  // namespace v1
}  // namespace stealio
