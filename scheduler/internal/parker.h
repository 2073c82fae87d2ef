// Parker: puts one worker thread to sleep until it is unparked or a deadline passes.
//
// States (Tokio's park protocol): kEmpty, kParked (the owner sleeps on cv_), kNotified (a token
// is pending). unpark() always leaves kNotified; if the owner was kParked it takes mu_ before
// signalling, so the signal cannot fall between the owner's state change and its wait. The owner
// consumes the token on the way out, so an unpark that comes before park() is never lost: park()
// then returns at once. Spurious returns are allowed; callers re-check their queues.
#ifndef STEALIO_INTERNAL_PARKER_H_
#define STEALIO_INTERNAL_PARKER_H_

#include <optional>

#include "scheduler/internal/mutex.h"
#include "absl/time/time.h"
#include "scheduler/internal/atomic.h"

namespace stealio {
inline namespace v1 {
namespace internal {

class Parker {
 public:
  // Owner only. Sleeps until unparked, or until `deadline` if given.
  void park(std::optional<absl::Time> deadline);
  // Any thread.
  void unpark();

 private:
  enum : int { kEmpty = 0, kParked = 1, kNotified = 2 };
  atomic<int> state_{kEmpty};
  Mutex mu_;
  CondVar cv_;
};

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_INTERNAL_PARKER_H_
