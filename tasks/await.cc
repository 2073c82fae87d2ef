#include "stealio/internal/await.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "scheduler/internal/worker.h"
#include "stealio/errors.h"
#include "stealio/internal/task_core.h"
#include "stealio/scheduler.h"

namespace stealio {
inline namespace v1 {
namespace internal {
namespace {

TaskCore& require_running_task() {
  TaskCore* t = running_task();
  if (!t) throw RuntimeError("co_await on a stealio future outside a stealio task");
  return *t;
}

// Shared between a blocked thread and the completer that wakes it.
struct Blocker {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
};

std::shared_ptr<Blocker> arm_blocker(FutureCore& f) {
  if (current_worker()) {
    throw RuntimeError(
        "Cannot block a worker thread waiting for a future (it could deadlock the loop); "
        "co_await it instead");
  }
  auto b = std::make_shared<Blocker>();
  f.add_inline_notifier([b] {
    std::lock_guard<std::mutex> lock(b->mu);
    b->done = true;
    b->cv.notify_all();
  });
  return b;
}

// Inline join: a task awaiting a child task whose step still sits in this worker's queue runs
// it itself, nested, instead of suspending, queueing a wake-up and paying a step of its own to
// resume. When the child is not the last step pushed but one of the last kHelpWindow (a parent
// that created several children and awaits the first), the steps above it run first, nested,
// newest first: what the worker would run next anyway once the parent suspended (oneTBB's
// task_group::wait also runs the group's tasks). Callgrind on skynet (10 children per task, one
// worker) counted 1507 instructions per task with the bottom step only, 1445 with the window.
//
// Bounds: nesting depth (kMaxInlineDepth), so that a long chain of tasks awaiting children
// cannot overflow the stack; and nested steps per step of the loop (Worker::kMaxNestedSteps),
// so that the loop's callbacks, timers and injection queue wait a bounded time.
constexpr int kMaxInlineDepth = 64;
constexpr int kHelpWindow = 32;
thread_local int tls_inline_depth = 0;

// The queue's reference to `child`, whose step the join took back and ran, passes to the handle
// being awaited (`handle`: its bits), which drops both at once later: for a finished task, with
// no read-modify-write when they are the last (TaskBase::release_many). Released here, as one
// reference, when there is no handle or it holds a second reference already.
void hand_over_queue_reference(TaskRef queued, std::uintptr_t* handle) noexcept {
  if (!handle) return;
  std::atomic_ref<std::uintptr_t> bits(*handle);  // other threads may read the handle meanwhile
  const std::uintptr_t b = bits.load(std::memory_order_relaxed);
  if (b & kJoinedReference) return;
  bits.store(b | kJoinedReference, std::memory_order_relaxed);
  queued.leak();
}

bool try_join_inline(FutureCore& f, std::uintptr_t* handle) {
  if (!f.is_task() || tls_inline_depth >= kMaxInlineDepth) return false;
  auto& child = static_cast<TaskCore&>(f);
  Worker* w = current_worker();
  if (!w || child.get_loop() != &w->loop()) return false;
  struct Depth {
    Depth() { ++tls_inline_depth; }
    ~Depth() { --tls_inline_depth; }
  } depth;
  std::int64_t at = -1;  // the child step's index in the deque, once found
  while (!child.done()) {
    TaskBase* next = nullptr;
    if (w->take_back(&child)) {
      next = &child;
    } else if (w->holds_near_bottom(&child, kHelpWindow, at)) {
      next = w->take_bottom();
      if (!next) return false;  // a thief emptied the queue
    } else {
      return false;  // stolen, or out of reach: suspend
    }
    TaskRef queued = TaskRef::adopt(next);  // the reference the queue held
    if (!w->may_nest() || !next->step_nested(w->loop())) {
      w->push_local(queued.leak());
      return false;
    }
    w->count_nested_step();
    if (next == &child) {
      hand_over_queue_reference(std::move(queued), handle);
      return child.done();
    }
  }
  return true;
}

}  // namespace

bool suspend_current_task_on(FutureCore& f, std::coroutine_handle<> h, std::uintptr_t* handle) {
  TaskCore& t = require_running_task();
  if (&f == static_cast<FutureCore*>(&t)) {
    throw RuntimeError("Task cannot await on itself: " + t.repr());
  }
  // A child the join can take back is on this worker's loop, so of the same scheduler: the
  // check below is for the futures it cannot.
  if (try_join_inline(f, handle)) return false;
  if (&f.loop().scheduler() != &t.get_loop()->scheduler()) {
    throw RuntimeError("Task " + t.repr() + " got Future " + f.describe() +
                       " attached to a different loop");
  }
  t.suspend_on(f, h);
  return true;
}

void suspend_current_task_yield(std::coroutine_handle<> h) {
  require_running_task().suspend_yield(h);
}

void rethrow_resume_exception() {
  if (TaskCore* t = running_task()) {
    if (std::exception_ptr e = t->take_resume_exception()) std::rethrow_exception(e);
  }
}

void block_until_done(FutureCore& f) {
  std::shared_ptr<Blocker> b = arm_blocker(f);
  std::unique_lock<std::mutex> lock(b->mu);
  b->cv.wait(lock, [&] { return b->done; });
}

bool block_until_done_for(FutureCore& f, absl::Duration timeout) {
  std::shared_ptr<Blocker> b = arm_blocker(f);
  std::unique_lock<std::mutex> lock(b->mu);
  return b->cv.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return b->done; });
}

Loop& loop_for_spawn(Scheduler& sched) noexcept {
  // Spread tasks spawned from outside over the loops; a thread-local cursor shares no line.
  thread_local unsigned cursor = 0;
  return sched.loop(static_cast<int>(cursor++ % static_cast<unsigned>(sched.workers())));
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio
