// Status and Expected<T>: expected failures (bad file, unsupported op, shape mismatch) travel
// as values with an error code and a human-readable message. Broken invariants use NNCERT_CHECK
// instead, which aborts with file:line.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace nncert {

// Error categories. The CLI maps each to a documented exit code (docs/cli.md).
enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,  // bad option or bad user-supplied value
  kIoError,          // missing / unreadable / unwritable file
  kParseError,       // malformed model or input file
  kUnsupported,      // op or feature the tool does not implement
  kInvalidGraph,     // cycle, dangling input, bad attribute
  kShapeMismatch,    // shapes that do not fit together
  kRuntime,          // failure while executing
  kOutOfMemory,
  kTimeout,
  kInterrupted,
  kInternal,
};

const char* error_code_name(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return {}; }

  bool is_ok() const { return code_ == ErrorCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "parse error: <message>"
  std::string to_string() const;
  // Returns a copy whose message is prefixed with `context: `.
  Status with_context(const std::string& context) const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

template <class T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Expected(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).is_ok()) {
      v_ = Status(ErrorCode::kInternal, "Expected constructed from an ok Status");
    }
  }

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Status& status() const {
    static const Status kOkStatus;
    return has_value() ? kOkStatus : std::get<1>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

[[noreturn]] void check_failed(const char* file,
                               int line,
                               const char* expr,
                               const std::string& msg);

}  // namespace nncert

#define NNCERT_CHECK(cond, msg)                                 \
  do {                                                          \
    if (!(cond))                                                \
      ::nncert::check_failed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)

#define NNCERT_RETURN_IF_ERROR(expr) \
  do {                               \
    ::nncert::Status _st = (expr);   \
    if (!_st.is_ok())                \
      return _st;                    \
  } while (0)

#define NNCERT_CONCAT_INNER(a, b) a##b
#define NNCERT_CONCAT(a, b) NNCERT_CONCAT_INNER(a, b)
#define NNCERT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.has_value())                              \
    return tmp.status();                             \
  lhs = std::move(tmp).value()
#define NNCERT_ASSIGN_OR_RETURN(lhs, expr) \
  NNCERT_ASSIGN_OR_RETURN_IMPL(NNCERT_CONCAT(_exp_, __LINE__), lhs, expr)
