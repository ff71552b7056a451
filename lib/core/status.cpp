#include "core/status.h"

namespace nncert {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kIoError:
      return "I/O error";
    case ErrorCode::kParseError:
      return "parse error";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kInvalidGraph:
      return "invalid graph";
    case ErrorCode::kShapeMismatch:
      return "shape mismatch";
    case ErrorCode::kRuntime:
      return "runtime error";
    case ErrorCode::kOutOfMemory:
      return "out of memory";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kInterrupted:
      return "interrupted";
    case ErrorCode::kInternal:
      return "internal error";
  }
  return "unknown error";
}

std::string Status::to_string() const {
  if (is_ok())
    return "ok";
  return std::string(error_code_name(code_)) + ": " + message_;
}

Status Status::with_context(const std::string& context) const {
  if (is_ok())
    return *this;
  return {code_, context + ": " + message_};
}

void check_failed(const char* file, int line, const char* expr, const std::string& msg) {
  std::fprintf(
      stderr, "nncert: internal check failed at %s:%d: %s (%s)\n", file, line, expr, msg.c_str());
  std::abort();
}

}  // namespace nncert
