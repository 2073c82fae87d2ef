// stealio's exception types, shaped after asyncio's.
//
// Misuse of the asyncio-shaped API raises the exception asyncio raises, with asyncio's message,
// so behaviour can be compared one to one with CPython. Every type derives from stealio::Error.
//
// Example:
//   try {
//     stealio::get_running_loop();
//   } catch (const stealio::RuntimeError& e) {
//     std::cerr << e.what();  // "no running event loop"
//   }
#ifndef STEALIO_ERRORS_H_
#define STEALIO_ERRORS_H_

#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace stealio {
inline namespace v1 {

// Base of every exception stealio raises.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// asyncio's RuntimeError: protocol misuse, closed loops, no running loop.
class RuntimeError : public Error {
 public:
  using Error::Error;
};

// asyncio.InvalidStateError: an operation not allowed in the future's current state.
class InvalidStateError : public Error {
 public:
  using Error::Error;
};

// asyncio.CancelledError. `what()` is the cancel message (empty when none was given).
class CancelledError : public Error {
 public:
  CancelledError() : Error("") {}
  using Error::Error;
};

// asyncio.TimeoutError (TimeoutError in Python 3.11+).
class TimeoutError : public Error {
 public:
  TimeoutError() : Error("") {}
  using Error::Error;
};

// Python's LookupError (contextvars: a variable with no value and no default).
class LookupError : public Error {
 public:
  using Error::Error;
};

// Python's ValueError (contextvars: a token used with the wrong variable or context).
class ValueError : public Error {
 public:
  using Error::Error;
};

// asyncio.QueueFull / QueueEmpty / QueueShutDown (3.13).
class QueueFull : public Error {
 public:
  QueueFull() : Error("") {}
  using Error::Error;
};
class QueueEmpty : public Error {
 public:
  QueueEmpty() : Error("") {}
  using Error::Error;
};
class QueueShutDown : public Error {
 public:
  QueueShutDown() : Error("") {}
  using Error::Error;
};

// asyncio.BrokenBarrierError.
class BrokenBarrierError : public Error {
 public:
  using Error::Error;
};

// Python's ExceptionGroup (TaskGroup raises it): one error carrying several.
class ExceptionGroup : public Error {
 public:
  ExceptionGroup(std::string message, std::vector<std::exception_ptr> exceptions)
      : Error(std::move(message)), exceptions_(std::move(exceptions)) {}
  const std::vector<std::exception_ptr>& exceptions() const noexcept { return exceptions_; }

 private:
  std::vector<std::exception_ptr> exceptions_;
};

}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_ERRORS_H_
