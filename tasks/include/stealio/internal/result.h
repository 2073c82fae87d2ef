// ValueSlot<T>: the value slot of Coro promises, futures and tasks. T may be void, a reference,
// or a move-only type. The slot is read only once its owner knows a value was set (a finished
// future, a coroutine that returned), so for a trivial T it keeps no flag of its own.
#ifndef STEALIO_TASKS_INTERNAL_RESULT_H_
#define STEALIO_TASKS_INTERNAL_RESULT_H_

#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace stealio {
inline namespace v1 {
namespace internal {

template <class T>
class ValueSlot {
 public:
  template <class U>
  void set(U&& v) {
    value_.emplace(std::forward<U>(v));
  }
  T& get() { return *value_; }
  T take() { return std::move(*value_); }
  void reset() { value_.reset(); }

 private:
  std::optional<T> value_;
};

// A trivially copyable and destructible T needs no record of whether it was made: nothing has
// to be destroyed either way. std::optional's flag would round an 8-byte T up to 16 bytes:
// TaskState<std::uint64_t> was 264 bytes, a 272-byte allocation with its padding; it is 256.
template <class T>
  requires(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T> &&
           !std::is_const_v<T>)
class ValueSlot<T> {
 public:
  template <class U>
  void set(U&& v) {
    std::construct_at(&storage_.value, std::forward<U>(v));
  }
  T& get() { return storage_.value; }
  T take() { return std::move(storage_.value); }
  void reset() {}

 private:
  union Storage {
    Storage() noexcept {}  // leaves the value unmade until set()
    T value;
  } storage_;
};

template <class T>
class ValueSlot<T&> {
 public:
  void set(T& v) { value_ = std::addressof(v); }
  T& get() { return *value_; }
  T& take() { return *value_; }
  void reset() { value_ = nullptr; }

 private:
  T* value_ = nullptr;
};

template <>
class ValueSlot<void> {
 public:
  void get() {}
  void take() {}
  void reset() {}
};

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_TASKS_INTERNAL_RESULT_H_
