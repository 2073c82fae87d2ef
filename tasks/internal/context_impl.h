// The objects behind Context and Token handles, and the per-thread current context.
//
// ContextData holds a pointer to an immutable mapping (var id -> value). A copy (copy_context,
// Context::copy) makes a new ContextData sharing that mapping: O(1). A set or reset builds a new
// mapping from the old one plus the change and swaps the pointer (copy on write), so a mapping
// never changes once published and a reader may use it without a lock once it holds it.
//
// Threads: one ContextData may be current on several threads at once (ContextScope of tasks
// sharing a context), so map_ is guarded by mu_; the copy is made under the lock, which keeps two
// concurrent sets from losing one another's update. entered_ is Context::run's "already entered"
// mark, an atomic exchange so two threads racing to run one context see exactly one winner
// (acq_rel on enter, release on leave: one run's end happens before the next run's start; the
// mapping needs no more, it is under mu_).
//
// Current context: a thread_local ContextSlot* in context.cc (null: the thread's base context,
// created on first use and owned by another thread_local). A task's slot holds its context not
// made yet (the creator's mapping) until a set makes it (ContextSlot in stealio/context.h). The
// thread-local is read and written only through the out-of-line functions below, so coroutine
// code never caches a thread-local address.
#ifndef STEALIO_TASKS_INTERNAL_CONTEXT_IMPL_H_
#define STEALIO_TASKS_INTERNAL_CONTEXT_IMPL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "scheduler/internal/mutex.h"
#include "stealio/context.h"

namespace stealio {
inline namespace v1 {
namespace internal {

struct ContextMap : absl::flat_hash_map<std::uint64_t, ErasedValue> {
  using flat_hash_map::flat_hash_map;
};

class ContextData : public std::enable_shared_from_this<ContextData> {
 public:
  ContextData() = default;
  explicit ContextData(std::shared_ptr<const ContextMap> map) : map_(std::move(map)) {}
  ContextData(const ContextData&) = delete;
  ContextData& operator=(const ContextData&) = delete;

  // The current mapping (null when empty). Immutable: safe to read after the lock is dropped.
  std::shared_ptr<const ContextMap> snapshot() const ABSL_LOCKS_EXCLUDED(mu_);
  ErasedValue lookup(std::uint64_t id) const ABSL_LOCKS_EXCLUDED(mu_);
  std::size_t size() const ABSL_LOCKS_EXCLUDED(mu_);
  // Stores `value` for `id` (erases the entry when `value` is null); returns the previous value.
  ErasedValue exchange(std::uint64_t id, ErasedValue value) ABSL_LOCKS_EXCLUDED(mu_);

  std::string repr() const;

  // Context::run's mark. try_enter() is false if the context is already entered.
  bool try_enter() noexcept { return !entered_.exchange(true, std::memory_order_acq_rel); }
  void leave() noexcept { entered_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> entered_{false};
  mutable SpinMutex mu_;
  std::shared_ptr<const ContextMap> map_ ABSL_GUARDED_BY(mu_);
};

// Behind a Token. `used` flips once, after reset's checks pass.
struct TokenState {
  std::shared_ptr<const VarCore> var;
  std::weak_ptr<ContextData> ctx;  // weak: a token must not keep its context alive
  ErasedValue old_value;           // null: Token.MISSING
  std::atomic<bool> used{false};
};

// The calling thread's current context (its base context when none is entered); never null.
ContextData& current_context();

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_TASKS_INTERNAL_CONTEXT_IMPL_H_
