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

TEST_CASE("label selectors parse from their string form", "[common][selector]") {
  auto parse = [](const char* text) {
    auto s = LabelSelector::Parse(text);
    INFO(text << ": " << s.status().ToString());
    REQUIRE(s.ok());
    return *s;
  };
  const Labels team_a{{"team", "a"}, {"env", "prod"}};
  const Labels team_b{{"team", "b"}};
  CHECK(parse("").empty());
  CHECK(parse("  ").Matches(team_a));
  CHECK(parse("team=a").Matches(team_a));
  CHECK_FALSE(parse("team=a").Matches(team_b));
  CHECK(parse("team==a").Matches(team_a));
  CHECK(parse("team!=a").Matches(team_b));
  CHECK(parse("team!=a").Matches({}));  // a missing key satisfies !=, as in Kubernetes
  CHECK_FALSE(parse("team!=a").Matches(team_a));
  CHECK(parse("env").Matches(team_a));
  CHECK_FALSE(parse("env").Matches(team_b));
  CHECK(parse("!env").Matches(team_b));
  CHECK_FALSE(parse("! env").Matches(team_a));
  CHECK(parse("team in (a, b)").Matches(team_b));
  CHECK_FALSE(parse("team notin (a,b)").Matches(team_a));
  CHECK(parse("team notin (c)").Matches(team_a));
  CHECK(parse(" team = a , env in (prod) ").Matches(team_a));
  CHECK_FALSE(parse("team=a,env=dev").Matches(team_a));
  CHECK(parse("example.com/tier=x").Matches({{"example.com/tier", "x"}}));
  CHECK(parse("team=a,env in (prod)").ToString() == "team=a,env=prod");
}

TEST_CASE("label selector strings that do not parse are refused with a reason", "[common][selector]") {
  for (const char* bad : {",", "team=a,", ",team=a", "team=a,,env", "=a", "!", "team!a",
                          "team in a", "team in (a", "team in (a b)", "team like (a)",
                          "team=a b", "-team=a", "team=-a", "Example.com/x=a", "a/b/c=d",
                          "team=$(id)", "team=a)", "team in (a),(b)"}) {
    auto s = LabelSelector::Parse(bad);
    INFO(bad);
    CHECK_FALSE(s.ok());
    CHECK(s.status().message().find("label selector") != std::string::npos);
  }
  CHECK(certguard::common::IsLabelKey("app.kubernetes.io/name"));
  CHECK_FALSE(certguard::common::IsLabelKey(std::string(64, 'a')));
  CHECK(certguard::common::IsLabelValue(""));
  CHECK_FALSE(certguard::common::IsLabelValue("a_"));
}
