// sleep(): asyncio.sleep. `co_await sleep(d)` suspends the task for `d` (a timer on the running
// loop; the task may resume on another worker); `co_await sleep(absl::ZeroDuration())` yields to
// the other ready work, which is also what `co_await yield()` does.
//
// Example:
//   stealio::Coro<void> ticker() {
//     for (int i = 0; i < 3; ++i) co_await stealio::sleep(absl::Milliseconds(10));
//   }
#ifndef STEALIO_SLEEP_H_
#define STEALIO_SLEEP_H_

#include "absl/time/time.h"
#include "stealio/coro.h"
#include "stealio/internal/await.h"

namespace stealio {
inline namespace v1 {

// Lets the other ready work run, then resumes (still stealable, so the task may migrate).
inline internal::YieldAwaiter yield() noexcept { return {}; }

// Suspends the current task for `delay`. Cancelling the task wakes it with CancelledError.
Coro<void> sleep(absl::Duration delay);

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_SLEEP_H_
