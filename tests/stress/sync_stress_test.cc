// Stress test of Lock, Semaphore and Queue on 2 and 4 workers (4 even on 2 cores): driver tasks
// pinned to every worker run short operations as tasks pinned to the next worker, and cancel a
// random share of them at a random point (racing with the wakeups they get), or run them under a
// short stealio::timeout.
//
// Checked: the lock's holders never exceed 1 and the semaphore's never exceed its value (no
// double wakeup); every item the producers put is got exactly once (counts and sums match: no
// lost or duplicated item, a cancelled get takes nothing and a cancelled put adds nothing); the
// whole run finishes (a lost wakeup hangs it: a watchdog fails the test instead). Bounded: a few
// seconds under TSan on 2 cores.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "stealio/lock.h"
#include "stealio/queue.h"
#include "stealio/semaphore.h"
#include "stealio/sleep.h"
#include "stealio/task.h"
#include "stealio/timeouts.h"

namespace {

using stealio::CancelledError;
using stealio::Coro;
using stealio::Task;

constexpr int kSemValue = 3;

struct Shared {
  explicit Shared(int maxsize) : queue(maxsize) {}
  stealio::Lock lock;
  stealio::Semaphore sem{kSemValue};
  stealio::Queue<long> queue;
  std::atomic<int> in_lock{0}, in_sem{0};
  std::atomic<int> lock_violations{0}, sem_violations{0};
  std::atomic<long> lock_entries{0}, sem_entries{0};
  std::atomic<long> put_count{0}, put_sum{0}, got_count{0}, got_sum{0};
  std::atomic<long> cancelled{0}, timed_out{0};
};

// Counts a holder in `n` while alive (also when a cancel unwinds the holder).
class Inside {
 public:
  explicit Inside(std::atomic<int>& n) : n_(n), before_(n.fetch_add(1)) {}
  ~Inside() { n_.fetch_sub(1); }
  Inside(const Inside&) = delete;
  Inside& operator=(const Inside&) = delete;
  int before() const { return before_; }

