#include "common/label_selector.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using certguard::common::Labels;
using certguard::common::LabelSelector;

namespace {
LabelSelector Sel(const char* text) {
  auto s = LabelSelector::FromJson(nlohmann::json::parse(text));
  REQUIRE(s.ok());
  return *s;
}
}  // namespace

TEST_CASE("label selectors match as in Kubernetes", "[common][selector]") {
  const Labels labels{{"zone", "a"}, {"pool", "gpu"}};
  CHECK(Sel("{}").Matches(labels));
  CHECK(Sel("{}").Matches({}));
  CHECK(Sel("null").empty());
  CHECK(Sel(R"({"matchLabels":{"zone":"a"}})").Matches(labels));
  CHECK_FALSE(Sel(R"({"matchLabels":{"zone":"b"}})").Matches(labels));
  CHECK_FALSE(Sel(R"({"matchLabels":{"zone":"a","x":"y"}})").Matches(labels));
  auto expr = [](const char* op, const char* values) {
    return Sel((std::string(R"({"matchExpressions":[{"key":"zone","operator":")") + op + "\"" +
                (values[0] ? std::string(",\"values\":") + values : "") + "}]}")
                   .c_str());
  };
  CHECK(expr("In", R"(["a","b"])").Matches(labels));
  CHECK_FALSE(expr("In", R"(["b"])").Matches(labels));
  CHECK_FALSE(expr("In", R"(["a"])").Matches({}));
  CHECK(expr("NotIn", R"(["b"])").Matches(labels));
  CHECK_FALSE(expr("NotIn", R"(["a"])").Matches(labels));
  CHECK(expr("NotIn", R"(["a"])").Matches({}));  // a missing key satisfies NotIn
  CHECK(expr("Exists", "").Matches(labels));
  CHECK_FALSE(expr("Exists", "").Matches({}));
  CHECK(expr("DoesNotExist", "").Matches({}));
  CHECK_FALSE(expr("DoesNotExist", "").Matches(labels));
  CHECK(Sel(R"({"matchLabels":{"zone":"a"},"matchExpressions":[)"
            R"({"key":"pool","operator":"In","values":["gpu"]},)"
            R"({"key":"legacy","operator":"DoesNotExist"}]})")
            .ToString() == "zone=a,pool=gpu,!legacy");
}

TEST_CASE("malformed label selectors are errors", "[common][selector]") {
  for (auto bad : {R"([])", R"({"matchLabels":[]})", R"({"matchLabels":{"a":1}})",
                   R"({"matchExpressions":{}})", R"({"matchExpressions":[{"operator":"Exists"}]})",
                   R"({"matchExpressions":[{"key":"a","operator":"Near"}]})",
                   R"({"matchExpressions":[{"key":"a","operator":"In"}]})",
                   R"({"matchExpressions":[{"key":"a","operator":"In","values":[]}]})",
                   R"({"matchExpressions":[{"key":"a","operator":"Exists","values":["x"]}]})",
                   R"({"matchExpressions":[{"key":"a","operator":"In","values":[1]}]})",
                   R"({"matchLabel":{"a":"b"}})"}) {
    INFO(bad);
    CHECK_FALSE(LabelSelector::FromJson(nlohmann::json::parse(bad)).ok());
  }
}
