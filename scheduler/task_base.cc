#include "stealio/task_base.h"

#include <array>
#include <ostream>

#include "scheduler/internal/mutex.h"
#include "scheduler/internal/atomic.h"
#include "scheduler/internal/scheduler_core.h"
#include "stealio/loop.h"
#include "stealio/scheduler.h"

namespace stealio {
inline namespace v1 {
namespace {

// Task ids (and the N of `Task-N`) come from one process-wide counter. Each thread takes a
// block of ids at a time, so creating a task touches no cache line shared with other workers;
// ids are unique, and increasing in creation order on any one thread.
constexpr std::uint64_t kIdBlock = 1024;
internal::atomic<std::uint64_t> g_next_id_block{1};
thread_local std::uint64_t tls_next_id = 0;
thread_local std::uint64_t tls_id_end = 0;

std::uint64_t next_task_id() noexcept {
  if (tls_next_id == tls_id_end) {
    tls_next_id = g_next_id_block.fetch_add(kIdBlock, internal::memory_order_relaxed);
    tls_id_end = tls_next_id + kIdBlock;
  }
  return tls_next_id++;
}

// set_name is rare: custom names are guarded by a few striped locks instead of a lock per task.
constexpr std::size_t kNameStripes = 64;
std::array<internal::Mutex, kNameStripes> g_name_mu;

internal::Mutex& name_mu(const TaskBase* t) {
  return g_name_mu[(reinterpret_cast<std::uintptr_t>(t) >> 6) % kNameStripes];
}

}  // namespace

TaskBase::TaskBase(Loop& loop, bool pinned) noexcept
    : pinned_(pinned), id_(next_task_id()), loop_(&loop), home_(&loop) {}

TaskBase::~TaskBase() {
  if (reg_shard_.load(std::memory_order_acquire) != kUnregistered) {
    home_->scheduler().core().registry().remove(*this);
  }
  delete custom_name_;
}

void TaskBase::unregister_before_done() noexcept {
  home_->scheduler().core().registry().remove(*this);
}

bool TaskBase::try_retain() const noexcept {
  std::uint32_t n = refs_.load(std::memory_order_relaxed);
  while (n != 0) {
    if (refs_.compare_exchange_weak(n, n + 1, std::memory_order_acquire,
                                    std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

std::string TaskBase::get_name() const {
  {
    internal::MutexLock lock(&name_mu(this));
    if (custom_name_) return *custom_name_;
  }
  return "Task-" + std::to_string(id_);
}

void TaskBase::set_name(std::string name) {
  auto* fresh = new std::string(std::move(name));
  std::string* old;
  {
    internal::MutexLock lock(&name_mu(this));
    old = custom_name_;
    custom_name_ = fresh;
  }
  delete old;
}

std::string TaskBase::repr() const {
  Loop* loop = get_loop();
  return std::string("<") + type_name() + " " + state_name() + " name='" + get_name() +
         "' id=" + std::to_string(id_) + " loop=" + std::to_string(loop ? loop->index() : -1) + ">";
}

std::ostream& operator<<(std::ostream& os, const TaskBase& task) { return os << task.repr(); }

}  // namespace v1
}  // namespace stealio