 private:
  std::atomic<int>& n_;
  int before_;
};

Coro<void> lock_op(Shared& s) {
  auto guard = co_await s.lock.scoped();
  Inside inside(s.in_lock);  // destroyed before the guard releases
  if (inside.before() != 0) s.lock_violations.fetch_add(1);
  s.lock_entries.fetch_add(1);
  co_await stealio::yield();  // a cancel may land here: both unwind
}

Coro<void> sem_op(Shared& s) {
  auto guard = co_await s.sem.scoped();
  Inside inside(s.in_sem);
  if (inside.before() >= kSemValue) s.sem_violations.fetch_add(1);
  s.sem_entries.fetch_add(1);
  co_await stealio::yield();
}

Coro<void> put_op(Shared& s, long v) {
  co_await s.queue.put(v);
  s.put_count.fetch_add(1);  // no suspension between the put and the count
  s.put_sum.fetch_add(v);
}

Coro<void> get_op(Shared& s) {
  long v = co_await s.queue.get();
  s.got_count.fetch_add(1);
  s.got_sum.fetch_add(v);
}

// Runs `op` as a task on `loop`; cancels it after a random number of yields, or lets it run.
Coro<void> run_op(Shared& s, stealio::Loop& loop, Coro<void> op, std::minstd_rand& rng) {
  Task<void> t = loop.create_task(std::move(op), stealio::TaskOptions().with_pinned(true));
  if (rng() % 4 == 0) {
    for (unsigned n = rng() % 4; n > 0; --n) co_await stealio::yield();
    t.cancel();
  }
  try {
    co_await t;
  } catch (const CancelledError&) {
    s.cancelled.fetch_add(1);
  }
}

// The same, but inside this task under a short timeout.
Coro<void> run_op_with_timeout(Shared& s, Coro<void> op) {
  try {
    // timeout_at: timeout(delay) trips UBSan in deadline_after (now - TimePoint::min()
    // overflows), a bug outside the primitives.
    co_await stealio::timeout_at(stealio::Clock::now() + std::chrono::microseconds(50),
                                 std::move(op));
  } catch (const stealio::TimeoutError&) {
    s.timed_out.fetch_add(1);
  }
}

Coro<void> driver(Shared& s, int id, int workers, int rounds) {
  std::minstd_rand rng(1234u + static_cast<unsigned>(id));
  stealio::Scheduler& sched = stealio::get_running_loop().scheduler();
  stealio::Loop& next = sched.loop((id + 1) % workers);
  for (int r = 0; r < rounds; ++r) {
    const unsigned pick = rng() % 8;
    if (pick < 2) {
      co_await run_op(s, next, lock_op(s), rng);
    } else if (pick == 2) {
      co_await run_op_with_timeout(s, lock_op(s));
    } else if (pick < 5) {
      co_await run_op(s, next, sem_op(s), rng);
    } else if (pick == 5) {
      co_await run_op_with_timeout(s, sem_op(s));
    } else {
      co_await run_op(s, next, put_op(s, id * 1000000L + r), rng);
    }
  }
}

// Gets until the queue is shut down and drained.
Coro<void> consumer(Shared& s, int id, int workers) {
  std::minstd_rand rng(99u + static_cast<unsigned>(id));
  stealio::Loop& next = stealio::get_running_loop().scheduler().loop((id + 1) % workers);
  for (;;) {
    try {
      if (rng() % 8 == 0) {
        co_await run_op_with_timeout(s, get_op(s));
      } else {
        co_await run_op(s, next, get_op(s), rng);
      }
    } catch (const stealio::QueueShutDown&) {
      co_return;
    }
  }
}

Coro<void> scenario(Shared& s, int workers, int rounds) {
  stealio::Scheduler& sched = stealio::get_running_loop().scheduler();
  std::vector<Task<void>> drivers, consumers;
  for (int i = 0; i < 2 * workers; ++i) {
    drivers.push_back(
        sched.loop(i % workers)
            .create_task(driver(s, i, workers, rounds), stealio::TaskOptions().with_pinned()));
  }
  for (int i = 0; i < workers; ++i) {
    consumers.push_back(
        sched.loop(i % workers)
            .create_task(consumer(s, i, workers), stealio::TaskOptions().with_pinned()));
  }
  for (auto& t : drivers) co_await t;
  s.queue.shutdown();  // consumers drain what is left, then stop
  for (auto& t : consumers) co_await t;
}

TEST(SyncStress, LockSemaphoreQueueWithCancellationsAndTimeouts) {
  for (int workers : {2, 4}) {
    for (int maxsize : {4, 0}) {
      Shared s(maxsize);
      {
        stealio::Scheduler sched(stealio::SchedulerOptions{.workers = workers});
        Task<void> main = sched.spawn(scenario(s, workers, 1400));
        if (!main.wait_for(absl::Seconds(120))) {
          std::fprintf(stderr, "sync stress: no progress in 120 s (lost wakeup?): %s\n",
                       s.queue.repr().c_str());
          std::abort();
        }
        main.result();
      }
      SCOPED_TRACE(testing::Message() << "workers=" << workers << " maxsize=" << maxsize);
      EXPECT_EQ(s.lock_violations.load(), 0);
      EXPECT_EQ(s.sem_violations.load(), 0);
      EXPECT_GT(s.lock_entries.load(), 0);
      EXPECT_GT(s.sem_entries.load(), 0);
      EXPECT_GT(s.put_count.load(), 0);
      EXPECT_GT(s.cancelled.load(), 0);
      EXPECT_EQ(s.got_count.load(), s.put_count.load());
      EXPECT_EQ(s.got_sum.load(), s.put_sum.load());
      EXPECT_TRUE(s.queue.empty());
      EXPECT_FALSE(s.lock.locked());
      EXPECT_EQ(s.sem.repr(), "<Semaphore [unlocked, value:3]>");
    }
  }
}

}  // namespace
