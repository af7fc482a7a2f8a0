#include <atomic>
#include <catch2/catch.hpp>

#include "metrics/endpoints.h"

using certguard::Status;
using certguard::metrics::Endpoints;

TEST_CASE("Endpoints: /healthz fails while a liveness check fails", "[metrics]") {
  Endpoints endpoints;
  CHECK(endpoints.Healthz().status == 200);
  std::atomic<bool> stuck{false};
  endpoints.AddLivenessCheck("scan", [&] {
    return stuck ? certguard::Unavailable("a scan has run for 130s") : Status::Ok();
  });
  CHECK(endpoints.Healthz().status == 200);
  CHECK(endpoints.Healthz().body == "ok\n");
  stuck = true;
  auto failing = endpoints.Healthz();
  CHECK(failing.status == 500);
  CHECK(failing.body == "[-]scan failed: a scan has run for 130s\nhealthz check failed\n");
  // Readiness is apart.
  CHECK(endpoints.Readyz(false).status == 200);
}
