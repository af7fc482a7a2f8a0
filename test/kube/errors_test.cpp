#include "kube/errors.h"

#include <catch2/catch.hpp>

#include "support/kube/fake_transport.h"

using certguard::Code;
using certguard::kube::StatusFromHttp;
using certguard::kube::StatusFromStatusObject;
using certguard::kube::testing::StatusResponse;

namespace {
certguard::Status FromStatus(int code, const std::string& reason,
                             certguard::kube::Headers h = {}) {
  auto r = StatusResponse(code, reason, "msg " + reason, std::move(h));
  return StatusFromHttp(r.status, r.headers, r.body);
}
}  // namespace

TEST_CASE("Kubernetes Status bodies map to codes", "[kube][errors]") {
  CHECK(StatusFromHttp(200, {}, "{}").ok());
  CHECK(StatusFromHttp(201, {}, "").ok());
  CHECK(FromStatus(404, "NotFound").code() == Code::kNotFound);
  CHECK(FromStatus(404, "NotFound").message() == "msg NotFound");
  CHECK(FromStatus(409, "AlreadyExists").code() == Code::kAlreadyExists);
  CHECK(FromStatus(409, "Conflict").code() == Code::kConflict);
  CHECK(FromStatus(410, "Expired").code() == Code::kGone);
  CHECK(FromStatus(410, "Gone").code() == Code::kGone);
  CHECK(FromStatus(403, "Forbidden").code() == Code::kForbidden);
  CHECK(FromStatus(401, "Unauthorized").code() == Code::kUnauthorized);
  CHECK(FromStatus(422, "Invalid").code() == Code::kInvalidArgument);
  CHECK(FromStatus(400, "BadRequest").code() == Code::kInvalidArgument);
  CHECK(FromStatus(500, "InternalError").code() == Code::kUnavailable);
  CHECK(FromStatus(503, "ServiceUnavailable").code() == Code::kUnavailable);
  CHECK(FromStatus(504, "Timeout").code() == Code::kDeadlineExceeded);
}

TEST_CASE("429 carries Retry-After from the header or the details", "[kube][errors]") {
  auto s = FromStatus(429, "TooManyRequests", {{"retry-after", "7"}});
  CHECK(s.code() == Code::kTooManyRequests);
  CHECK(s.retry_after_seconds() == 7);
  nlohmann::json st = {{"kind", "Status"}, {"code", 429}, {"reason", "TooManyRequests"},
                       {"details", {{"retryAfterSeconds", 3}}}};
  auto s2 = StatusFromHttp(429, {}, st.dump());
  CHECK(s2.retry_after_seconds() == 3);
  // A date or garbage in Retry-After is not trusted.
  CHECK_FALSE(FromStatus(429, "TooManyRequests", {{"Retry-After", "Wed, 21 Oct 2026"}})
                  .retry_after_seconds()
                  .has_value());
  CHECK_FALSE(FromStatus(429, "TooManyRequests", {{"Retry-After", "-1"}})
                  .retry_after_seconds()
                  .has_value());
}

TEST_CASE("Non-Status error bodies still map by HTTP code", "[kube][errors]") {
  CHECK(StatusFromHttp(404, {}, "404 page not found\n").code() == Code::kNotFound);
  CHECK(StatusFromHttp(404, {}, "404 page not found\n").message() == "404 page not found");
  CHECK(StatusFromHttp(502, {}, "").code() == Code::kUnavailable);
  CHECK(StatusFromHttp(502, {}, "").message() == "HTTP 502");
  CHECK(StatusFromHttp(409, {}, "{\"kind\":\"Other\"}").code() == Code::kConflict);
  CHECK(StatusFromHttp(418, {}, "teapot").code() == Code::kInternal);
  std::string huge(10000, 'z');
  CHECK(StatusFromHttp(500, {}, huge).message().size() == 200);
}

TEST_CASE("Watch ERROR objects map to codes", "[kube][errors]") {
  nlohmann::json gone = {{"kind", "Status"}, {"code", 410}, {"reason", "Expired"},
                         {"message", "too old resource version: 1 (5)"}};
  CHECK(StatusFromStatusObject(gone).code() == Code::kGone);
  CHECK(StatusFromStatusObject(gone).message() == "too old resource version: 1 (5)");
  CHECK(StatusFromStatusObject(nlohmann::json::array()).code() == Code::kInternal);
  CHECK(StatusFromStatusObject({{"code", 500}}).code() == Code::kUnavailable);
}
