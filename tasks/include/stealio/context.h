// Context variables: Python's `contextvars` (Context, ContextVar, Token, copy_context).
//
// A ContextVar<T> names a value that is looked up in the *current context* of the calling thread.
// Every thread has its own base context; Context::run() makes another context current for the
// duration of a call, and the task runtime makes each task's context current while one of its
// steps runs. `copy_context()` snapshots the current context in O(1): a copy shares the
// immutable mapping with its source until either side sets a variable (copy on write).
//
// Handles: Context, ContextVar and Token are cheap handles with shared (reference) semantics, like
// Python objects; copying a handle never copies the mapping. A moved-from handle may only be
// assigned to or destroyed.
//
// Threads: one Context may be current on several threads at once (tasks sharing a context run
// on different workers). Its mapping pointer is guarded by a mutex: get() costs one uncontended
// lock, a hash lookup and a reference-count increment; set() also copies the mapping (O(number
// of variables set in that context)) and allocates the new value and a Token. In a task that has
// set nothing, get() is a hash lookup in the inherited mapping: no lock, no count.
//
// Tasks: each task runs in a copy of its creator's context, as in asyncio, but the copy is made
// on first need (internal::ContextSlot): until the task sets a variable it reads its creator's
// mapping as it was at creation, without a lock, and creating it allocated no context. The
// reference each task holds to that mapping is counted per thread (the creating thread's own
// cache line, not one count every worker writes), so a worker keeps the latest mapping it handed
// on, and the values in it, alive until it hands on another one or exits.
//
// Example:
//   const stealio::ContextVar<std::string> request_id("request_id", "none");
//   request_id.get();                              // "none"
//   stealio::Context ctx = stealio::copy_context();
//   ctx.run([&] {
//     stealio::Token t = request_id.set("r-42");
//     request_id.get();                            // "r-42"
//     request_id.reset(t);
//   });
//   request_id.get();                              // "none": the set stayed inside ctx
#ifndef STEALIO_CONTEXT_H_
#define STEALIO_CONTEXT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace stealio {
inline namespace v1 {

class Context;
class Token;
template <class T>
class ContextVar;

namespace internal {

class ContextData;  // tasks/internal/context_impl.h
struct TokenState;  // tasks/internal/context_impl.h

// A value of any type, as stored in a context's mapping. The ContextVar<T> that stored it knows T.
using ErasedValue = std::shared_ptr<const void>;

// The type-independent part of a ContextVar: identity, name and default.
struct VarCore {
  VarCore(std::string var_name, ErasedValue default_val);
  const std::uint64_t id;  // process-unique, never reused: the key in context mappings
  const std::string name;
  const ErasedValue default_value;  // null: no default
  // Python's repr: "<ContextVar name='x' at 0x...>".
  std::string repr() const;
};

// Out-of-line operations behind the templates (they reach thread-local state; see context.cc).
ErasedValue context_lookup(const ContextData& ctx, std::uint64_t var_id);
// The value of `var_id` in the current context, or null. When the value needs a reference to
// stay alive (a context that another thread may change meanwhile), it is put in `keep`;
// otherwise (a task's inherited mapping) the value lives as long as the running step.
const void* current_find(std::uint64_t var_id, ErasedValue& keep);
Token current_set(const std::shared_ptr<const VarCore>& var, ErasedValue value);
void current_reset(const VarCore& var, const Token& token);
[[noreturn]] void raise_lookup_error(const VarCore& var);

struct ContextMap;  // tasks/internal/context_impl.h: an immutable var id -> value mapping

// The context of a task or of a done callback, as the runtime keeps it. Either a given Context
// (shared), or a copy of the creator's context not made yet: the creator's mapping, shared, made
// into a ContextData of its own on first need (a ContextVar set or reset while it is current).
// Python copies the context for every task and callback; most never set a variable, so the copy
// is deferred: creating a task from an empty context allocates nothing and touches no count.
// A slot is current on one thread at a time (a task's steps never overlap), so making the
// context needs no lock.
class ContextSlot {
 public:
  // A copy, not made yet, of the calling thread's current context (copy_context()).
  static ContextSlot inherit_current();
  // `ctx` itself, shared.
  explicit ContextSlot(Context ctx) noexcept;
  ContextSlot() noexcept = default;  // an empty context, not made yet

  // The context, made now if it was not yet.
  ContextData& data();
  // current_find() on this slot: a value of the inherited mapping is read in place, without a
  // reference (every task reading one value would write its count: a line all workers write).
  const void* find(std::uint64_t var_id, ErasedValue& keep) const;
  std::shared_ptr<const ContextMap> snapshot() const;

 private:
  std::shared_ptr<ContextData> data_;  // null until made, unless given
  // The mapping inherited (null: empty). Kept after data_ is made, so that a value found in it
  // stays alive for the slot's life, even when reading it (T's copy) sets a variable.
  std::shared_ptr<const ContextMap> inherited_;
};

// Context::run's guard: marks the context entered (RuntimeError if it already is) and makes it
// current on this thread; the destructor restores the previous context and clears the mark.
class ContextEntry {
 public:
  explicit ContextEntry(const Context& ctx);
  ~ContextEntry();
  ContextEntry(const ContextEntry&) = delete;
  ContextEntry& operator=(const ContextEntry&) = delete;

 private:
  ContextSlot slot_;
  ContextSlot* const prev_;
};

// For the task runtime (task steps, done callbacks), not for users: makes `slot` the calling
// thread's current context until destroyed, then restores the previous one. Unlike
// Context::run it does not check or mark the context as entered, because tasks sharing one
// context may run at the same time on different workers. `slot` must outlive the scope, and the
// scope must end on the thread that made it (never across a suspension point).
//
// Example:
//   void TaskCore::step() {
//     ContextScope scope(context_);
//     resume_.resume();
//   }
class ContextScope {
 public:
  explicit ContextScope(ContextSlot& slot) noexcept;
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  ContextSlot* const prev_;
};

}  // namespace internal

// Python's contextvars.Context: a mapping from ContextVars to values, and the scope in which
// ContextVar::get/set operate while it is current.
//
// Example:
//   stealio::ContextVar<int> var("var");
//   stealio::Context ctx;                       // new, empty
//   int r = ctx.run([&](int x) { var.set(x); return var.get(); }, 7);  // 7
//   ctx.get(var);                               // std::optional<int>(7)
//   var.get(0);                                 // 0: the set happened inside ctx only
class Context {
 public:
  // A new, empty context (Python's Context()).
  Context();

  // A new context holding the same mapping (Python's Context.copy()); O(1).
  Context copy() const;

  // Makes this context current on the calling thread, calls fn(args...), restores the previous
  // context (also when fn throws) and returns fn's result. Raises RuntimeError
  // "cannot enter context: <Context object at 0x...> is already entered" if this context is
  // already being run, on this thread or another.
  template <class F, class... Args>
  std::invoke_result_t<F, Args...> run(F&& fn, Args&&... args) const {
    internal::ContextEntry entry(*this);
    return std::invoke(std::forward<F>(fn), std::forward<Args>(args)...);
  }

  // Number of variables that have a value in this context (Python's len(ctx)).
  std::size_t size() const;

  // Whether `var` has a value in this context (Python's `var in ctx`).
  template <class T>
  bool contains(const ContextVar<T>& var) const;

  // The value of `var` in this context, or nullopt; var's default is not consulted
  // (Python's ctx.get(var)).
  template <class T>
  std::optional<T> get(const ContextVar<T>& var) const;

  // The value of `var` in this context, or `default_value` (Python's ctx.get(var, default)).
  template <class T>
  T get(const ContextVar<T>& var, T default_value) const;

  // "<Context object at 0x...>".
  std::string repr() const;

 private:
  friend class internal::ContextEntry;
  friend class internal::ContextSlot;
  friend Context copy_context();

  explicit Context(std::shared_ptr<internal::ContextData> data) : data_(std::move(data)) {}

  std::shared_ptr<internal::ContextData> data_;
};

// A new Context holding the mapping of the calling thread's current context (Python's
// contextvars.copy_context()); O(1). Sets made in either afterwards are not seen by the other.
//
// Example:
//   var.set(1);
//   stealio::Context snap = stealio::copy_context();
//   var.set(2);
//   snap.get(var);  // 1
Context copy_context();

// Python's contextvars.Token: what ContextVar::set returns, to undo that set with
// ContextVar::reset. A token may be used once, with the variable and in the context that made it.
//
// Example:
//   stealio::Token t = var.set(5);
//   var.reset(t);   // var back to its value (or absence) before the set
//   t.used();       // true
class Token {
 public:
  // Whether reset() has consumed this token.
  bool used() const;
  // Whether the variable had a value before the set (Python: old_value is not Token.MISSING).
  bool has_old_value() const;
  // Name of the variable that made the token.
  const std::string& var_name() const;
  // Python's repr: "<Token var=<ContextVar name='x' at 0x...> at 0x...>", with " used" after
  // "<Token" once used.
  std::string repr() const;

 private:
  friend Token internal::current_set(const std::shared_ptr<const internal::VarCore>&,
                                     internal::ErasedValue);
  friend void internal::current_reset(const internal::VarCore&, const Token&);

  explicit Token(std::shared_ptr<internal::TokenState> state) : state_(std::move(state)) {}

  std::shared_ptr<internal::TokenState> state_;
};

// Python's contextvars.ContextVar: a variable whose value depends on the current context.
// T may be any copyable type. Copies of a ContextVar are the same variable.
//
// Example:
//   const stealio::ContextVar<int> depth("depth", 0);
//   depth.get();                 // 0 (the default)
//   stealio::Token t = depth.set(depth.get() + 1);
//   depth.get();                 // 1
//   depth.reset(t);              // back to unset: get() returns the default again
//   stealio::ContextVar<int> no_default("x");
//   no_default.get();            // throws LookupError "<ContextVar name='x' at 0x...>"
template <class T>
class ContextVar {
  static_assert(std::is_object_v<T> && std::is_copy_constructible_v<T>,
                "ContextVar<T> needs a copyable object type");

 public:
  // A variable with no default: get() raises LookupError where it has no value.
  explicit ContextVar(std::string name)
      : core_(std::make_shared<const internal::VarCore>(std::move(name), nullptr)) {}

  // A variable whose get() returns `default_value` where it has no value.
  ContextVar(std::string name, T default_value)
      : core_(std::make_shared<const internal::VarCore>(std::move(name),
                                                        erase(std::move(default_value)))) {}

  const std::string& name() const { return core_->name; }

  // The value in the current context, else the default, else raises LookupError with this
  // variable's repr as the message.
  T get() const {
    internal::ErasedValue keep;
    if (const void* v = internal::current_find(core_->id, keep)) return *static_cast<const T*>(v);
    if (core_->default_value) return unerase(core_->default_value);
    internal::raise_lookup_error(*core_);
  }

  // The value in the current context, else `default_value` (the variable's default is ignored,
  // as in Python).
  T get(T default_value) const {
    internal::ErasedValue keep;
    if (const void* v = internal::current_find(core_->id, keep)) return *static_cast<const T*>(v);
    return default_value;
  }

  // Sets the value in the current context; the Token undoes it with reset().
  Token set(T value) const { return internal::current_set(core_, erase(std::move(value))); }

  // Restores the value this variable had before the set that made `token`. Raises
  // RuntimeError "<Token ...> has already been used once",
  // ValueError "<Token ...> was created by a different ContextVar", or
  // ValueError "<Token ...> was created in a different Context".
  void reset(const Token& token) const { internal::current_reset(*core_, token); }

  // "<ContextVar name='x' at 0x...>".
  std::string repr() const { return core_->repr(); }

 private:
  friend class Context;

  static internal::ErasedValue erase(T value) {
    return std::shared_ptr<const T>(std::make_shared<T>(std::move(value)));
  }
  static const T& unerase(const internal::ErasedValue& v) {
    return *static_cast<const T*>(v.get());
  }

  std::shared_ptr<const internal::VarCore> core_;
};

template <class T>
bool Context::contains(const ContextVar<T>& var) const {
  return internal::context_lookup(*data_, var.core_->id) != nullptr;
}

template <class T>
std::optional<T> Context::get(const ContextVar<T>& var) const {
  internal::ErasedValue v = internal::context_lookup(*data_, var.core_->id);
  if (!v) return std::nullopt;
  return ContextVar<T>::unerase(v);
}

template <class T>
T Context::get(const ContextVar<T>& var, T default_value) const {
  internal::ErasedValue v = internal::context_lookup(*data_, var.core_->id);
  if (!v) return default_value;
  return ContextVar<T>::unerase(v);
}

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_CONTEXT_H_
