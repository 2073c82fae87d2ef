// Event: asyncio.Event, a flag that tasks can wait for without blocking their workers.
//
// set() wakes every task waiting at that moment (even if clear() follows before they run);
// wait() returns at once while the flag is set. set(), clear() and is_set() are safe from any
// thread (an outside thread may set() to wake tasks); wait() must be awaited inside a task.
//
// Example:
//   stealio::Event ready;
//   stealio::Coro<void> consumer() {
//     co_await ready.wait();
//     use(data);
//   }
//   ...
//   data = load();
//   ready.set();   // from a task or any thread
#ifndef STEALIO_EVENT_H_
#define STEALIO_EVENT_H_

#include <string>

#include "oneapi/tbb/spin_mutex.h"
#include "stealio/coro.h"
#include "stealio/internal/wait_list.h"

namespace stealio {
inline namespace v1 {

// asyncio.Event.
class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  // `co_await event.wait()`: returns true once the flag is set (at once if it is).
  Coro<bool> wait();
  // Sets the flag and wakes every waiter.
  void set();
  // Resets the flag: wait() blocks again until the next set().
  void clear();
  bool is_set() const;

  // `<Event [set]>`, `<Event [unset, waiters:2]>`.
  std::string repr() const;

 private:
  mutable tbb::spin_mutex mu_;
  // Guarded by mu_.
  bool value_ = false;
  internal::WaitList waiters_;
};

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_EVENT_H_
