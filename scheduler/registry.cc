#include "scheduler/internal/registry.h"

#include <algorithm>
#include <functional>
#include <thread>

#include "stealio/errors.h"

namespace stealio {
inline namespace v1 {
namespace internal {
namespace {
// Shards for threads that are not workers of this scheduler (tests, outside spawners): at least
// this many, and as many as there are workers.
constexpr int kMinOutsideShards = 4;
}  // namespace

Registry::Registry(int worker_shards)
    : worker_shards_(worker_shards),
      outside_shards_(std::max(kMinOutsideShards, worker_shards)),
      num_shards_(worker_shards + outside_shards_),
      shards_(new Shard[static_cast<std::size_t>(num_shards_)]) {}

int Registry::home_shard(int worker_index) const noexcept {
  if (worker_index >= 0) return worker_index;
  // An outside thread's tasks are unregistered by whichever workers finish them, so they are
  // spread over the outside shards, one shard after the other, starting where the thread's hash
  // says. With one shard per outside thread, 15 workers finishing one thread's 1,000,000 spawns
  // all fought over that shard's lock.
  thread_local std::size_t next = std::hash<std::thread::id>{}(std::this_thread::get_id());
  return worker_shards_ + static_cast<int>(next++ % static_cast<std::size_t>(outside_shards_));
}

void Registry::add(TaskBase& t, int shard) {
  if (t.reg_shard_.load(memory_order_acquire) != -1) return;  // already registered
  Shard& s = shards_[shard];
  SpinLock lock(&s.mu);
  if (s.closed) throw RuntimeError("Event loop is closed");
  int expected = -1;
  // The CAS settles a race between two threads registering one task into different shards.
  if (!t.reg_shard_.compare_exchange_strong(expected, shard, memory_order_acq_rel)) return;
  link(s, t);
}

void Registry::link(Shard& s, TaskBase& t) {
  t.reg_prev_ = nullptr;
  t.reg_next_ = s.head;
  if (s.head) s.head->reg_prev_ = &t;
  s.head = &t;
  ++s.count;
}

void Registry::add_new(TaskBase& t, int shard) {
  Shard& s = shards_[shard];
  SpinLock lock(&s.mu);
  if (s.closed) throw RuntimeError("Event loop is closed");
  // Release, like add()'s CAS: a remove() that reads the index then finds the links it needs.
  t.reg_shard_.store(shard, memory_order_release);
  link(s, t);
}

void Registry::adopt_queued(TaskBase& t, int shard) noexcept {
  if (t.reg_shard_.load(memory_order_relaxed) != TaskBase::kInInjectQueue) return;
  Shard& s = shards_[shard];
  SpinLock lock(&s.mu);
  int expected = TaskBase::kInInjectQueue;
  // Fails when remove() unregistered the task meanwhile.
  if (!t.reg_shard_.compare_exchange_strong(expected, shard, memory_order_acq_rel)) return;
  link(s, t);
}

void Registry::unlink(Shard& s, TaskBase& t) {
  if (t.reg_prev_) {
    t.reg_prev_->reg_next_ = t.reg_next_;
  } else {
    s.head = t.reg_next_;
  }
  if (t.reg_next_) t.reg_next_->reg_prev_ = t.reg_prev_;
  t.reg_prev_ = t.reg_next_ = nullptr;
  --s.count;
  t.reg_shard_.store(-1, memory_order_release);
}

void Registry::remove(TaskBase& t) noexcept {
  int idx = t.reg_shard_.load(memory_order_acquire);
  // Listed from the injection queue: no links to undo. A failed exchange reloads idx; if a worker
  // adopted the task meanwhile, it is a shard index now.
  while (idx == TaskBase::kInInjectQueue) {
    if (t.reg_shard_.compare_exchange_weak(idx, TaskBase::kUnregistered, memory_order_acq_rel,
                                           memory_order_acquire)) {
      return;
    }
  }
  if (idx < 0) return;
  Shard& s = shards_[idx];
  SpinLock lock(&s.mu);
  // Re-check under the lock: a concurrent remove may have won.
  if (t.reg_shard_.load(memory_order_relaxed) != idx) return;
  unlink(s, t);
}

void Registry::snapshot(absl::FunctionRef<bool(const TaskBase&)> keep,
                        std::vector<TaskRef>& out) const {
  for (int i = 0; i < num_shards_; ++i) {
    Shard& s = shards_[i];
    SpinLock lock(&s.mu);
    // `keep` first, then the reference: a reference is never dropped under the lock (dropping
    // the last one would run ~TaskBase, which takes this lock). Never a task that is done:
    // TaskBase::release() frees the last reference to a done task without a read-modify-write.
    for (TaskBase* p = s.head; p; p = p->reg_next_) {
      if (!p->done() && keep(*p) && p->try_retain()) out.push_back(TaskRef::adopt(p));
    }
  }
}

void Registry::close() {
  closed_.store(true, memory_order_release);
  for (int i = 0; i < num_shards_; ++i) {
    SpinLock lock(&shards_[i].mu);
    shards_[i].closed = true;
  }
}

std::vector<TaskRef> Registry::drain() {
  std::vector<TaskRef> alive;
  for (int i = 0; i < num_shards_; ++i) {
    Shard& s = shards_[i];
    SpinLock lock(&s.mu);
    while (TaskBase* p = s.head) {
      if (!p->done() && p->try_retain()) alive.push_back(TaskRef::adopt(p));  // as snapshot
      unlink(s, *p);
    }
  }
  return alive;
}

std::size_t Registry::size() const {
  std::size_t n = 0;
  for (int i = 0; i < num_shards_; ++i) {
    SpinLock lock(&shards_[i].mu);
    n += shards_[i].count;
  }
  return n;
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio
