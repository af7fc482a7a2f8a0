#include "common/table.h"

#include <catch2/catch.hpp>

using certguard::common::FormatTable;

TEST_CASE("FormatTable pads columns like kubectl", "[common][table]") {
  std::string t = FormatTable({"NAME", "SIGNER", "DECISION"},
                              {{"csr-1", "kubernetes.io/kubelet-serving", "Approve"},
                               {"csr-long-name", "x", "Deny"}});
  CHECK(t ==
        "NAME            SIGNER                          DECISION\n"
        "csr-1           kubernetes.io/kubelet-serving   Approve\n"
        "csr-long-name   x                               Deny\n");
}

TEST_CASE("FormatTable copes with ragged rows and control characters", "[common][table]") {
  std::string t = FormatTable({"A", "B"}, {{"x"}, {"y", "two\nlines", "dropped"}});
  CHECK(t ==
        "A   B\n"
        "x\n"
        "y   two lines\n");
  CHECK(FormatTable({"A"}, {}) == "A\n");
  // UTF-8 counts by characters.
  CHECK(FormatTable({"N", "M"}, {{"é", "1"}}) == "N   M\né   1\n");
}
