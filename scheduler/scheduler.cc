#include "stealio/scheduler.h"

#include <iostream>

#include "absl/container/flat_hash_set.h"

#include "scheduler/internal/scheduler_core.h"
#include "stealio/errors.h"

namespace stealio {
inline namespace v1 {
namespace internal {
namespace {

int resolve_workers(int requested) {
  if (requested > 0) return requested;
  unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

std::vector<Parker*> parkers_of(const std::vector<std::unique_ptr<Worker>>& workers) {
  std::vector<Parker*> out;
  for (const auto& w : workers) out.push_back(&w->parker());
  return out;
}

// A callable submitted with Scheduler::post, run as one stealable step. Not registered: it is
// not a task in asyncio's sense, just work.
class PostedFn final : public TaskBase {
 public:
  PostedFn(Loop& loop, Callback fn) : TaskBase(loop), fn_(std::move(fn)) {}
  void step() override {
    Callback fn = std::move(fn_);
    mark_done();
    fn();
  }

 private:
  Callback fn_;
};

// Loops of the schedulers that exist now: report_exception checks here before it touches a loop.
Mutex g_live_mu;
absl::flat_hash_set<const Loop*>& live_loops() ABSL_EXCLUSIVE_LOCKS_REQUIRED(g_live_mu) {
  static auto* set = new absl::flat_hash_set<const Loop*>();
  return *set;
}

}  // namespace

void report_exception(const Loop* loop, const ExceptionContext& c) noexcept {
  MutexLock lock(&g_live_mu);
  if (loop && live_loops().contains(loop)) {
    // Holding the lock keeps the scheduler alive: its destructor erases its loops under it.
    loop->scheduler().call_exception_handler(c);
    return;
  }
  try {
    Scheduler::default_exception_handler(c);
  } catch (...) {
  }
}

SchedulerCore::SchedulerCore(Scheduler& sched, SchedulerOptions options)
    : sched_(sched),
      options_([&] {
        options.workers = resolve_workers(options.workers);
        return options;
      }()),
      registry_(options_.workers) {
  enable_asymmetric_fences();  // before any worker or pusher of this scheduler exists
  workers_.reserve(static_cast<std::size_t>(options_.workers));
  for (int i = 0; i < options_.workers; ++i) {
    workers_.push_back(std::make_unique<Worker>(*this, sched, i));
  }
  idle_ = std::make_unique<Idle>(parkers_of(workers_));
  MutexLock lock(&g_live_mu);
  for (auto& w : workers_) live_loops().insert(&w->loop());
}

SchedulerCore::~SchedulerCore() {
  // A thread outside the workers can pass schedule()'s closed() check just before shutdown()
  // and push to the injection or a pinned queue after shutdown's last drain: nothing would run
  // that step, and the queues do not release what they hold. Every such thread has returned by
  // now (the scheduler is being destroyed), so this last drain releases it, while the registry
  // that ~TaskBase may touch still exists.
  for (auto& w : workers_) w->drain_at_shutdown();
  for (TaskRef& t : drain_inject()) t->abandon();
  MutexLock lock(&g_live_mu);
  for (auto& w : workers_) live_loops().erase(&w->loop());
}

void SchedulerCore::start() {
  threads_.reserve(workers_.size());
  for (auto& w : workers_) threads_.emplace_back([w = w.get()] { w->run(); });
}

Worker* SchedulerCore::local_worker() const noexcept {
  Worker* w = current_worker();
  return w && &w->core() == this ? w : nullptr;
}

void SchedulerCore::schedule(TaskBase* t, bool yield) {
  if (closed()) {
    t->release();
    return;
  }
  if (t->pinned()) {
    WorkerAccess::home(*t).worker_->push_pinned(t);
    return;
  }
  if (Worker* w = local_worker()) {
    if (yield) {
      w->push_yield(t);
    } else {
      w->push_local(t);
    }
  } else {
    inject_.push(t);
  }
  idle_->notify_work();
}

void SchedulerCore::spawn_new(TaskRef& first_step) {
  TaskBase* t = first_step.get();
  // The registry's closed flag is read under the queue's lock, and shutdown closes the registry
  // before it drains the queue under that lock: a step pushed here is drained (and its task
  // abandoned), or it is not pushed at all.
  const bool pushed = inject_.push_if(t, [&] {
    if (registry_.closed()) return false;
    t->reg_shard_.store(TaskBase::kInInjectQueue, memory_order_release);
    return true;
  });
  if (!pushed) throw RuntimeError("Event loop is closed");
  static_cast<void>(first_step.leak());  // the queue's reference now
  idle_->notify_work();
}

void SchedulerCore::snapshot(absl::FunctionRef<bool(const TaskBase&)> keep,
                             std::vector<TaskRef>& out) {
  // All under the injection queue's lock: a task leaves the queue's listing for its worker's
  // shard under that lock (Registry::adopt_queued), so it is seen in exactly one of the two.
  inject_.visit_then(
      [&](TaskBase& t) {
        if (t.reg_shard_.load(memory_order_acquire) == TaskBase::kInInjectQueue && !t.done() &&
            keep(t) && t.try_retain()) {
          out.push_back(TaskRef::adopt(&t));
        }
      },
      [&] { registry_.snapshot(keep, out); });
}

std::vector<TaskRef> SchedulerCore::drain_inject() {
  std::vector<TaskRef> alive;
  while (TaskBase* t = inject_.pop()) {
    TaskRef step = TaskRef::adopt(t);
    std::int32_t expected = TaskBase::kInInjectQueue;
    if (t->reg_shard_.compare_exchange_strong(expected, TaskBase::kUnregistered,
                                              memory_order_acq_rel) &&
        !t->done()) {
      alive.push_back(std::move(step));
    }
  }
  return alive;
}

void SchedulerCore::shutdown() {
  if (local_worker()) throw RuntimeError("Cannot close a running event loop");
  std::call_once(shutdown_once_, [this] {
    std::vector<Callback> hooks;
    {
      MutexLock lock(&hooks_mu_);
      hooks_closed_ = true;
      hooks.swap(hooks_);
    }
    for (Callback& hook : hooks) {
      try {
        hook();
      } catch (...) {
        call_exception_handler({"Exception in shutdown hook", std::current_exception(), "", nullptr});
      }
    }
    closed_.store(true, memory_order_release);
    registry_.close();
    stopping_.store(true, memory_order_release);
    idle_->wake_all();
    for (std::thread& t : threads_) t.join();
    for (auto& w : workers_) w->drain_at_shutdown();
    std::vector<TaskRef> queued = drain_inject();
    for (TaskRef& t : registry_.drain()) t->abandon();
    for (TaskRef& t : queued) t->abandon();
    queued.clear();
    // abandon() may have released work that was queued again meanwhile: drop it too.
    for (auto& w : workers_) w->drain_at_shutdown();
    for (TaskRef& t : drain_inject()) t->abandon();
  });
}

void SchedulerCore::add_shutdown_hook(Callback hook) {
  MutexLock lock(&hooks_mu_);
  if (hooks_closed_) throw RuntimeError("Event loop is closed");
  hooks_.push_back(std::move(hook));
}

void SchedulerCore::set_exception_handler(ExceptionHandler h) {
  MutexLock lock(&handler_mu_);
  handler_ = std::move(h);
}

void SchedulerCore::call_exception_handler(const ExceptionContext& c) noexcept {
  ExceptionHandler h;
  {
    MutexLock lock(&handler_mu_);
    h = handler_;
  }
  try {
    if (h) {
      h(c);
    } else {
      Scheduler::default_exception_handler(c);
    }
  } catch (...) {
    // A handler that throws must not take the worker down (asyncio logs and goes on).
    std::cerr << "stealio: exception in exception handler\n";
  }
}

}  // namespace internal

Scheduler::Scheduler(SchedulerOptions options)
    : core_(std::make_unique<internal::SchedulerCore>(*this, options)) {
  core_->start();
}

Scheduler::~Scheduler() { shutdown(); }

int Scheduler::workers() const noexcept { return core_->num_workers(); }

Loop& Scheduler::loop(int index) const {
  if (index < 0 || index >= workers()) throw RuntimeError("no loop with index " + std::to_string(index));
  return core_->worker(index).loop();
}

const SchedulerOptions& Scheduler::options() const noexcept { return core_->options(); }

void Scheduler::post(Callback fn) {
  if (core_->closed()) throw RuntimeError("Event loop is closed");
  internal::Worker* w = core_->local_worker();
  Loop& loop = w ? w->loop() : core_->worker(0).loop();
  core_->schedule(make_task<internal::PostedFn>(loop, std::move(fn)).leak(), false);
}

std::vector<TaskRef> Scheduler::all_tasks() const {
  std::vector<TaskRef> out;
  core_->snapshot([](const TaskBase& t) { return !t.done(); }, out);
  return out;
}

void Scheduler::shutdown() { core_->shutdown(); }

bool Scheduler::is_closed() const noexcept { return core_->closed(); }

void Scheduler::add_shutdown_hook(Callback hook) { core_->add_shutdown_hook(std::move(hook)); }

void Scheduler::set_exception_handler(ExceptionHandler handler) {
  core_->set_exception_handler(std::move(handler));
}

void Scheduler::call_exception_handler(const ExceptionContext& context) noexcept {
  core_->call_exception_handler(context);
}

void Scheduler::default_exception_handler(const ExceptionContext& c) {
  std::string line = c.message;
  if (!c.task.empty()) line += "\ntask: " + c.task;
  if (c.exception) {
    try {
      std::rethrow_exception(c.exception);
    } catch (const std::exception& e) {
      line += "\nexception: " + std::string(e.what());
    } catch (...) {
      line += "\nexception: (not a std::exception)";
    }
  }
  std::cerr << line << "\n";
}

void schedule_step(TaskRef task) {
  TaskBase* t = task.leak();
  internal::WorkerAccess::home(*t).scheduler().core().schedule(t, false);
}

void schedule_step_yield(TaskRef task) {
  TaskBase* t = task.leak();
  internal::WorkerAccess::home(*t).scheduler().core().schedule(t, true);
}

}  // namespace v1
}  // namespace stealio
