// Result<T>: a value-or-exception slot shared by Coro promises, futures and tasks. T may be
// void, a reference, or a move-only type.
#ifndef STEALIO_TASKS_INTERNAL_RESULT_H_
#define STEALIO_TASKS_INTERNAL_RESULT_H_

#include <exception>
#include <memory>
#include <optional>
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
