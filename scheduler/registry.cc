#include "scheduler/internal/registry.h"

#include <algorithm>
#include <functional>
#include <thread>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/cleanup/cleanup.h"
#include "stealio/errors.h"

namespace stealio {
inline namespace v1 {
namespace internal {
namespace {
// Shards for threads that are not workers of this scheduler (tests, outside spawners): at least
// this many, and as many as there are workers.
constexpr int kMinOutsideShards = 4;

// The shard whose owner the calling thread is (Registry::bind_owner), if any.
struct OwnerOf {
  const Registry* registry = nullptr;
  int shard = -1;
};
thread_local OwnerOf tls_owner_of;
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

inline bool Registry::owns(int shard) const noexcept {
  return tls_owner_of.registry == this && tls_owner_of.shard == shard;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool Registry::try_owner_enter(Shard& s,
                                                                   int idx) const noexcept {
  return owns(idx) && owner_enter(s);
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool Registry::owner_enter(Shard& s) noexcept {
  s.owner_in.store(true, memory_order_relaxed);
  light_fence();  // the owner_in store before the visitors load (the visitor: heavy_fence)
  if (ABSL_PREDICT_TRUE(s.visitors.load(memory_order_acquire) == 0)) return true;
  s.owner_in.store(false, memory_order_release);  // a visitor is counted: the mutex, then
  return false;
}

// Exclusive access to one shard for the scope (see registry.h): the owner's entry without a
// read-modify-write, or the mutex. `kCounted`: a visitor already counted in `visitors`, after
// whose count a heavy fence was issued (the shards' walks). Owners also unlink the tasks pending
// unlinking, and release them once out, unless kNoRelease (a caller that holds another lock: a
// release may run a task's destructor).
class Registry::Exclusive {
 public:
  enum Mode { kAuto, kNoRelease, kCounted };

  // The owner's entry and an outside shard's lock inline, the rest out of line.
  ABSL_ATTRIBUTE_ALWAYS_INLINE Exclusive(const Registry& r, Shard& s, int idx, Mode mode = kAuto)
      : s_(s) {
    if (!r.is_worker_shard(idx)) {  // an outside shard: no owner
      s.mu.Lock();
      return;
    }
    if (mode != kCounted && ABSL_PREDICT_TRUE(r.try_owner_enter(s, idx))) {
      how_ = kOwnerFast;
      if (mode == kAuto &&
          ABSL_PREDICT_FALSE(s.unlink_pending.load(memory_order_relaxed) != nullptr)) {
        pending_ = unlink_pending(s);
      }
      return;
    }
    enter_slow(mode, mode != kCounted && r.owns(idx));
  }
  ABSL_ATTRIBUTE_ALWAYS_INLINE ~Exclusive() {
    if (ABSL_PREDICT_TRUE(how_ == kOwnerFast)) {
      s_.owner_in.store(false, memory_order_release);
    } else if (how_ == kLocked) {
      s_.mu.Unlock();
    } else {
      leave_visitor();
    }
    if (ABSL_PREDICT_FALSE(pending_ != nullptr)) release_chain(pending_);
  }
  Exclusive(const Exclusive&) = delete;
  Exclusive& operator=(const Exclusive&) = delete;

 private:
  enum How { kOwnerFast, kVisitor, kLocked };

  ABSL_ATTRIBUTE_NOINLINE void enter_slow(Mode mode, bool owner) {
    if (owner) {  // a visitor is counted (try_owner_enter backed off): the mutex
      s_.mu.Lock();
      how_ = kLocked;
      if (mode == kAuto) pending_ = unlink_pending(s_);
      return;
    }
    s_.mu.Lock();
    if (mode != kCounted) {
      s_.visitors.fetch_add(1, memory_order_relaxed);
      heavy_fence();  // the visitors count before the owner_in load
    }
    how_ = kVisitor;
    // The owner holds the shard for a few stores; yield now and then in case it was preempted.
    for (int spins = 1; s_.owner_in.load(memory_order_acquire); ++spins) {
      if (spins % 64 == 0) {
        std::this_thread::yield();
      } else {
        cpu_relax();
      }
    }
  }
  ABSL_ATTRIBUTE_NOINLINE void leave_visitor() {
    s_.visitors.fetch_sub(1, memory_order_release);
    s_.mu.Unlock();
  }

  Shard& s_;
  How how_ = kLocked;
  TaskBase* pending_ = nullptr;
};

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void Registry::owner_leave(Shard& s, int idx) noexcept {
  s.owner_in.store(false, memory_order_release);
  if (ABSL_PREDICT_FALSE(s.unlink_pending.load(memory_order_relaxed) != nullptr)) {
    collect_pending(s, idx);
  }
}

ABSL_ATTRIBUTE_NOINLINE void Registry::collect_pending(Shard& s, int idx) noexcept {
  Exclusive access(*this, s, idx);
}

void Registry::bind_owner(int shard) noexcept { tls_owner_of = {this, shard}; }

template <class Fn>
void Registry::visit_all(Fn&& fn) const {
  // One heavy fence for all the worker shards: each is counted first, and uncounted once visited
  // (or, if `fn` throws, by the cleanup).
  for (int i = 0; i < worker_shards_; ++i) shards_[i].visitors.fetch_add(1, memory_order_relaxed);
  heavy_fence();
  int next = 0;
  absl::Cleanup uncount = [&] {
    for (int i = next; i < worker_shards_; ++i) {
      shards_[i].visitors.fetch_sub(1, memory_order_release);
    }
  };
  for (; next < num_shards_;) {
    const int i = next++;
    Exclusive access(*this, shards_[i], i, Exclusive::kCounted);
    fn(shards_[i], i);
  }
}

void Registry::add(TaskBase& t, int shard) {
  if (t.reg_shard_.load(memory_order_acquire) != -1) return;  // already registered
  Shard& s = shards_[shard];
  Exclusive access(*this, s, shard);
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

void Registry::add_new(TaskBase& t, int shard, bool caller_owns) {
  Shard& s = shards_[shard];
  // The path of every task a worker creates.
  if (ABSL_PREDICT_TRUE(caller_owns ? owner_enter(s) : try_owner_enter(s, shard))) {
    if (ABSL_PREDICT_FALSE(s.closed)) {
      owner_leave(s, shard);
      throw RuntimeError("Event loop is closed");
    }
    t.reg_shard_.store(shard, memory_order_release);
    link(s, t);
    owner_leave(s, shard);
    return;
  }
  add_new_slow(s, t, shard);
}

ABSL_ATTRIBUTE_NOINLINE void Registry::add_new_slow(Shard& s, TaskBase& t, int shard) {
  Exclusive access(*this, s, shard);
  if (s.closed) throw RuntimeError("Event loop is closed");
  // Release, like add()'s CAS: a remove() that reads the index then finds the links it needs.
  t.reg_shard_.store(shard, memory_order_release);
  link(s, t);
}

void Registry::adopt_queued(TaskBase& t, int shard) noexcept {
  if (t.reg_shard_.load(memory_order_relaxed) != TaskBase::kInInjectQueue) return;
  Shard& s = shards_[shard];
  Exclusive access(*this, s, shard, Exclusive::kNoRelease);  // under the injection queue's lock
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

ABSL_ATTRIBUTE_NOINLINE TaskBase* Registry::unlink_pending(Shard& s) {
  if (s.unlink_pending.load(memory_order_relaxed) == nullptr) return nullptr;
  TaskBase* chain = s.unlink_pending.exchange(nullptr, memory_order_acquire);
  for (TaskBase* p = chain; p; p = p->queue_next_) {
    // Not when someone with exclusive access unlinked it already, between reading its shard and
    // resetting it (remove_from: its reset overwrote kUnlinkPending).
    if (p->reg_shard_.load(memory_order_relaxed) == TaskBase::kUnlinkPending) unlink(s, *p);
  }
  return chain;
}

ABSL_ATTRIBUTE_NOINLINE void Registry::release_chain(TaskBase* p) noexcept {
  while (p) {
    TaskBase* next = std::exchange(p->queue_next_, nullptr);
    p->release();
    p = next;
  }
}

void Registry::remove_from(Shard& s, TaskBase& t, int idx) {
  // Re-check with exclusive access: a concurrent remove may have won.
  if (t.reg_shard_.load(memory_order_relaxed) == idx) unlink(s, t);
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void Registry::remove_at(Shard& s, TaskBase& t,
                                                             int idx) noexcept {
  if (ABSL_PREDICT_TRUE(try_owner_enter(s, idx))) {  // a task ending where it was created
    remove_from(s, t, idx);
    owner_leave(s, idx);
    return;
  }
  remove_slow(s, t, idx);
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
  remove_at(shards_[idx], t, idx);
}

ABSL_ATTRIBUTE_NOINLINE void Registry::remove_slow(Shard& s, TaskBase& t, int idx) noexcept {
  Exclusive access(*this, s, idx);
  remove_from(s, t, idx);
}

void Registry::remove_finished(TaskBase& t) noexcept {
  int idx = t.reg_shard_.load(memory_order_acquire);
  if (!is_worker_shard(idx)) {
    remove(t);
    return;
  }
  Shard& s = shards_[idx];
  if (owns(idx)) {
    remove_at(s, t, idx);
    return;
  }
  // Another worker's shard: no longer listed from here on; its owner unlinks it.
  if (!t.reg_shard_.compare_exchange_strong(idx, TaskBase::kUnlinkPending, memory_order_acq_rel,
                                            memory_order_relaxed)) {
    remove(t);  // it changed meanwhile (another remove, a re-registration): start again
    return;
  }
  t.retain();  // before the task is marked done (release_many relies on it)
  TaskBase* head = s.unlink_pending.load(memory_order_relaxed);
  do {
    t.queue_next_ = head;
  } while (!s.unlink_pending.compare_exchange_weak(head, &t, memory_order_release,
                                                   memory_order_relaxed));
}

void Registry::snapshot(absl::FunctionRef<bool(const TaskBase&)> keep,
                        std::vector<TaskRef>& out) const {
  visit_all([&](Shard& s, int i) {
    // `keep` first, then the reference: a reference is never dropped here (dropping the last one
    // would run ~TaskBase, which enters this shard). Never a task that is done: TaskBase::release()
    // frees the last reference to a done task without a read-modify-write. Nor one pending
    // unlinking: it is unregistered.
    for (TaskBase* p = s.head; p; p = p->reg_next_) {
      if (p->reg_shard_.load(memory_order_relaxed) == i && !p->done() && keep(*p) &&
          p->try_retain()) {
        out.push_back(TaskRef::adopt(p));
      }
    }
  });
}

void Registry::close() {
  closed_.store(true, memory_order_release);
  visit_all([](Shard& s, int) { s.closed = true; });
}

void Registry::take_pending(Shard& s, TaskBase*& into) {
  TaskBase* chain = unlink_pending(s);
  while (chain) {
    TaskBase* next = chain->queue_next_;
    chain->queue_next_ = into;
    into = chain;
    chain = next;
  }
}

std::vector<TaskRef> Registry::drain() {
  std::vector<TaskRef> alive;
  TaskBase* pending = nullptr;  // released after the walk: a release may free the task
  absl::Cleanup release = [&] { release_chain(pending); };
  visit_all([&](Shard& s, int) {
    take_pending(s, pending);
    while (TaskBase* p = s.head) {
      if (!p->done() && p->try_retain()) alive.push_back(TaskRef::adopt(p));  // as snapshot
      unlink(s, *p);
    }
  });
  return alive;
}

std::size_t Registry::size() const {
  std::size_t n = 0;
  TaskBase* pending = nullptr;
  absl::Cleanup release = [&] { release_chain(pending); };
  visit_all([&](Shard& s, int) {
    take_pending(s, pending);
    n += s.count;
  });
  return n;
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio
