#include "common/log.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace certguard;

TEST_CASE("text log lines put fields after the message", "[common][log]") {
  auto line = log::Render(log::Format::kText, "2026-01-02T03:04:05.000Z", "info", "decided",
                          {{"csr", "csr-abc"}, {"reason", "SAN not a node address"}});
  CHECK(line == "2026-01-02T03:04:05.000Z info decided csr=csr-abc reason=\"SAN not a node address\"");
}

TEST_CASE("json log lines are one parseable object", "[common][log]") {
  auto line = log::Render(log::Format::kJson, "2026-01-02T03:04:05.000Z", "warn", "bad \"pem\"\n",
                          {{"bundle", "lb-ca"}, {"bytes", "\xff\xfe"}});
  auto j = nlohmann::json::parse(line);
  CHECK(j["time"] == "2026-01-02T03:04:05.000Z");
  CHECK(j["level"] == "warn");
  CHECK(j["msg"] == "bad \"pem\"\n");
  CHECK(j["bundle"] == "lb-ca");
  CHECK(j.contains("bytes"));  // invalid UTF-8 replaced, not thrown
  CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("log Init refuses unknown formats and levels", "[common][log]") {
  CHECK(log::Init("json", "debug").ok());
  CHECK(log::Init("text", "info").ok());
  CHECK(log::Init("xml", "info").code() == Code::kInvalidArgument);
  CHECK(log::Init("text", "loud").code() == Code::kInvalidArgument);
  CHECK(log::Init("text", "off").ok());
  CHECK(log::Init("text", "info").ok());
}
