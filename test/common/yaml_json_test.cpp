#include "common/yaml_json.h"

#include <catch2/catch.hpp>

using namespace certguard::common;

TEST_CASE("JSON is read as JSON", "[common][yaml]") {
  auto j = ParseYamlOrJson(R"({"a": [1, "2", true, null], "b": {"c": 1.5}})");
  REQUIRE(j.ok());
  CHECK((*j)["a"][0] == 1);
  CHECK((*j)["a"][1] == "2");
  CHECK((*j)["a"][2] == true);
  CHECK((*j)["a"][3].is_null());
  CHECK((*j)["b"]["c"] == 1.5);
}

TEST_CASE("YAML scalars: quoted stay strings, plain ones are typed", "[common][yaml]") {
  auto j = ParseYamlOrJson(R"(
apiVersion: v1
kind: Node
quoted: "123"
single: 'true'
plain_int: 600
negative: -3
plain_float: 1.5
yes_word: yes
plain_bool: true
plain_null: ~
empty:
tagged: !!str 42
ip: 10.0.0.1
version: 1.20.3
name: worker-1
list:
  - a
  - 2
nested: {k: v}
)");
  REQUIRE(j.ok());
  CHECK((*j)["quoted"] == "123");
  CHECK((*j)["single"] == "true");
  CHECK((*j)["plain_int"] == 600);
  CHECK((*j)["plain_int"].is_number_integer());
  CHECK((*j)["negative"] == -3);
  CHECK((*j)["plain_float"] == 1.5);
  CHECK((*j)["yes_word"] == "yes");  // YAML 1.2: not a boolean
  CHECK((*j)["plain_bool"] == true);
  CHECK((*j)["plain_null"].is_null());
  CHECK((*j)["empty"].is_null());
  CHECK((*j)["tagged"] == "42");
  CHECK((*j)["ip"] == "10.0.0.1");
  CHECK((*j)["version"] == "1.20.3");
  CHECK((*j)["name"] == "worker-1");
  CHECK((*j)["list"][1] == 2);
  CHECK((*j)["nested"]["k"] == "v");
}

TEST_CASE("multi-document YAML and Lists flatten into objects", "[common][yaml]") {
  auto docs = ParseDocuments("---\nkind: A\n---\n---\nkind: List\nitems:\n- kind: B\n- kind: C\n");
  REQUIRE(docs.ok());
  CHECK(docs->size() == 2);
  auto objs = FlattenObjects(*docs);
  REQUIRE(objs.ok());
  REQUIRE(objs->size() == 3);
  CHECK((*objs)[0]["kind"] == "A");
  CHECK((*objs)[2]["kind"] == "C");
  CHECK_FALSE(ParseYamlOrJson("kind: A\n---\nkind: B\n").ok());
  CHECK_FALSE(FlattenObjects({nlohmann::json::array()}).ok());
  CHECK_FALSE(FlattenObjects({nlohmann::json::parse(R"({"kind":"NodeList","items":[1]})")}).ok());
  auto empty_list = FlattenObjects({nlohmann::json::parse(R"({"kind":"NodeList","items":null})")});
  REQUIRE(empty_list.ok());
  CHECK(empty_list->empty());
}

TEST_CASE("bad YAML is an error, never an exception", "[common][yaml]") {
  for (auto bad : {"a: [1, 2", "key: value\n  - broken: [", "{a: b", "\t- x: y\n- : ]"}) {
    INFO(bad);
    CHECK_FALSE(ParseDocuments(bad).ok());
  }
  std::string deep(5000, '[');
  CHECK_FALSE(ParseDocuments(deep).ok());
  CHECK(ParseDocuments("").value().empty());
}
