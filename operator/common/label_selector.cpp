#include "common/label_selector.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace certguard::common {

namespace {

Result<std::vector<std::string>> StringList(const nlohmann::json& j, const std::string& where) {
  if (!j.is_array()) return InvalidArgument(where + " must be a list of strings");
  std::vector<std::string> out;
  for (const auto& v : j) {
    if (!v.is_string()) return InvalidArgument(where + " must be a list of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

Result<LabelSelector> LabelSelector::FromJson(const nlohmann::json& selector) {
  LabelSelector s;
  if (selector.is_null()) return s;
  if (!selector.is_object()) return InvalidArgument("nodeSelector must be an object");
  for (const auto& [field, _] : selector.items()) {
    if (field != "matchLabels" && field != "matchExpressions") {
      return InvalidArgument("nodeSelector: unknown field " + field);
    }
  }
  if (auto it = selector.find("matchLabels"); it != selector.end() && !it->is_null()) {
    if (!it->is_object()) return InvalidArgument("nodeSelector.matchLabels must be an object");
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) {
        return InvalidArgument("nodeSelector.matchLabels." + k + " must be a string");
      }
      s.requirements_.push_back({k, Operator::kIn, {v.get<std::string>()}});
    }
  }
  if (auto it = selector.find("matchExpressions"); it != selector.end() && !it->is_null()) {
    if (!it->is_array()) return InvalidArgument("nodeSelector.matchExpressions must be a list");
    size_t i = 0;
    for (const auto& e : *it) {
      std::string where = "nodeSelector.matchExpressions[" + std::to_string(i++) + "]";
      if (!e.is_object()) return InvalidArgument(where + " must be an object");
      auto key = e.find("key");
      auto op = e.find("operator");
      if (key == e.end() || !key->is_string() || key->get<std::string>().empty()) {
        return InvalidArgument(where + ".key must be a non-empty string");
      }
      if (op == e.end() || !op->is_string()) {
        return InvalidArgument(where + ".operator must be a string");
      }
      Requirement r;
      r.key = key->get<std::string>();
      const std::string ops = op->get<std::string>();
      if (ops == "In") {
        r.op = Operator::kIn;
      } else if (ops == "NotIn") {
        r.op = Operator::kNotIn;
      } else if (ops == "Exists") {
        r.op = Operator::kExists;
      } else if (ops == "DoesNotExist") {
        r.op = Operator::kDoesNotExist;
      } else {
        return InvalidArgument(where + ".operator " + ops +
                               " is not In, NotIn, Exists or DoesNotExist");
      }
      if (auto vals = e.find("values"); vals != e.end() && !vals->is_null()) {
        auto list = StringList(*vals, where + ".values");
        if (!list.ok()) return list.status();
        r.values = std::move(*list);
      }
      bool needs_values = r.op == Operator::kIn || r.op == Operator::kNotIn;
      if (needs_values && r.values.empty()) {
        return InvalidArgument(where + ": operator " + ops + " needs values");
      }
      if (!needs_values && !r.values.empty()) {
        return InvalidArgument(where + ": operator " + ops + " takes no values");
      }
      s.requirements_.push_back(std::move(r));
    }
  }
  return s;
}

bool LabelSelector::Matches(const Labels& labels) const {
  for (const auto& r : requirements_) {
    auto it = labels.find(r.key);
    bool has = it != labels.end();
    bool in = has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    switch (r.op) {
      case Operator::kIn:
        if (!in) return false;
        break;
      case Operator::kNotIn:  // as in Kubernetes, a missing key satisfies NotIn
        if (in) return false;
        break;
      case Operator::kExists:
        if (!has) return false;
        break;
      case Operator::kDoesNotExist:
        if (has) return false;
        break;
    }
  }
  return true;
}

std::string LabelSelector::ToString() const {
  std::string out;
  for (const auto& r : requirements_) {
    if (!out.empty()) out += ",";
    auto join = [&] {
      std::string v;
      for (const auto& s : r.values) v += (v.empty() ? "" : ",") + s;
      return v;
    };
    switch (r.op) {
      case Operator::kIn:
        out += r.values.size() == 1 ? r.key + "=" + r.values[0] : r.key + " in (" + join() + ")";
        break;
      case Operator::kNotIn:
        out += r.key + " notin (" + join() + ")";
        break;
      case Operator::kExists:
        out += r.key;
        break;
      case Operator::kDoesNotExist:
        out += "!" + r.key;
        break;
    }
  }
  return out;
}

}  // namespace certguard::common
