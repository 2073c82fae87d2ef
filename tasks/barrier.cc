// asyncio.Barrier (CPython 3.13's locks.py), built like CPython's on a Condition. The state
// machine: filling -> (the last party arrives) draining -> (the last party leaves) filling;
// reset() -> resetting (while parties are inside) -> filling; abort() -> broken.
#include "stealio/barrier.h"

#include <exception>

#include "stealio/errors.h"

namespace stealio {
inline namespace v1 {
namespace {
constexpr auto kRelaxed = std::memory_order_relaxed;
}  // namespace

Barrier::Barrier(int parties) : parties_(parties) {
  if (parties < 1) throw ValueError("parties must be >= 1");
}

Coro<int> Barrier::wait() {
  Guard<Lock> guard = co_await cond_.scoped();
  co_await block();  // while the barrier drains or resets
  int index = count_.load(kRelaxed);
  count_.store(index + 1, kRelaxed);
  std::exception_ptr error;
  try {
    if (index + 1 == parties_) {
      release_waiters();
    } else {
      co_await wait_released();
    }
  } catch (...) {
    error = std::current_exception();
  }
  count_.store(count_.load(kRelaxed) - 1, kRelaxed);
  exit();
  if (error) std::rethrow_exception(error);
  co_return index;
}

Coro<void> Barrier::block() {
  co_await cond_.wait_for([this] {
    State s = state_.load(kRelaxed);
    return s != State::kDraining && s != State::kResetting;
  });
  if (state_.load(kRelaxed) == State::kBroken) throw BrokenBarrierError("Barrier aborted");
}

void Barrier::release_waiters() {
  state_.store(State::kDraining, kRelaxed);
  cond_.notify_all();
}

Coro<void> Barrier::wait_released() {
  co_await cond_.wait_for([this] { return state_.load(kRelaxed) != State::kFilling; });
  State s = state_.load(kRelaxed);
  if (s == State::kBroken || s == State::kResetting) {
    throw BrokenBarrierError("Abort or reset of barrier");
  }
}

void Barrier::exit() {
  // The last party to leave lets the tasks blocked by draining or resetting in.
  if (count_.load(kRelaxed) == 0) {
    State s = state_.load(kRelaxed);
    if (s == State::kResetting || s == State::kDraining) state_.store(State::kFilling, kRelaxed);
    cond_.notify_all();
  }
}

Coro<void> Barrier::reset() {
  Guard<Lock> guard = co_await cond_.scoped();
  if (count_.load(kRelaxed) > 0) {
    state_.store(State::kResetting, kRelaxed);
  } else {
    state_.store(State::kFilling, kRelaxed);
  }
  cond_.notify_all();
}

Coro<void> Barrier::abort() {
  Guard<Lock> guard = co_await cond_.scoped();
  state_.store(State::kBroken, kRelaxed);
  cond_.notify_all();
}

int Barrier::n_waiting() const noexcept {
  return state_.load(kRelaxed) == State::kFilling ? count_.load(kRelaxed) : 0;
}

bool Barrier::broken() const noexcept { return state_.load(kRelaxed) == State::kBroken; }

std::string Barrier::repr() const {
  static constexpr const char* kNames[] = {"filling", "draining", "resetting", "broken"};
  State s = state_.load(kRelaxed);
  std::string extra = kNames[static_cast<int>(s)];
  if (s != State::kBroken) {
    extra += ", waiters:" + std::to_string(n_waiting()) + "/" + std::to_string(parties_);
  }
  return "<Barrier [" + extra + "]>";
}

}  // namespace v1
}  // namespace stealio
