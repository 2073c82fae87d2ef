// Barrier: asyncio.Barrier (3.11), a rendezvous of a fixed number of tasks.
//
// Each of `parties` tasks calls wait(); when the last one arrives all of them are released
// together, and each gets its arrival index, 0 .. parties-1. The barrier then drains (tasks
// calling wait() meanwhile block until the last released task has left it) and refills for the
// next round. abort() breaks it: waiting and later tasks get BrokenBarrierError. reset() wakes
// the waiting tasks with BrokenBarrierError and returns it to the empty state. A task cancelled in
// wait() leaves the count as if it had not arrived.
//
// As in asyncio, wait(), reset() and abort() take the barrier's internal lock, so they are
// awaited inside a task; parties(), n_waiting(), broken() and repr() are safe from any thread.
//
// Example:
//   stealio::Barrier barrier(3);
//   stealio::Coro<void> worker(int id) {
//     prepare(id);
//     int index = co_await barrier.wait();   // all three have prepared past this line
//     if (index == 0) announce();
//   }
#ifndef STEALIO_BARRIER_H_
#define STEALIO_BARRIER_H_

#include <atomic>
#include <string>

#include "stealio/condition.h"
#include "stealio/coro.h"

namespace stealio {
inline namespace v1 {

// asyncio.Barrier.
class Barrier {
 public:
  // Raises ValueError `parties must be >= 1` when parties < 1.
  explicit Barrier(int parties);
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  // `int index = co_await barrier.wait()`: waits until `parties` tasks wait, returns this task's
  // arrival index. Raises BrokenBarrierError `Barrier aborted` when the barrier is broken on
  // arrival, `Abort or reset of barrier` when it is aborted or reset while waiting.
  Coro<int> wait();
  // `co_await barrier.reset()`: tasks waiting get BrokenBarrierError; the barrier is then empty
  // (after the waiting tasks have left, if any).
  Coro<void> reset();
  // `co_await barrier.abort()`: breaks the barrier; current and future wait() raise.
  Coro<void> abort();

  // The number of tasks required to trip the barrier.
  int parties() const noexcept { return parties_; }
  // The number of tasks waiting while the barrier fills (0 while it drains or resets).
  int n_waiting() const noexcept;
  bool broken() const noexcept;

  // `<Barrier [filling, waiters:1/3]>`, `<Barrier [broken]>`.
  std::string repr() const;

 private:
  enum class State { kFilling, kDraining, kResetting, kBroken };

  Coro<void> block();
  void release_waiters();
  Coro<void> wait_released();
  void exit();

  Condition cond_;
  const int parties_;
  // Written with cond_'s lock held; atomic so the observers may read them from anywhere.
  std::atomic<State> state_{State::kFilling};
  std::atomic<int> count_{0};
};

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_BARRIER_H_
