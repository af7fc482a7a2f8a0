// Tolerant reads of Kubernetes objects as JSON. An object from the API server,
// a cache or a user's file may lack any field or hold the wrong type; these
// return an empty value instead of throwing, so callers decide what absence means.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace certguard::common {

// obj[name], or null when obj is not an object or has no such field.
inline const nlohmann::json& Field(const nlohmann::json& obj, const char* name) {
  static const nlohmann::json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(name);
  return it == obj.end() ? kNull : *it;
}

// obj[name] when it is a string, else "".
inline std::string Str(const nlohmann::json& obj, const char* name) {
  const nlohmann::json& v = Field(obj, name);
  return v.is_string() ? v.get<std::string>() : std::string();
}

// obj[outer][inner] when it is a string, else "" (e.g. Str(csr, "metadata", "name")).
inline std::string Str(const nlohmann::json& obj, const char* outer, const char* inner) {
  return Str(Field(obj, outer), inner);
}

// The string values of an object such as metadata.labels; other values left out.
inline std::map<std::string, std::string> StrMap(const nlohmann::json& obj) {
  std::map<std::string, std::string> out;
  if (!obj.is_object()) return out;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

}  // namespace certguard::common
