#include "stealio/internal/await.h"

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

}  // namespace

void suspend_current_task_on(FutureCore& f, std::coroutine_handle<> h) {
  TaskCore& t = require_running_task();
  if (&f == static_cast<FutureCore*>(&t)) {
    throw RuntimeError("Task cannot await on itself: " + t.repr());
  }
  if (&f.loop().scheduler() != &t.get_loop()->scheduler()) {
    throw RuntimeError("Task " + t.repr() + " got Future " + f.describe() +
                       " attached to a different loop");
  }
  t.suspend_on(f, h);
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
