// Timeout scopes (asyncio/timeouts.py) for tasks that migrate between workers.
//
// Protocol. A TimeoutState is shared by the Timeout (strong) and its armed timer (weak). Phases:
// created -> active (enter) -> expiring (the timer fired and cancelled the task) -> expired
// (exit), or active -> finished (exit before the deadline). Everything is under `mu`, because the
// timer runs on the loop that armed it while the task runs anywhere, and reschedule() may come
// from any thread:
//   - enter records the task and its cancelling() count (less a request not delivered yet:
//     CPython gh-134471), arms the timer;
//   - the timer callback acts only while the phase is active and the timer is the latest one
//     armed (`generation`): a rescheduled or finished scope ignores a late firing whose
//     TimerHandle::cancel came too late. It calls the task's cancel() with mu held, so that exit
//     either sees `expiring` with the cancel counted, or `active` and no cancel at all;
//   - exit cancels the timer; in `expiring` it calls uncancel() and turns a CancelledError into
//     TimeoutError when the count fell back to the one seen on entry (no other cancellation
//     pending), exactly as timeouts.py's __aexit__. If the scope's request was never delivered
//     (the timer fired on another worker during the step that exits), exit withdraws it too
//     (uncancel_for_scope): on asyncio's one thread that cannot happen.
// Lock order: mu, then the task's lock (cancel/uncancel), then the awaited future's.
#include "stealio/timeouts.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <type_traits>

#include "stealio/internal/task_core.h"

namespace stealio {
inline namespace v1 {
namespace internal {

struct TimeoutState {
  enum class Phase { kCreated, kActive, kExpiring, kExpired, kFinished };

  std::mutex mu;
  Phase phase = Phase::kCreated;                 // guarded by mu
  std::optional<TimePoint> when;                 // guarded by mu
  TimerHandle handle;                            // guarded by mu
  std::uint64_t generation = 0;                  // guarded by mu: bumps at each arming
  TaskRef task;                                  // guarded by mu: set while active/expiring
  int cancelling = 0;                            // task's delivered cancellings on entry
  TaskCore::CancelTicket ticket;                 // guarded by mu: the scope's own request

  TaskCore& task_core() { return static_cast<TaskCore&>(*task); }
};

namespace {

const char* phase_name(TimeoutState::Phase p) {
  switch (p) {
    case TimeoutState::Phase::kCreated:
      return "created";
    case TimeoutState::Phase::kActive:
      return "active";
    case TimeoutState::Phase::kExpiring:
      return "expiring";
    case TimeoutState::Phase::kExpired:
      return "expired";
    case TimeoutState::Phase::kFinished:
      break;
  }
  return "finished";
}

void on_timeout(TimeoutState& s, std::uint64_t generation) {
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.phase != TimeoutState::Phase::kActive || generation != s.generation) return;
  s.task_core().cancel_for_scope(s.ticket);
  s.phase = TimeoutState::Phase::kExpiring;
  s.handle = TimerHandle();
}

// Arms the timer for s.when (or none). With s.mu held, phase active.
void arm_locked(const std::shared_ptr<TimeoutState>& s) {
  s->handle.cancel();
  s->handle = TimerHandle();
  std::uint64_t generation = ++s->generation;
  if (!s->when) return;
  // The calling worker's loop when it belongs to the task's scheduler (the usual case: the body
  // reschedules itself), else the loop the task last ran on.
  Loop* loop = get_running_loop_or_null();
  Loop* task_loop = s->task->get_loop();
  if (!loop || &loop->scheduler() != &task_loop->scheduler()) loop = task_loop;
  std::weak_ptr<TimeoutState> weak = s;
  s->handle = loop->call_at(*s->when, [weak = std::move(weak), generation] {
    if (std::shared_ptr<TimeoutState> state = weak.lock()) on_timeout(*state, generation);
  });
}

}  // namespace

std::optional<TimePoint> deadline_after(absl::Duration delay) noexcept {
  if (delay == absl::InfiniteDuration()) return std::nullopt;
  // In absl::Duration, whose range (+-2^63 s) holds any TimePoint plus any finite delay: the
  // sum cannot overflow, then it is clamped to TimePoint's range (`now - TimePoint::min()`, the
  // first version, overflowed).
  using Ns = std::chrono::nanoseconds;
  static_assert(std::is_same_v<Clock::duration, Ns>, "the clock counts nanoseconds");
  const absl::Duration target = absl::FromChrono(Clock::now().time_since_epoch()) + delay;
  if (target >= absl::FromChrono(TimePoint::max().time_since_epoch())) return TimePoint::max();
  if (target <= absl::FromChrono(TimePoint::min().time_since_epoch())) return TimePoint::min();
  return TimePoint(Ns(absl::ToInt64Nanoseconds(target)));
}

bool is_cancelled_error(const std::exception_ptr& e) noexcept {
  if (!e) return false;
  try {
    std::rethrow_exception(e);
  } catch (const CancelledError&) {
    return true;
  } catch (...) {
  }
  return false;
}

Coro<void> cancel_and_wait(FutureCore& future) {
  // asyncio's _cancel_and_wait: the waiter, not the future, is what this task awaits, so a
  // cancellation of this task leaves `future` to finish its own cancellation.
  Future<void> waiter(get_running_loop());
  CallbackId id = future.add_done_callback(
      [waiter](FutureCore&) mutable { waiter.core()->try_finish([] {}); }, std::nullopt,
      CallbackId());
  struct Remove {
    FutureCore& f;
    CallbackId id;
    ~Remove() { f.remove_done_callback(id); }
  };
  Remove remove{future, id};
  future.cancel(std::string());
  co_await waiter;
}

}  // namespace internal

Timeout::Timeout(std::optional<TimePoint> when) : s_(std::make_shared<internal::TimeoutState>()) {
  s_->when = when;
}

Timeout::Timeout(absl::Duration delay) : Timeout(internal::deadline_after(delay)) {}

Timeout::~Timeout() {
  TaskRef task;
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->handle.cancel();
    s_->handle = TimerHandle();
    task = std::move(s_->task);
  }
}

