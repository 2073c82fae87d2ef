// Mutex, MutexLock, CondVar: the locks the runtime uses.
//
// They are Mutex / MutexLock / CondVar, except in ThreadSanitizer builds.
// Debian's libabsl is not built with TSan, so TSan does not see Mutex's lock and unlock
// and reports every guarded access as a race (checked: two threads incrementing a counter under
// MutexLock are reported). In TSan builds these names are a thin wrapper over std::mutex,
// whose pthread calls TSan intercepts. Same API subset, same thread-safety annotations.
#ifndef STEALIO_INTERNAL_MUTEX_H_
#define STEALIO_INTERNAL_MUTEX_H_

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "oneapi/tbb/spin_mutex.h"
#include "scheduler/internal/atomic.h"  // STEALIO_TSAN


#ifdef STEALIO_TSAN
#include <condition_variable>
#include <mutex>
#endif

namespace stealio {
inline namespace v1 {
namespace internal {

#ifndef STEALIO_TSAN
using Mutex = absl::Mutex;
using MutexLock = absl::MutexLock;
using CondVar = absl::CondVar;
#else
class ABSL_LOCKABLE Mutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { m_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { m_.unlock(); }
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) { return m_.try_lock(); }
  std::mutex& native() { return m_; }

 private:
  std::mutex m_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

class CondVar {
 public:
  void Wait(Mutex* mu) {
    std::unique_lock<std::mutex> lk(mu->native(), std::adopt_lock);
    cv_.wait(lk);
    lk.release();
  }
  // True on timeout, like CondVar.
  bool WaitWithDeadline(Mutex* mu, absl::Time deadline) {
    std::unique_lock<std::mutex> lk(mu->native(), std::adopt_lock);
    bool timed_out = cv_.wait_until(lk, absl::ToChronoTime(deadline)) == std::cv_status::timeout;
    lk.release();
    return timed_out;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};
#endif

// The backoff loop of a contended tbb::spin_mutex, kept out of line: inlined (as it was into
// Registry::add_new), its registers made the caller save and restore more on every call.
ABSL_ATTRIBUTE_NOINLINE inline void lock_contended(tbb::spin_mutex& mu) { mu.lock(); }

// SpinMutex: for short critical sections on hot paths (registry shards, context maps, the
// injection and pinned queues): one
// atomic exchange to lock and a plain store to unlock (tbb::spin_mutex, which backs off and then
// yields under contention). Why not absl::Mutex there: Debian's build runs absl's deadlock
// detector, so a lock/unlock pair costs about 140 instructions and destroying a mutex updates a
// global cycle graph; callgrind on fib(18) at one worker put those locks at 27% of the
// instructions per task. Use Mutex where a thread may wait long or needs a CondVar.
class ABSL_LOCKABLE SpinMutex {
 public:
  // Always inline, and only the uncontended exchange (try_lock) at the call site: left to the
  // compiler, tbb::spin_mutex::lock (which holds the backoff loop) stopped being inlined once a
  // few more call sites used it, which cost fib ~15 instructions per task (callgrind, fib(22)).
  // The backoff loop stays out of line (lock_contended).
  ABSL_ATTRIBUTE_ALWAYS_INLINE void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    if (ABSL_PREDICT_TRUE(m_.try_lock())) return;
    lock_contended(m_);
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() { m_.unlock(); }
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) { return m_.try_lock(); }

 private:
  tbb::spin_mutex m_;
};

// SpinGuard: holds a tbb::spin_mutex for its scope, as tbb::spin_mutex::scoped_lock does, with
// SpinMutex's split: the uncontended exchange inline, the backoff loop out of line. For the
// mutexes declared in public headers (a future's, a task's), which cannot name SpinMutex.
// tbb::spin_mutex::scoped_lock inlined its backoff loop into every caller (complete(), cancel(),
// add_task_waiter(), ...): callgrind, skynet(1e5) at one worker, 0.35% fewer instructions.
//
// Example:
//   SpinGuard lock(mu_);  // mu_: a tbb::spin_mutex
class SpinGuard {
 public:
  ABSL_ATTRIBUTE_ALWAYS_INLINE explicit SpinGuard(tbb::spin_mutex& mu) : mu_(mu) {
    if (ABSL_PREDICT_FALSE(!mu_.try_lock())) lock_contended(mu_);
  }
  ~SpinGuard() { mu_.unlock(); }
  SpinGuard(const SpinGuard&) = delete;
  SpinGuard& operator=(const SpinGuard&) = delete;

 private:
  tbb::spin_mutex& mu_;
};

class ABSL_SCOPED_LOCKABLE SpinLock {
 public:
  explicit SpinLock(SpinMutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~SpinLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

 private:
  SpinMutex* const mu_;
};

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_INTERNAL_MUTEX_H_
