#include "stealio/loop.h"

#include "scheduler/internal/scheduler_core.h"
#include "scheduler/internal/timer.h"
#include "scheduler/internal/worker.h"
#include "stealio/errors.h"

namespace stealio {
inline namespace v1 {

void TimerHandle::cancel() const noexcept {
  if (s_) s_->cancel();
}

bool TimerHandle::cancelled() const noexcept { return s_ && s_->is_cancelled(); }

TimePoint TimerHandle::when() const noexcept { return s_ ? s_->when : TimePoint(); }

bool Loop::is_running_here() const noexcept { return internal::current_worker() == worker_; }

bool Loop::is_closed() const noexcept { return worker_->core().closed(); }

void Loop::call_soon(Callback fn) {
  if (is_closed()) throw RuntimeError("Event loop is closed");
  if (!is_running_here()) {
    throw RuntimeError(
        "Non-thread-safe operation invoked on an event loop other than the current one");
  }
  worker_->call_soon(std::move(fn));
}

void Loop::call_soon_threadsafe(Callback fn) {
  if (is_closed()) throw RuntimeError("Event loop is closed");
  worker_->call_soon_threadsafe(std::move(fn));
}

TimerHandle Loop::call_later(absl::Duration delay, Callback fn) {
  return call_at(time() + absl::ToChronoNanoseconds(delay), std::move(fn));
}

TimerHandle Loop::call_at(TimePoint when, Callback fn) {
  if (is_closed()) throw RuntimeError("Event loop is closed");
  auto state = std::make_shared<internal::TimerState>(when, std::move(fn));
  if (is_running_here()) {
    worker_->add_timer(state);
  } else {
    worker_->call_soon_threadsafe([w = worker_, state] { w->add_timer(state); });
  }
  return TimerHandle(std::move(state));
}

LoopStats Loop::stats() const noexcept { return worker_->stats(); }

Loop* get_running_loop_or_null() noexcept {
  internal::Worker* w = internal::current_worker();
  return w ? &w->loop() : nullptr;
}

Loop& get_running_loop() {
  Loop* loop = get_running_loop_or_null();
  if (!loop) throw RuntimeError("no running event loop");
  return *loop;
}

}  // namespace v1
}  // namespace stealio
