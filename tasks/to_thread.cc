// The blocking pool behind to_thread(): one per Scheduler, bounded, joined or abandoned at the
// scheduler's shutdown.
//
// Registry: a process-wide map from Scheduler to its pool, under g_mu. The first use makes the
// pool and registers a shutdown hook in the same critical section; the hook removes the entry, so
// a later scheduler at the same address starts afresh.
//
// Pool protocol, all under mu_:
//   queue_    calls not started; running_ calls whose fn runs (or whose result is being
//             delivered: `delivering`);
//   threads   start on demand (no idle thread for the queued calls, fewer than max) and wait on
//             work_cv_ for calls until the pool is shut down and the queue is empty.
// A pool thread runs the call's fn without the lock, then, unless the call was abandoned,
// delivers the result (completes the future: this wakes the awaiting task through the
// scheduler) and only then removes it from running_ and signals idle_cv_.
//
// Shutdown (the hook, on the thread calling Scheduler::shutdown, workers still running): refuse
// new calls, wait on idle_cv_ until queue_ and running_ are empty or the timeout passes. At the
// timeout, take the futures of the queued and of the running-not-delivering calls (marking the
// latter abandoned), wait for the deliveries in progress (short: they only complete a future),
// then cancel the taken futures and detach the threads. After the hook returns no pool thread
// touches the scheduler again: an abandoned call's thread only destroys the call (the future was
// taken) and then exits. Threads hold the pool by shared_ptr, so it outlives them.
#include "stealio/to_thread.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace stealio {
inline namespace v1 {
namespace internal {
namespace {

int default_max_threads() {
  unsigned hw = std::thread::hardware_concurrency();
  return static_cast<int>(std::min<unsigned>(32, (hw ? hw : 1) + 4));
}

class BlockingPool : public std::enable_shared_from_this<BlockingPool> {
 public:
  explicit BlockingPool(Scheduler& sched) : sched_(sched) {}

  void set_options(const ToThreadOptions& o) {
    std::lock_guard<std::mutex> lock(mu_);
    max_threads_ = static_cast<std::size_t>(o.max_threads > 0 ? o.max_threads
                                                              : default_max_threads());
    shutdown_timeout_ = o.shutdown_timeout;
    work_cv_.notify_all();  // idle threads beyond a lower bound leave
  }
  ToThreadOptions options() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ToThreadOptions{static_cast<int>(max_threads_), shutdown_timeout_};
  }

  void submit(std::unique_ptr<BlockingCall> call) {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutdown_) throw RuntimeError("Executor shutdown has been called");
    queue_.push_back(Entry{std::move(call)});
    work_cv_.notify_one();
    // Python's _adjust_thread_count: a new thread only when no idle one is left for the call.
    if (idle_ >= queue_.size() || threads_ >= max_threads_) return;
    try {
      threads_list_.emplace_back([self = shared_from_this()] { self->thread_main(); });
      ++threads_;
    } catch (const std::system_error&) {
      if (threads_ > 0) return;  // the threads there are will take it
      queue_.pop_back();
      throw RuntimeError("can't start new thread");
    }
  }

  // The scheduler's shutdown hook.
  void shutdown() {
    std::vector<std::thread> threads;
    std::vector<CoreRef> abandoned;
    std::deque<Entry> dropped;
    bool timed_out = false;
    absl::Duration timeout;
    {
      std::unique_lock<std::mutex> lock(mu_);
      shutdown_ = true;
      timeout = shutdown_timeout_;
      work_cv_.notify_all();
      auto drained = [&] { return queue_.empty() && running_.empty(); };
      if (timeout == absl::InfiniteDuration()) {
        idle_cv_.wait(lock, drained);
      } else {
        timed_out = !idle_cv_.wait_for(
            lock, absl::ToChronoNanoseconds(std::max(timeout, absl::ZeroDuration())), drained);
      }
      if (timed_out) {
        for (Entry& e : queue_) abandoned.push_back(e.call->take_future());
        dropped.swap(queue_);  // never run; destroyed below, without the lock
        for (Entry* e : running_) {
          if (!e->delivering) {
            e->abandoned = true;
            abandoned.push_back(e->call->take_future());
          }
        }
        // Deliveries in progress complete futures of this scheduler: let them end first.
        idle_cv_.wait(lock, [&] {
          return std::none_of(running_.begin(), running_.end(),
                              [](const Entry* e) { return e->delivering; });
        });
      }
      threads.swap(threads_list_);
    }
    for (CoreRef& f : abandoned) {
      if (f) f->cancel("to_thread: the scheduler shut down before the blocking call returned");
    }
    abandoned.clear();
    dropped.clear();
    if (timed_out) {
      for (std::thread& t : threads) t.detach();
      sched_.call_exception_handler(
          {"The executor did not finishing joining its threads within " +
               absl::FormatDuration(timeout) + ".",
           nullptr, std::string(), nullptr});
    } else {
      for (std::thread& t : threads) t.join();
    }
  }

 private:
  struct Entry {
    std::unique_ptr<BlockingCall> call;
    bool delivering = false;
    bool abandoned = false;
  };

  void thread_main() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      ++idle_;
      work_cv_.wait(lock, [&] { return !queue_.empty() || shutdown_ || threads_ > max_threads_; });
      --idle_;
      if (queue_.empty()) {
        if (shutdown_ || threads_ > max_threads_) {
          --threads_;  // now, so that the other idle threads see the new count
          return;
        }
        continue;
      }
      Entry entry = std::move(queue_.front());
      queue_.pop_front();
      running_.push_back(&entry);
      lock.unlock();
      entry.call->run();
      lock.lock();
      if (!entry.abandoned) {
        entry.delivering = true;
        lock.unlock();
        entry.call->deliver();
        lock.lock();
      }
      running_.erase(std::find(running_.begin(), running_.end(), &entry));
      idle_cv_.notify_all();
      lock.unlock();
      entry.call.reset();  // the callable and its captures go without the lock
      lock.lock();
    }
  }

  Scheduler& sched_;  // used by shutdown() only, while the scheduler is alive
  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable idle_cv_;
  std::deque<Entry> queue_;                 // guarded by mu_
  std::vector<Entry*> running_;             // guarded by mu_: entries live on their threads
  std::vector<std::thread> threads_list_;   // guarded by mu_
  std::size_t threads_ = 0;                 // guarded by mu_: threads not yet exited
  std::size_t idle_ = 0;                    // guarded by mu_: threads waiting for work
  std::size_t max_threads_ = static_cast<std::size_t>(default_max_threads());  // guarded by mu_
  absl::Duration shutdown_timeout_ = absl::Seconds(300);                       // guarded by mu_
  bool shutdown_ = false;                                                      // guarded by mu_
};

