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

namespace certguard::common {

namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// A label name or value: at most 63 of [A-Za-z0-9._-], alphanumeric at both ends.
bool IsLabelToken(std::string_view s, bool allow_empty) {
  if (s.empty()) return allow_empty;
  if (s.size() > 63 || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlnum(c) || c == '.' || c == '_' || c == '-'; });
}

// A DNS subdomain (the optional prefix of a label key).
bool IsDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view part = s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (part.empty() || part.size() > 63 || part.front() == '-' || part.back() == '-') return false;
    for (char c : part) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

void SkipSpaces(std::string_view text, size_t& i) {
  while (i < text.size() && text[i] == ' ') ++i;
}

// Characters of a key or value: anything up to a separator.
std::string_view Word(std::string_view text, size_t& i) {
  size_t start = i;
  while (i < text.size() && std::string_view(" ,()=!").find(text[i]) == std::string_view::npos) ++i;
  return text.substr(start, i - start);
}

}  // namespace

bool IsLabelKey(std::string_view key) {
  size_t slash = key.find('/');
  if (slash == std::string_view::npos) return IsLabelToken(key, false);
  return IsDnsSubdomain(key.substr(0, slash)) && IsLabelToken(key.substr(slash + 1), false);
}

bool IsLabelValue(std::string_view value) { return IsLabelToken(value, true); }

Result<LabelSelector> LabelSelector::Parse(const std::string& text_in) {
  const std::string_view text = text_in;
  LabelSelector s;
  size_t i = 0;
  SkipSpaces(text, i);
  if (i == text.size()) return s;
  auto bad = [&](const std::string& why) {
    return InvalidArgument("label selector \"" + text_in + "\": " + why);
  };
  while (true) {
    SkipSpaces(text, i);
    Requirement r;
    bool negated = false;
    if (i < text.size() && text[i] == '!') {
      negated = true;
      ++i;
      SkipSpaces(text, i);
    }
    r.key = std::string(Word(text, i));
    if (r.key.empty()) return bad("a requirement has no key");
    if (!IsLabelKey(r.key)) return bad("\"" + r.key + "\" is not a label key");
    SkipSpaces(text, i);
    if (negated) {
      r.op = Operator::kDoesNotExist;
    } else if (i == text.size() || text[i] == ',') {
      r.op = Operator::kExists;
    } else if (text[i] == '=' || text[i] == '!') {
      const bool not_equal = text[i] == '!';
      ++i;
      if (i < text.size() && text[i] == '=') {
        ++i;
      } else if (not_equal) {
        return bad("\"!\" after key " + r.key + " must be \"!=\"");
      }
      SkipSpaces(text, i);
      std::string value(Word(text, i));
      if (!IsLabelValue(value)) return bad("\"" + value + "\" is not a label value");
      r.op = not_equal ? Operator::kNotIn : Operator::kIn;
      r.values.push_back(std::move(value));
    } else {
      std::string op(Word(text, i));
      if (op != "in" && op != "notin") return bad("unknown operator \"" + op + "\" after " + r.key);
      r.op = op == "in" ? Operator::kIn : Operator::kNotIn;
      SkipSpaces(text, i);
      if (i == text.size() || text[i] != '(') return bad(op + " needs a list in parentheses");
      ++i;
      while (true) {
        SkipSpaces(text, i);
        std::string value(Word(text, i));
        if (!IsLabelValue(value)) return bad("\"" + value + "\" is not a label value");
        r.values.push_back(std::move(value));
        SkipSpaces(text, i);
        if (i < text.size() && text[i] == ',') {
          ++i;
          continue;
        }
        if (i < text.size() && text[i] == ')') {
          ++i;
          break;
        }
        return bad("unclosed list after " + op);
      }
    }
    SkipSpaces(text, i);
    s.requirements_.push_back(std::move(r));
    if (i == text.size()) return s;
    if (text[i] != ',') return bad(std::string("unexpected \"") + text[i] + "\"");
    ++i;
  }
}

}  // namespace certguard::common
