// The HTTPS transport's process-wide settings.
#include "kube/http.h"

#include <catch2/catch.hpp>

using namespace certguard::kube;

TEST_CASE("SetHttpIoThreads sizes the pool once and refuses a second sizing", "[kube][http]") {
  // The first call may come after another test made the pool: either way, the
  // pool exists after it, and a later size can no longer apply.
  (void)SetHttpIoThreads(4);
  CHECK_FALSE(SetHttpIoThreads(2));
}