std::optional<TimePoint> Timeout::when() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->when;
}

bool Timeout::expired() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->phase == internal::TimeoutState::Phase::kExpiring ||
         s_->phase == internal::TimeoutState::Phase::kExpired;
}

void Timeout::reschedule(std::optional<TimePoint> when) {
  using Phase = internal::TimeoutState::Phase;
  std::lock_guard<std::mutex> lock(s_->mu);
  if (s_->phase != Phase::kActive) {
    if (s_->phase == Phase::kCreated) throw RuntimeError("Timeout has not been entered");
    throw RuntimeError(std::string("Cannot change state of ") + internal::phase_name(s_->phase) +
                       " Timeout");
  }
  s_->when = when;
  internal::arm_locked(s_);
}

std::string Timeout::repr() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  std::string out = std::string("<Timeout [") + internal::phase_name(s_->phase) + "]";
  if (s_->phase == internal::TimeoutState::Phase::kActive) {
    if (s_->when) {
      double secs = std::chrono::duration<double>(s_->when->time_since_epoch()).count();
      char buf[64];
      std::snprintf(buf, sizeof buf, " when=%.3f", std::round(secs * 1000) / 1000);
      out += buf;
    } else {
      out += " when=None";
    }
  }
  return out + ">";
}

void Timeout::enter() {
  using Phase = internal::TimeoutState::Phase;
  std::lock_guard<std::mutex> lock(s_->mu);
  if (s_->phase != Phase::kCreated) throw RuntimeError("Timeout has already been entered");
  internal::TaskCore* task = internal::running_task();
  if (!task) throw RuntimeError("Timeout should be used inside a task");
  s_->task = TaskRef(static_cast<TaskBase*>(task));
  // Not a request still pending (made during this step): it is delivered inside the scope, and
  // the exit must not take it for the scope's own when the scope expires too.
  s_->cancelling = task->cancelling_delivered();
  s_->phase = Phase::kActive;
  try {
    internal::arm_locked(s_);
  } catch (...) {
    s_->phase = Phase::kCreated;
    s_->task = TaskRef();
    throw;
  }
}

void Timeout::exit(std::exception_ptr& error) noexcept {
  using Phase = internal::TimeoutState::Phase;
  TaskRef task;
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->handle.cancel();
    s_->handle = TimerHandle();
    if (s_->phase == Phase::kExpiring) {
      s_->phase = Phase::kExpired;
      // uncancel_for_scope: also withdraws the scope's request if it is still pending (the
      // timer fired on another worker during the step that now leaves the scope).
      if (s_->task_core().uncancel_for_scope(s_->ticket) <= s_->cancelling &&
          internal::is_cancelled_error(error)) {
        // Only this scope's cancellation is pending: it is ours to turn into TimeoutError.
        error = std::make_exception_ptr(TimeoutError());
      }
    } else if (s_->phase == Phase::kActive) {
      s_->phase = Phase::kFinished;
    }
    task = std::move(s_->task);
  }
}

}  // namespace v1
}  // namespace stealio
