// wait() and as_completed() over futures that finish on any worker.
//
// wait (asyncio's _wait): one waiter future, an atomic countdown, and a done callback per future
// (on that future's loop). A callback that finds the return_when condition met, or the timeout
// timer (on the waiting task's loop), completes the waiter; the first completion wins, the others
// lose quietly. However the wait ends (condition, timeout, cancellation of the waiting task), the
// timer is cancelled and the callbacks removed; a callback already queued only touches the
// shared state it holds.
//
// as_completed (asyncio's _AsCompletedIterator): under mu, `pending` marks the futures not yet
// finished and `done` queues indexes in completion order, with a sentinel (nullopt) per future
// still pending when the timeout passes; next() takes from `done` or parks a waiter future there.
// The callbacks hold the state; the state holds the futures until close() (the iterator's
// destructor) removes the callbacks, so an iterator dropped early leaves no cycle behind.
#include "stealio/wait.h"

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>

namespace stealio {
inline namespace v1 {
namespace internal {
namespace {

struct WaitState {
  explicit WaitState(Loop& loop, std::size_t n, ReturnWhen rw)
      : waiter(loop), counter(n), return_when(rw) {}
  Future<void> waiter;
  std::atomic<std::size_t> counter;
  const ReturnWhen return_when;
};

void release(Future<void>& waiter) { waiter.core()->try_finish([] {}); }

}  // namespace

Coro<void> wait_cores(std::vector<FutureCore*> fs, absl::Duration timeout, ReturnWhen return_when) {
  Loop& loop = get_running_loop();
  auto st = std::make_shared<WaitState>(loop, fs.size(), return_when);
  TimerHandle timer;
  if (timeout != absl::InfiniteDuration()) {
    timer = loop.call_later(std::max(timeout, absl::ZeroDuration()),
                            [waiter = st->waiter]() mutable { release(waiter); });
  }
  std::vector<CoreRef> refs;
  refs.reserve(fs.size());
  struct Cleanup {
    TimerHandle& timer;
    std::vector<CoreRef>& refs;
    CallbackId id;
    ~Cleanup() {
      timer.cancel();
      for (CoreRef& f : refs) f->remove_done_callback(id);
    }
  };
  Cleanup cleanup{timer, refs, CallbackId::make()};
  for (FutureCore* f : fs) {
    refs.emplace_back(f);
    f->add_done_callback(
        [st](FutureCore& done) {
          std::size_t left = st->counter.fetch_sub(1, std::memory_order_acq_rel) - 1;
          if (left == 0 || st->return_when == ReturnWhen::kFirstCompleted ||
              (st->return_when == ReturnWhen::kFirstException && !done.cancelled() &&
               done.exception())) {
            release(st->waiter);
          }
        },
        std::nullopt, cleanup.id);
  }
  co_await st->waiter;
}

class AsCompletedState : public std::enable_shared_from_this<AsCompletedState> {
 public:
  explicit AsCompletedState(Loop& loop) : loop_(loop) {}

  void start(std::vector<FutureCore*> fs, absl::Duration timeout) {
    std::lock_guard<std::mutex> lock(mu_);
    todo_left_ = fs.size();
    pending_.assign(fs.size(), true);
    pending_count_ = fs.size();
    for (std::size_t i = 0; i < fs.size(); ++i) {
      futures_.emplace_back(fs[i]);
      fs[i]->add_done_callback(
          [self = shared_from_this(), i](FutureCore&) { self->on_done(i); }, std::nullopt, id_);
    }
    if (!fs.empty() && timeout != absl::InfiniteDuration()) {
      std::weak_ptr<AsCompletedState> weak = weak_from_this();
      timer_ = loop_.call_later(std::max(timeout, absl::ZeroDuration()), [weak] {
        if (auto self = weak.lock()) self->on_timeout();
      });
    }
  }

  bool has_next() const noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    return todo_left_ > 0;
  }

  // Takes the next index, or parks `waiter` (empty result) when nothing finished yet.
  std::optional<std::optional<std::size_t>> take_or_park(Future<void>& waiter) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!done_.empty()) {
      std::optional<std::size_t> i = done_.front();
      done_.pop_front();
      return i;
    }
    waiters_.push_back(waiter);
    return std::nullopt;
  }

  // Claims one of the remaining results; false when all were claimed.
  bool claim() {
    std::lock_guard<std::mutex> lock(mu_);
    if (todo_left_ == 0) return false;
    --todo_left_;
    return true;
  }

  Loop& loop() const noexcept { return loop_; }

  void close() noexcept {
    std::vector<CoreRef> futures;
    std::vector<Future<void>> waiters;
    {
      std::lock_guard<std::mutex> lock(mu_);
      timer_.cancel();
      futures.swap(futures_);
    }
    for (CoreRef& f : futures) f->remove_done_callback(id_);
  }

 private:
  void on_done(std::size_t i) {
    std::vector<Future<void>> wake;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (pending_count_ == 0 || !pending_[i]) return;  // the timeout came first
      pending_[i] = false;
      --pending_count_;
      done_.push_back(i);
      if (pending_count_ == 0) timer_.cancel();
      wake.swap(waiters_);
    }
    for (Future<void>& w : wake) w.core()->try_finish([] {});
  }

  void on_timeout() {
    std::vector<CoreRef> unhook;
    std::vector<Future<void>> wake;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (std::size_t i = 0; i < pending_.size(); ++i) {
        if (!pending_[i]) continue;
        pending_[i] = false;
        done_.push_back(std::nullopt);
        if (i < futures_.size()) unhook.push_back(futures_[i]);
      }
      pending_count_ = 0;
      wake.swap(waiters_);
    }
    for (CoreRef& f : unhook) f->remove_done_callback(id_);
    for (Future<void>& w : wake) w.core()->try_finish([] {});
  }

  Loop& loop_;
  const CallbackId id_ = CallbackId::make();
  mutable std::mutex mu_;
  std::vector<CoreRef> futures_;                   // guarded by mu_; cleared by close()
  std::vector<bool> pending_;                      // guarded by mu_
  std::size_t pending_count_ = 0;                  // guarded by mu_
  std::deque<std::optional<std::size_t>> done_;    // guarded by mu_; nullopt: timed out
  std::vector<Future<void>> waiters_;              // guarded by mu_
  std::size_t todo_left_ = 0;                      // guarded by mu_: results not yet claimed
  TimerHandle timer_;                              // guarded by mu_
};

std::shared_ptr<AsCompletedState> make_as_completed(std::vector<FutureCore*> fs,
                                                    absl::Duration timeout) {
  auto s = std::make_shared<AsCompletedState>(get_running_loop());
  s->start(std::move(fs), timeout);
  return s;
}

bool as_completed_has_next(const AsCompletedState& s) noexcept { return s.has_next(); }

void as_completed_close(AsCompletedState& s) noexcept { s.close(); }

Coro<std::size_t> as_completed_next(std::shared_ptr<AsCompletedState> s) {
  if (!s->claim()) throw RuntimeError("as_completed: every future has been returned");
  for (;;) {
    Future<void> waiter(get_running_loop());
    if (std::optional<std::optional<std::size_t>> got = s->take_or_park(waiter)) {
      if (!*got) throw TimeoutError();
      co_return **got;
    }
    co_await waiter;
  }
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio
