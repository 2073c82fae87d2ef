// TaskBase: what every task type derives from, stealio's own and third-party ones.
//
// A task is an object with a unique 64-bit id, a name (default `Task-<id>`), the loop it is on
// (`get_loop()`, updated by `enter_task` when the task migrates), a done flag, and an intrusive
// reference count. `TaskRef` is the strong handle. A task type needs only this header,
// <stealio/lifetime.h> (the asyncio lifetime protocol) and <stealio/scheduler.h> (to schedule
// its next step) to be as visible to `all_tasks`/`current_task` as stealio's own tasks.
//
// Example: a task driven by callbacks, stepping three times.
//   class Countdown final : public stealio::TaskBase {
//    public:
//     explicit Countdown(stealio::Loop& loop) : TaskBase(loop) {}
//     void step() override {
//       stealio::Loop& here = stealio::get_running_loop();
//       stealio::enter_task(here, *this);
//       bool finished = --left_ == 0;
//       stealio::leave_task(here, *this);
//       if (finished) { stealio::unregister_task(*this); mark_done(); }
//       else stealio::schedule_step(stealio::TaskRef(this));   // stealable: may migrate
//     }
//    private:
//     int left_ = 3;
//   };
//   stealio::TaskRef t = stealio::make_task<Countdown>(sched.loop(0));
//   stealio::register_task(*t);
//   stealio::schedule_step(t);
#ifndef STEALIO_TASK_BASE_H_
#define STEALIO_TASK_BASE_H_

#include <atomic>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>

