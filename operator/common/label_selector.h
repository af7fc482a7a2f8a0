// Kubernetes label selectors (metav1.LabelSelector): matchLabels and
// matchExpressions with In, NotIn, Exists, DoesNotExist. Pure and thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"

namespace certguard::common {

using Labels = std::map<std::string, std::string>;

class LabelSelector {
 public:
  enum class Operator { kIn, kNotIn, kExists, kDoesNotExist };
  struct Requirement {
    std::string key;
    Operator op = Operator::kExists;
    std::vector<std::string> values;
  };

  // The empty selector: matches every set of labels, as in Kubernetes.
  LabelSelector() = default;

  // {"matchLabels": {...}, "matchExpressions": [{"key", "operator", "values"}]}.
  // InvalidArgument, naming the field, for anything Kubernetes would refuse:
  // an unknown operator, In/NotIn without values, Exists/DoesNotExist with values,
  // a non-string value. Never throws.
  static Result<LabelSelector> FromJson(const nlohmann::json& selector);
  // The string form of kubectl -l and the API's labelSelector parameter:
  // "key=value,key==value,key!=value,key in (a,b),key notin (a,b),key,!key".
  // Keys and values are checked as Kubernetes checks label keys and values.
  // InvalidArgument for anything else (an empty requirement, a stray character);
  // "" is the empty selector.
  static Result<LabelSelector> Parse(const std::string& text);

  bool Matches(const Labels& labels) const;
  bool empty() const { return requirements_.empty(); }
  // "role=gpu,zone in (a,b),!legacy": for messages.
  std::string ToString() const;

 private:
  std::vector<Requirement> requirements_;  // matchLabels become In with one value
};

// Kubernetes' rules for label keys ([prefix/]name) and values.
bool IsLabelKey(std::string_view key);
bool IsLabelValue(std::string_view value);

}  // namespace certguard::common