std::mutex g_mu;
std::unordered_map<const Scheduler*, std::shared_ptr<BlockingPool>>& pools() {
  static auto* map = new std::unordered_map<const Scheduler*, std::shared_ptr<BlockingPool>>();
  return *map;
}

std::shared_ptr<BlockingPool> pool_of(Scheduler& sched) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = pools().find(&sched);
  if (it != pools().end()) return it->second;
  if (sched.is_closed()) throw RuntimeError("Executor shutdown has been called");
  auto pool = std::make_shared<BlockingPool>(sched);
  try {
    sched.add_shutdown_hook([pool, key = &sched] {
      pool->shutdown();
      std::lock_guard<std::mutex> lock(g_mu);
      auto it = pools().find(key);
      if (it != pools().end() && it->second == pool) pools().erase(it);
    });
  } catch (const RuntimeError&) {
    throw RuntimeError("Executor shutdown has been called");  // shutdown has begun
  }
  pools().emplace(&sched, pool);
  return pool;
}

}  // namespace

void submit_blocking(Scheduler& sched, std::unique_ptr<BlockingCall> call) {
  pool_of(sched)->submit(std::move(call));
}

}  // namespace internal

void set_to_thread_options(Scheduler& sched, const ToThreadOptions& options) {
  internal::pool_of(sched)->set_options(options);
}

ToThreadOptions get_to_thread_options(Scheduler& sched) {
  return internal::pool_of(sched)->options();
}

}  // namespace v1
}  // namespace stealio
