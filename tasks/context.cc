#include "stealio/context.h"

#include <cstdio>
#include <string>
#include <utility>

#include "absl/base/attributes.h"
#include "stealio/errors.h"
#include "stealio/internal/frame_alloc.h"
#include "tasks/internal/context_impl.h"

namespace stealio {
inline namespace v1 {
namespace internal {
namespace {

// The entered context of this thread; null means the thread's base context (tls_base).
thread_local ContextSlot* tls_current = nullptr;
// The base context, created on the thread's first use of a context variable.
thread_local std::shared_ptr<ContextData> tls_base;

std::atomic<std::uint64_t> next_var_id{1};

// Out of line so no caller, coroutine or not, ever holds the thread-local's address.
ABSL_ATTRIBUTE_NOINLINE ContextSlot* swap_current(ContextSlot* ctx) noexcept {
  return std::exchange(tls_current, ctx);
}

std::string address(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

}  // namespace

namespace {
ContextData& base_context() {
  if (!tls_base) tls_base = std::make_shared<ContextData>();
  return *tls_base;
}
}  // namespace

ABSL_ATTRIBUTE_NOINLINE ContextData& current_context() {
  if (tls_current != nullptr) return tls_current->data();
  return base_context();
}

// The current context's mapping, without making a context not made yet. A thread that never
// used a context variable has no base context: its mapping is empty, with no lock taken (an
// outside thread spawning tasks copies its context once per task).
ABSL_ATTRIBUTE_NOINLINE std::shared_ptr<const ContextMap> current_snapshot() {
  if (tls_current != nullptr) return tls_current->snapshot();
  if (!tls_base) return nullptr;
  return tls_base->snapshot();
}

// --- ContextSlot -------------------------------------------------------------------------------

namespace {
// A task inherits its creator's mapping by reference (inherit_current). A plain shared_ptr copy
// would count every task in the mapping's one control block: once a variable is set near the
// root of a fork-join tree, every worker writes that cache line at each create_task and at each
// task's end (fib(30) with one variable set in the root task, 2 workers: 0.11 -> 0.19 s, and 2
// workers no faster than 1). So each thread counts the references it hands out in a proxy of its
// own, which holds one reference to the mapping; the tasks it creates share the proxy's control
// block (shared_ptr's aliasing constructor), a line written only by this thread while its tasks
// end where they started. A thread keeps its latest proxy, and with it that mapping, until it
// inherits another mapping or exits. The key cannot be reused by another mapping meanwhile: the
// proxy keeps the keyed mapping alive.
struct MapProxy {
  std::shared_ptr<const ContextMap> map;
};
thread_local const ContextMap* tls_proxy_key = nullptr;
thread_local std::shared_ptr<MapProxy> tls_proxy;

std::shared_ptr<const ContextMap> local_reference(const std::shared_ptr<const ContextMap>& m) {
  if (!m) return nullptr;
  if (m.get() != tls_proxy_key) [[unlikely]] {
    tls_proxy = std::allocate_shared<MapProxy>(FrameAllocator<MapProxy>(), MapProxy{m});
    tls_proxy_key = m.get();
  }
  return std::shared_ptr<const ContextMap>(tls_proxy, tls_proxy_key);
}
}  // namespace

// Out of line, like every reader of this file's thread-locals: inlined into a coroutine, the
// thread-locals' addresses could be kept across a suspension and read on another worker.
ABSL_ATTRIBUTE_NOINLINE ContextSlot ContextSlot::inherit_current() {
  ContextSlot s;
  const ContextSlot* cur = tls_current;
  if (cur != nullptr && !cur->data_) {
    // A creator that set nothing hands on the mapping it inherited: no copy of it, no lock.
    if (cur->inherited_) s.inherited_ = local_reference(cur->inherited_);
  } else {
    s.inherited_ = local_reference(current_snapshot());
  }
  return s;
}

ContextSlot::ContextSlot(Context ctx) noexcept : data_(std::move(ctx.data_)) {}

ContextData& ContextSlot::data() {
  if (!data_) {
    // The copy is made now: from the per-thread block cache (frame_alloc.h), not malloc. The
    // slot keeps its reference to the inherited mapping (see find()).
    data_ = std::allocate_shared<ContextData>(FrameAllocator<ContextData>(), inherited_);
  }
  return *data_;
}

const void* ContextSlot::find(std::uint64_t var_id, ErasedValue& keep) const {
  if (data_) {
    keep = data_->lookup(var_id);
    return keep.get();
  }
  if (!inherited_) return nullptr;
  auto it = inherited_->find(var_id);  // immutable, and alive while this slot is
  return it == inherited_->end() ? nullptr : it->second.get();
}

std::shared_ptr<const ContextMap> ContextSlot::snapshot() const {
  return data_ ? data_->snapshot() : inherited_;
}

// --- ContextData ------------------------------------------------------------------------------

std::shared_ptr<const ContextMap> ContextData::snapshot() const {
  SpinLock lock(&mu_);
  return map_;
}

ErasedValue ContextData::lookup(std::uint64_t id) const {
  SpinLock lock(&mu_);
  if (!map_) return nullptr;
  auto it = map_->find(id);
  return it == map_->end() ? nullptr : it->second;
}

std::size_t ContextData::size() const {
  SpinLock lock(&mu_);
  return map_ ? map_->size() : 0;
}

ErasedValue ContextData::exchange(std::uint64_t id, ErasedValue value) {
  // Declared before the lock so that the replaced mapping is freed after the unlock. The value
  // replaced is returned (kept by the Token, or dropped by reset's caller), so no value's
  // destructor runs under mu_: it may use context variables itself.
  std::shared_ptr<const ContextMap> replaced;
  ErasedValue old;
  SpinLock lock(&mu_);
  if (map_) {
    auto it = map_->find(id);
    if (it != map_->end()) old = it->second;
  }
  if (!value && !old) return nullptr;  // erasing an absent entry: nothing changes
  auto next = map_ ? std::make_shared<ContextMap>(*map_) : std::make_shared<ContextMap>();
  if (value) {
    (*next)[id] = std::move(value);
  } else {
    next->erase(id);
  }
  replaced = std::exchange(map_, next->empty() ? nullptr : std::move(next));
  return old;
}

std::string ContextData::repr() const { return "<Context object at " + address(this) + ">"; }

// --- VarCore and the operations behind ContextVar<T> ----------------------------------------

VarCore::VarCore(std::string var_name, ErasedValue default_val)
    : id(next_var_id.fetch_add(1, std::memory_order_relaxed)),
      name(std::move(var_name)),
      default_value(std::move(default_val)) {}

std::string VarCore::repr() const {
  return "<ContextVar name='" + name + "' at " + address(this) + ">";
}

ErasedValue context_lookup(const ContextData& ctx, std::uint64_t var_id) {
  return ctx.lookup(var_id);
}

ABSL_ATTRIBUTE_NOINLINE const void* current_find(std::uint64_t var_id, ErasedValue& keep) {
  if (tls_current != nullptr) return tls_current->find(var_id, keep);
  if (!tls_base) return nullptr;  // no variable was ever set here (current_snapshot)
  keep = tls_base->lookup(var_id);
  return keep.get();
}

Token current_set(const std::shared_ptr<const VarCore>& var, ErasedValue value) {
  ContextData& ctx = current_context();
  auto state = std::make_shared<TokenState>();  // before the change: a throw changes nothing
  state->var = var;
  state->ctx = ctx.weak_from_this();
  state->old_value = ctx.exchange(var->id, std::move(value));
  return Token(std::move(state));
}

// The checks and their order are CPython's contextvar_reset (Python/context.c).
void current_reset(const VarCore& var, const Token& token) {
  TokenState& state = *token.state_;
  if (state.used.load(std::memory_order_acquire)) {
    throw RuntimeError(token.repr() + " has already been used once");
  }
  if (state.var->id != var.id) {
    throw ValueError(token.repr() + " was created by a different ContextVar");
  }
  ContextData& ctx = current_context();
  if (state.ctx.lock().get() != &ctx) {
    throw ValueError(token.repr() + " was created in a different Context");
  }
  if (state.used.exchange(true, std::memory_order_acq_rel)) {  // lost a race with another reset
    throw RuntimeError(token.repr() + " has already been used once");
  }
  ctx.exchange(var.id, state.old_value);
}

void raise_lookup_error(const VarCore& var) { throw LookupError(var.repr()); }

// --- Entering contexts -------------------------------------------------------------------------

namespace {
ContextData* mark_entered(ContextData* ctx) {
  if (!ctx->try_enter()) {
    throw RuntimeError("cannot enter context: " + ctx->repr() + " is already entered");
  }
  return ctx;
}
}  // namespace

ContextEntry::ContextEntry(const Context& ctx)
    : slot_((mark_entered(ctx.data_.get()), ctx)), prev_(swap_current(&slot_)) {}

ContextEntry::~ContextEntry() {
  swap_current(prev_);
  slot_.data().leave();
}

// The thread-local directly: these are out of line, and a step (not a coroutine) calls them.
ContextScope::ContextScope(ContextSlot& slot) noexcept : prev_(std::exchange(tls_current, &slot)) {}

ContextScope::~ContextScope() { tls_current = prev_; }

}  // namespace internal

// --- Context and Token -----------------------------------------------------------------------

Context::Context() : data_(std::make_shared<internal::ContextData>()) {}

Context Context::copy() const {
  return Context(std::allocate_shared<internal::ContextData>(
      internal::FrameAllocator<internal::ContextData>(), data_->snapshot()));
}

std::size_t Context::size() const { return data_->size(); }

std::string Context::repr() const { return data_->repr(); }

Context copy_context() {
  return Context(std::allocate_shared<internal::ContextData>(
      internal::FrameAllocator<internal::ContextData>(), internal::current_snapshot()));
}

bool Token::used() const { return state_->used.load(std::memory_order_acquire); }

bool Token::has_old_value() const { return state_->old_value != nullptr; }

const std::string& Token::var_name() const { return state_->var->name; }

std::string Token::repr() const {
  return std::string("<Token") + (used() ? " used" : "") + " var=" + state_->var->repr() + " at " +
         internal::address(state_.get()) + ">";
}

}  // namespace v1
}  // namespace stealio
