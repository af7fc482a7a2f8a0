#include "common/status.h"

#include <catch2/catch.hpp>
#include <string>

using certguard::Code;
using certguard::Result;
using certguard::Status;

TEST_CASE("Status carries code, message and context", "[common]") {
  Status ok;
  CHECK(ok.ok());
  CHECK(ok.ToString() == "OK");

  Status nf = certguard::NotFound("configmaps \"x\" not found");
  CHECK_FALSE(nf.ok());
  CHECK(nf.code() == Code::kNotFound);
  CHECK(nf.ToString() == "NotFound: configmaps \"x\" not found");
  CHECK(nf.Annotate("reading bundle").message() == "reading bundle: configmaps \"x\" not found");

  Status throttled(Code::kTooManyRequests, "slow down");
  throttled.WithRetryAfter(3);
  CHECK(throttled.Annotate("list").retry_after_seconds() == 3);
}

TEST_CASE("Result holds a value or a status", "[common]") {
  Result<std::string> good(std::string("pem"));
  REQUIRE(good.ok());
  CHECK(*good == "pem");
  CHECK(good->size() == 3);
  CHECK(good.status().ok());

  Result<std::string> bad(certguard::InvalidArgument("empty input"));
  CHECK_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::kInvalidArgument);

  // An OK status is not a value: it must not pass for success.
  Result<int> confused(Status::Ok());
  CHECK_FALSE(confused.ok());
  CHECK(confused.status().code() == Code::kInternal);
}
