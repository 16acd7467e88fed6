#pragma once

// Tailor's one result type. Expected failures (bad input, network errors,
// rejected calls) travel as values; broken invariants abort. See
// docs/errors.md for the policy.

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace tailor {

enum class ErrorCode {
  kInvalidArgument,  // the caller's input is wrong (spec, flag, request body)
  kNotFound,
  kUnavailable,  // a peer could not be reached; retrying may help
  kFailedPrecondition,
  kInternal,
  kIo,
  kUnauthenticated,  // the peer refused the caller's credentials (a job secret)
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // Returns a copy whose message is prefixed with `context`.
  Error withContext(const std::string& context) const {
    return Error{code, context + ": " + message};
  }
};

template <typename... Args>
Error makeError(ErrorCode code, fmt::format_string<Args...> format, Args&&... args) {
  return Error{code, fmt::format(format, std::forward<Args>(args)...)};
}

// Either a value or an Error. Accessing the wrong alternative aborts.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

// The result of an operation that yields nothing but may fail.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  static Status okStatus() { return Status(); }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace tailor
