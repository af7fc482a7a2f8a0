#include "common/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <re2/re2.h>

#include <string>

#include "common/json_parse.h"

namespace certguard::common {

namespace {

constexpr int kMaxDepth = kMaxJsonDepth;  // deeper nesting is refused, not recursed into

// What converting may produce, against what the text could hold without aliases:
// an alias repeats a node without repeating its text, and nested aliases (a
// "billion laughs") grow exponentially. Without aliases a document has fewer
// nodes than bytes, and its scalars (escapes such as \L grow 2 bytes to 3) at most
// twice the bytes.
struct Budget {
  size_t nodes_left;
  size_t scalar_bytes_left;

  bool Spend(size_t nodes, size_t bytes) {
    if (nodes > nodes_left || bytes > scalar_bytes_left) return false;
    nodes_left -= nodes;
    scalar_bytes_left -= bytes;
    return true;
  }
};

bool IsNull(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

nlohmann::json ConvertScalar(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  const std::string& tag = node.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return text;  // quoted or !!str
  if (tag != "?" && !tag.empty()) {
    if (tag == "tag:yaml.org,2002:int") {
      try {
        return std::stoll(text);
      } catch (...) {
        return text;
      }
    }
    return text;
  }
  if (IsNull(text)) return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  static const RE2 kInt("[-+]?[0-9]+");
  static const RE2 kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  if (text.size() <= 40) {
    if (RE2::FullMatch(text, kInt)) {
      try {
        return std::stoll(text);
      } catch (...) {
        // too large for int64: fall through to a float
      }
    }
    if (RE2::FullMatch(text, kFloat)) {
      try {
        return std::stod(text);
      } catch (...) {
        return text;
      }
    }
  }
  return text;
}

Status TooLarge() {
  return InvalidArgument(
      "YAML expands to more than its text could hold (aliases repeating aliases?)");
}

Result<nlohmann::json> Convert(const YAML::Node& node, int depth, Budget& budget) {
  if (depth > kMaxDepth) {
    return InvalidArgument("YAML nested deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  if (!budget.Spend(1, node.IsScalar() ? node.Scalar().size() : 0)) return TooLarge();
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      if (node.Tag() == "!") return nlohmann::json("");  // '' is an empty string
      return nlohmann::json(nullptr);
    case YAML::NodeType::Scalar:
      return ConvertScalar(node);
    case YAML::NodeType::Sequence: {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& item : node) {
        auto v = Convert(item, depth + 1, budget);
        if (!v.ok()) return v;
        arr.push_back(std::move(*v));
      }
      return arr;
    }
    case YAML::NodeType::Map: {
      nlohmann::json obj = nlohmann::json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) return InvalidArgument("YAML mapping key is not a scalar");
        if (!budget.Spend(0, kv.first.Scalar().size())) return TooLarge();
        auto v = Convert(kv.second, depth + 1, budget);
        if (!v.ok()) return v;
        obj[kv.first.Scalar()] = std::move(*v);
      }
      return obj;
    }
  }
  return InvalidArgument("unknown YAML node");
}

}  // namespace

Result<std::vector<nlohmann::json>> ParseDocuments(std::string_view text) {
  if (text.size() > kMaxDocumentBytes) {
    return InvalidArgument("larger than " + std::to_string(kMaxDocumentBytes >> 20) + " MiB");
  }
  auto json = ParseJson(text);
  if (json.ok()) return std::vector<nlohmann::json>{std::move(*json)};
  // JSON too deep is refused as such, not handed to the YAML parser (whose flow
  // style reads it too) to fail with a stranger message.
  const size_t first = text.find_first_not_of(" \t\r\n");
  const bool json_like =
      first != std::string_view::npos && (text[first] == '{' || text[first] == '[');
  if (json_like && IsTooDeep(json.status())) return json.status();
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string("not JSON or YAML: ") + e.what());
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("not JSON or YAML: ") + e.what());
  }
  std::vector<nlohmann::json> out;
  Budget budget{text.size() + 1024, 2 * text.size() + 1024};
  try {
    for (const auto& d : docs) {
      if (d.IsNull() || !d.IsDefined()) continue;
      auto v = Convert(d, 0, budget);
      if (!v.ok()) return v.status();
      out.push_back(std::move(*v));
    }
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("reading YAML: ") + e.what());
  }
  return out;
}

Result<nlohmann::json> ParseYamlOrJson(std::string_view text) {
  auto docs = ParseDocuments(text);
  if (!docs.ok()) return docs.status();
  if (docs->size() != 1) {
    return InvalidArgument("expected one document, found " + std::to_string(docs->size()));
  }
  return std::move((*docs)[0]);
}

Result<std::vector<nlohmann::json>> FlattenObjects(const std::vector<nlohmann::json>& docs) {
  std::vector<nlohmann::json> out;
  for (const auto& d : docs) {
    if (!d.is_object()) return InvalidArgument("a document is not an object");
    auto kind = d.find("kind");
    bool is_list = kind != d.end() && kind->is_string() &&
                   kind->get<std::string>().size() >= 4 &&
                   kind->get<std::string>().ends_with("List");
    if (is_list) {
      auto items = d.find("items");
      if (items == d.end() || items->is_null()) continue;  // an empty List
      if (!items->is_array()) return InvalidArgument("List items is not a list");
      for (const auto& item : *items) {
        if (!item.is_object()) return InvalidArgument("a List item is not an object");
        out.push_back(item);
      }
    } else {
      out.push_back(d);
    }
  }
  return out;
}

}  // namespace certguard::common
