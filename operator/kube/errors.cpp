#include "kube/errors.h"

#include <cstdlib>
#include <string>

#include "common/json_parse.h"

namespace certguard::kube {
namespace {

Code CodeFor(int http, const std::string& reason) {
  if (reason == "NotFound") return Code::kNotFound;
  if (reason == "AlreadyExists") return Code::kAlreadyExists;
  if (reason == "Conflict") return Code::kConflict;
  if (reason == "Gone" || reason == "Expired") return Code::kGone;
  if (reason == "Forbidden") return Code::kForbidden;
  if (reason == "Unauthorized") return Code::kUnauthorized;
  if (reason == "TooManyRequests") return Code::kTooManyRequests;
  if (reason == "Invalid" || reason == "BadRequest") return Code::kInvalidArgument;
  if (reason == "Timeout") return Code::kDeadlineExceeded;
  switch (http) {
    case 400: case 422: return Code::kInvalidArgument;
    case 401: return Code::kUnauthorized;
    case 403: return Code::kForbidden;
    case 404: return Code::kNotFound;
    case 409: return Code::kConflict;
    case 410: return Code::kGone;
    case 429: return Code::kTooManyRequests;
    case 504: return Code::kDeadlineExceeded;
    default: break;
  }
  if (http >= 500) return Code::kUnavailable;
  if (reason == "ServiceUnavailable" || reason == "InternalError") return Code::kUnavailable;
  return Code::kInternal;
}

std::optional<int> ParseSeconds(const std::string& s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return std::atoi(s.c_str());
}

}  // namespace

Status StatusFromStatusObject(const nlohmann::json& status) {
  if (!status.is_object()) return Status(Code::kInternal, "malformed Status object");
  std::string reason = status.value("reason", "");
  std::string message = status.value("message", "");
  int code = 0;
  // Read in range, never truncated: 4294967706 as int would be 410 (Gone).
  if (auto it = status.find("code"); it != status.end()) {
    code = static_cast<int>(common::IntIn(*it, 0, 999).value_or(0));
  }
  if (message.empty()) message = reason.empty() ? "HTTP " + std::to_string(code) : reason;
  Status s(CodeFor(code, reason), message);
  if (auto d = status.find("details"); d != status.end() && d->is_object()) {
    if (auto r = d->find("retryAfterSeconds"); r != d->end()) {
      if (auto v = common::IntIn(*r, 0, 999999999)) s.WithRetryAfter(static_cast<int>(*v));
    }
  }
  return s;
}

Status StatusFromHttp(int http_status, const Headers& headers, std::string_view body) {
  if (http_status >= 200 && http_status < 300) return Status::Ok();
  Status s;
  // Too deep or not JSON: the body is shown as text.
  auto parsed = common::ParseJson(body);
  nlohmann::json j = parsed.ok() ? std::move(*parsed) : nlohmann::json();
  if (j.is_object() && j.value("kind", "") == "Status") {
    j["code"] = http_status;  // the HTTP code is the authority
    s = StatusFromStatusObject(j);
  } else {
    std::string text(body.substr(0, 200));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (text.empty()) text = "HTTP " + std::to_string(http_status);
    s = Status(CodeFor(http_status, ""), text);
  }
  if (auto ra = ParseSeconds(HeaderValue(headers, "Retry-After"))) s.WithRetryAfter(*ra);
  return s;
}

}  // namespace certguard::kube
