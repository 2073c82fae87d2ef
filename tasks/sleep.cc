#include "stealio/sleep.h"

#include "stealio/future.h"
#include "stealio/loop.h"

namespace stealio {
inline namespace v1 {
namespace {
// Cancels the timer however the sleep ends (woken, cancelled), so it does not linger.
struct TimerGuard {
  TimerHandle handle;
  ~TimerGuard() { handle.cancel(); }
};
}  // namespace

Coro<void> sleep(absl::Duration delay) {
  if (delay <= absl::ZeroDuration()) {
    co_await yield();
    co_return;
  }
  Loop& loop = get_running_loop();
  Future<void> wake(loop);
  TimerGuard guard{loop.call_later(delay, [wake]() mutable {
    wake.core()->try_finish([] {});  // loses quietly to a cancel
  })};
  co_await wake;
}

}  // namespace v1
}  // namespace stealio