namespace stealio {
inline namespace v1 {

class Loop;
class TaskBase;
class TaskRef;

namespace internal {
class FutureCore;
class Registry;
class SchedulerCore;
class TaskQueue;
class WorkerAccess;
void record_loop(Loop& loop, TaskBase& task) noexcept;
}  // namespace internal

// Base class of every task. Not copyable or movable: tasks are shared through TaskRef.
class TaskBase {
 public:
  TaskBase(const TaskBase&) = delete;
  TaskBase& operator=(const TaskBase&) = delete;

  // Unique across the process, never reused. Also the N of the default name `Task-N`.
  std::uint64_t id() const noexcept { return id_; }

  // asyncio's Task.get_name()/set_name(). Safe from any thread.
  std::string get_name() const;
  void set_name(std::string name);

  // The loop whose worker ran (or is running) the task's latest step. Safe from any thread.
  Loop* get_loop() const noexcept { return loop_.load(std::memory_order_acquire); }

  // True once the task has finished (see mark_done()). Safe from any thread.
  bool done() const noexcept { return done_.load(std::memory_order_acquire); }

  // A pinned task's steps always run on its creation loop: it is never stolen.
  bool pinned() const noexcept { return pinned_; }

  // `<Task pending name='Task-3' id=3 loop=1>`: what protocol errors and debugging print.
  std::string repr() const;

  // Reference counting. A task is destroyed (destroy()) when the count drops to zero.
  void retain() const noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() const noexcept { release_many(1); }
  // Takes a reference only if the task is still alive (count not zero). Used by snapshots.
  bool try_retain() const noexcept;
  // retain() for a task no other thread can reach yet (before register_task and before its
  // first step is scheduled): a plain store instead of an atomic read-modify-write.
  void retain_unshared() const noexcept {
    refs_.store(refs_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  // Runs the task's next step on the calling worker. Called by the scheduler for work scheduled
  // with schedule_step(); the scheduler holds a reference for the duration of the call. A step
  // follows the lifetime protocol itself: enter_task, work, leave_task.
  virtual void step() = 0;

  // Runs the task's next step nested inside the step now running on `loop`, whose task waits
  // for this one (a join that helps instead of suspending, as oneTBB's task_group::wait runs
  // the group's tasks). Called on `loop`'s worker after it took the step back from its own
  // queue, with the queue's reference still held by the caller. Returns false, doing nothing,
  // when the task type does not support it (the default); the caller then queues the step again.
  virtual bool step_nested(Loop& loop) {
    (void)loop;
    return false;
  }

 protected:
  // `loop` is the task's first loop (where it is created); `pinned` binds every step to it.
  explicit TaskBase(Loop& loop, bool pinned = false) noexcept;
  virtual ~TaskBase();

  // Marks the task done: all_tasks stops listing it. Call after its last step. A task still
  // registered is unregistered first (release() relies on it: a done task is never listed).
  void mark_done() noexcept {
    if (reg_shard_.load(std::memory_order_acquire) != kUnregistered) unregister_before_done();
    done_.store(true, std::memory_order_release);
  }

  // Drops `n` references the caller owns, with one read-modify-write at most.
  void release_many(std::uint32_t n) const noexcept {
    // The last references to a task that is done and unregistered need no read-modify-write:
    // nobody else holds one, and nobody can take one, since the registry hands out only tasks
    // that are not done (snapshots filter them under the shard lock, and a task is unregistered
    // before it is marked done: see mark_done). Read in this order: done first.
    if (done_.load(std::memory_order_acquire) && reg_shard_.load(std::memory_order_acquire) < 0 &&
        refs_.load(std::memory_order_acquire) == n) {
      const_cast<TaskBase*>(this)->destroy();
      return;
    }
    if (refs_.fetch_sub(n, std::memory_order_acq_rel) == n) const_cast<TaskBase*>(this)->destroy();
  }

  // Frees the object. Override when the task is not allocated with `new`.
  virtual void destroy() noexcept { delete this; }

  // Called at scheduler shutdown for each task still registered after the workers stopped: drop
  // what the task holds (for example its coroutine frame) so reference cycles break. The scheduler
  // unregisters the task afterwards.
  virtual void abandon() noexcept {}

  // The state word shown by repr(); stealio's Task says pending/cancelled/finished.
  virtual const char* state_name() const noexcept { return done() ? "done" : "pending"; }
  // The class name shown by repr().
  virtual const char* type_name() const noexcept { return "Task"; }

 private:
  friend class internal::FutureCore;  // links waiting tasks through queue_next_
  friend class internal::Registry;
  friend class internal::SchedulerCore;
  friend class internal::TaskQueue;
  friend class internal::WorkerAccess;
  friend void enter_task(Loop& loop, TaskBase& task);
  friend void internal::record_loop(Loop& loop, TaskBase& task) noexcept;

  void unregister_before_done() noexcept;

  mutable std::atomic<std::uint32_t> refs_{1};
  std::atomic<bool> done_{false};
  const bool pinned_;
  // reg_shard_ when the task is in no registry list: kUnregistered, or kInInjectQueue for a task
  // created outside the workers whose first step still waits in the injection queue (it is
  // registered through that queue: SchedulerCore::spawn_new).
  static constexpr std::int32_t kUnregistered = -1;
  static constexpr std::int32_t kInInjectQueue = -2;
  // Unregistered by a thread other than its shard's worker, at the end of its last step: no
  // longer listed, still linked until that worker unlinks it (Registry::remove_finished). The
  // registry holds a reference meanwhile.
  static constexpr std::int32_t kUnlinkPending = -3;
  // Registry shard index, or one of the three above. A shard index is written with exclusive
  // access to that shard (registry.h); kInInjectQueue under the injection queue's lock.
  std::atomic<std::int32_t> reg_shard_{kUnregistered};
  const std::uint64_t id_;
  std::atomic<Loop*> loop_;
  Loop* const home_;  // creation loop: where pinned steps run
  // Registry list links, guarded by the shard's lock.
  TaskBase* reg_prev_ = nullptr;
  TaskBase* reg_next_ = nullptr;
  // Link for intrusive FIFO queues of runnable steps, and for the waiters of a future (a task
  // waiting on a future is in no run queue), and, once its last step ended, for the registry's
  // tasks to unlink (kUnlinkPending). A task is in at most one such list.
  TaskBase* queue_next_ = nullptr;
  // A name given with set_name(); null means `Task-<id>`. Guarded by a striped lock (task.cc).
  std::string* custom_name_ = nullptr;
};

// Strong handle to a task: retains on copy, releases on destruction.
//
// Example:
//   stealio::TaskRef t = stealio::current_task();
//   if (t) std::cout << t->get_name();
class TaskRef {
 public:
  TaskRef() noexcept = default;
  TaskRef(std::nullptr_t) noexcept {}  // NOLINT: implicit like a pointer
  // Takes a new reference to `task`.
  explicit TaskRef(TaskBase* task) noexcept : p_(task) {
    if (p_) p_->retain();
  }
  // Adopts a reference the caller already owns.
  static TaskRef adopt(TaskBase* task) noexcept {
    TaskRef r;
    r.p_ = task;
    return r;
  }
  TaskRef(const TaskRef& o) noexcept : TaskRef(o.p_) {}
  TaskRef(TaskRef&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  TaskRef& operator=(TaskRef o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~TaskRef() {
    if (p_) p_->release();
  }

  TaskBase* get() const noexcept { return p_; }
  TaskBase* operator->() const noexcept { return p_; }
  TaskBase& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  // Gives up ownership without releasing.
  TaskBase* leak() noexcept { return std::exchange(p_, nullptr); }

  friend bool operator==(const TaskRef& a, const TaskRef& b) noexcept { return a.p_ == b.p_; }
  friend bool operator==(const TaskRef& a, const TaskBase* b) noexcept { return a.p_ == b; }

 private:
  TaskBase* p_ = nullptr;
};

// Allocates a task of type T (derived from TaskBase) and returns the only reference to it.
template <class T, class... Args>
TaskRef make_task(Args&&... args) {
  return TaskRef::adopt(new T(std::forward<Args>(args)...));
}

std::ostream& operator<<(std::ostream& os, const TaskBase& task);

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_TASK_BASE_H_
