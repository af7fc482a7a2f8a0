#include "common/json_fields.h"

#include <catch2/catch.hpp>

using certguard::common::Field;
using certguard::common::Str;
using certguard::common::StrMap;
using nlohmann::json;

TEST_CASE("json fields: present values are read", "[common][json]") {
  json obj = {{"metadata", {{"name", "node-a"}, {"labels", {{"a", "1"}, {"b", "2"}}}}}};
  CHECK(Field(obj, "metadata").is_object());
  CHECK(Str(obj, "metadata", "name") == "node-a");
  CHECK(Str(Field(obj, "metadata"), "name") == "node-a");
  CHECK(StrMap(Field(Field(obj, "metadata"), "labels")) ==
        std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}});
}

TEST_CASE("json fields: missing or mistyped values read as empty", "[common][json]") {
  json obj = {{"metadata", "not-an-object"}, {"n", 3}, {"labels", {{"a", 1}, {"b", "x"}}}};
  CHECK(Field(obj, "absent").is_null());
  CHECK(Field(json::array({1, 2}), "metadata").is_null());
  CHECK(Field(json(), "metadata").is_null());
  CHECK(Str(obj, "n").empty());
  CHECK(Str(obj, "metadata", "name").empty());
  CHECK(Str(json("text"), "metadata", "name").empty());
  // Only string values are kept: a number label is not a label.
  CHECK(StrMap(Field(obj, "labels")) == std::map<std::string, std::string>{{"b", "x"}});
  CHECK(StrMap(json::array()).empty());
}
