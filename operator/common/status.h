// Status and Result<T>: errors as values. Nothing in certguard's core throws
// across an interface; third-party exceptions are caught at the edge and turned
// into a Status.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace certguard {

enum class Code {
  kOk = 0,
  kInvalidArgument,  // bad input: garbage PEM, malformed object, bad flag
  kNotFound,
  kAlreadyExists,
  kConflict,          // stale resourceVersion
  kGone,              // resourceVersion too old (HTTP 410)
  kForbidden,
  kUnauthorized,
  kTooManyRequests,   // throttled; see Status::retry_after_seconds
  kUnavailable,       // network error, server 5xx: worth a retry
  kDeadlineExceeded,
  kInternal,
};

const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Seconds the server asked us to wait (Retry-After), when it said.
  std::optional<int> retry_after_seconds() const { return retry_after_; }
  Status& WithRetryAfter(int seconds) {
    retry_after_ = seconds;
    return *this;
  }

  // "NotFound: configmaps \"x\" not found"
  std::string ToString() const;

  // A copy with context in front of the message: "reading kubeconfig: ...".
  Status Annotate(const std::string& context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
  std::optional<int> retry_after_;
};

inline Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
inline Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
inline Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }
inline Status Unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }

// A value or the reason there is none. The caller must look.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    if (std::get<Status>(v_).ok()) v_ = Status(Code::kInternal, "Result built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  // Precondition: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // OK when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace certguard
