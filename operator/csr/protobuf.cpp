#include "csr/protobuf.h"

#include "kube/protobuf.h"
#include "x509/pem.h"

namespace certguard::csr {

namespace {

using kube::protobuf::Field;
using kube::protobuf::WireReader;
using nlohmann::json;

Status Malformed(const char* what, const WireReader& r) {
  return InvalidArgument(std::string("CertificateSigningRequest ") + what + ": " + r.error());
}

Status WrongType(const char* what, const Field& f) {
  return InvalidArgument(std::string("CertificateSigningRequest ") + what + ": field " +
                         std::to_string(f.number) + " has wire type " + std::to_string(f.type));
}

Result<std::string> Text(const Field& f, const char* what) {
  if (f.type != kube::protobuf::kLen) return WrongType(what, f);
  return kube::protobuf::Utf8(f.bytes, what);
}

// ExtraValue {repeated string items = 1}, the value of spec.extra's map entry.
Status ExtraEntry(std::string_view bytes, json& extra) {
  constexpr const char* what = "spec.extra";
  WireReader entry(bytes);
  Field f;
  std::string key;
  json values = json::array();
  while (entry.Next(f)) {
    if (f.number == 1) {
      auto k = Text(f, what);
      if (!k.ok()) return k.status();
      key = std::move(*k);
    } else if (f.number == 2) {
      if (f.type != kube::protobuf::kLen) return WrongType(what, f);
      WireReader items(f.bytes);
      Field item;
      while (items.Next(item)) {
        if (item.number != 1) continue;
        auto v = Text(item, what);
        if (!v.ok()) return v.status();
        values.push_back(std::move(*v));
      }
      if (items.failed()) return Malformed(what, items);
    }
  }
  if (entry.failed()) return Malformed(what, entry);
  extra[key] = std::move(values);
  return Status::Ok();
}

Result<json> Spec(std::string_view bytes) {
  constexpr const char* what = "spec";
  // request and signerName are written even when empty.
  json spec = {{"request", ""}, {"signerName", ""}};
  WireReader r(bytes);
  Field f;
  while (r.Next(f)) {
    switch (f.number) {
      case 1:  // request: bytes, base64 in JSON
        if (f.type != kube::protobuf::kLen) return WrongType(what, f);
        spec["request"] = x509::pem::Base64(f.bytes);
        break;
      case 2:
      case 3:
      case 7: {
        auto s = Text(f, what);
        if (!s.ok()) return s.status();
        if (f.number == 7) {
          spec["signerName"] = std::move(*s);
        } else if (!s->empty()) {
          spec[f.number == 2 ? "username" : "uid"] = std::move(*s);
        }
        break;
      }
      case 4:
      case 5: {
        auto s = Text(f, what);
        if (!s.ok()) return s.status();
        spec[f.number == 4 ? "groups" : "usages"].push_back(std::move(*s));
        break;
      }
      case 6: {
        if (f.type != kube::protobuf::kLen) return WrongType(what, f);
        json& extra = spec["extra"];
        if (extra.is_null()) extra = json::object();
        if (Status s = ExtraEntry(f.bytes, extra); !s.ok()) return s;
        break;
      }
      case 8:  // expirationSeconds: int32, a pointer (present when set)
        if (f.type != kube::protobuf::kVarint) return WrongType(what, f);
        spec["expirationSeconds"] = static_cast<int32_t>(f.value);
        break;
      default:
        break;
    }
  }
  if (r.failed()) return Malformed(what, r);
  return spec;
}

// A message of strings and Times (a condition, a Node address): the fields named in
// `always` are written even when empty, as the JSON writes them; those in
// `omitempty` only when not empty.
Result<json> Strings(std::string_view bytes, const char* what,
                     std::initializer_list<std::pair<uint32_t, const char*>> always,
                     std::initializer_list<std::pair<uint32_t, const char*>> omitempty,
                     std::initializer_list<std::pair<uint32_t, const char*>> times) {
  json out = json::object();
  for (const auto& [n, key] : always) out[key] = "";
  WireReader r(bytes);
  Field f;
  while (r.Next(f)) {
    auto named = [&](auto list) -> const char* {
      for (const auto& [n, key] : list) {
        if (n == f.number) return key;
      }
      return nullptr;
    };
    if (const char* key = named(times)) {
      if (f.type != kube::protobuf::kLen) return WrongType(what, f);
      auto t = kube::protobuf::DecodeTime(f.bytes);
      if (!t.ok()) return t.status();
      out[key] = std::move(*t);
      continue;
    }
    const char* key = named(always);
    const bool omit = key == nullptr;
    if (omit) key = named(omitempty);
    if (!key) continue;
    auto v = Text(f, what);
    if (!v.ok()) return v.status();
    if (omit && v->empty()) continue;
    out[key] = std::move(*v);
  }
  if (r.failed()) return Malformed(what, r);
  return out;
}

Result<json> Condition(std::string_view bytes) {
  return Strings(bytes, "status.conditions", {{1, "type"}, {6, "status"}},
                 {{2, "reason"}, {3, "message"}}, {{4, "lastUpdateTime"}, {5, "lastTransitionTime"}});
}

Result<json> Status_(std::string_view bytes) {
  constexpr const char* what = "status";
  json status = json::object();
  WireReader r(bytes);
  Field f;
  while (r.Next(f)) {
    if (f.number == 1) {
      if (f.type != kube::protobuf::kLen) return WrongType(what, f);
      auto c = Condition(f.bytes);
      if (!c.ok()) return c.status();
      status["conditions"].push_back(std::move(*c));
    } else if (f.number == 2) {
      if (f.type != kube::protobuf::kLen) return WrongType(what, f);
      if (!f.bytes.empty()) status["certificate"] = x509::pem::Base64(f.bytes);
    }
  }
  if (r.failed()) return Malformed(what, r);
  return status;
}

Result<json> NodeStatus(std::string_view bytes) {
  constexpr const char* what = "Node status";
  json status = json::object();
  WireReader r(bytes);
  Field f;
  while (r.Next(f)) {
    if (f.number == 3) {
      auto phase = Text(f, what);
      if (!phase.ok()) return phase.status();
      if (!phase->empty()) status["phase"] = std::move(*phase);
    } else if (f.number == 4 || f.number == 5) {
      if (f.type != kube::protobuf::kLen) return WrongType(what, f);
      auto item = f.number == 4
                      ? Strings(f.bytes, "Node condition", {{1, "type"}, {2, "status"}},
                                {{5, "reason"}, {6, "message"}},
                                {{3, "lastHeartbeatTime"}, {4, "lastTransitionTime"}})
                      : Strings(f.bytes, "Node address", {{1, "type"}, {2, "address"}}, {}, {});
      if (!item.ok()) return item.status();
      status[f.number == 4 ? "conditions" : "addresses"].push_back(std::move(*item));
    }
  }
  if (r.failed()) return Malformed(what, r);
  return status;
}

}  // namespace

Result<json> DecodeNodeProtobuf(std::string_view bytes) {
  json node = json::object();
  WireReader r(bytes);
  Field f;
  while (r.Next(f)) {
    if (f.number != 1 && f.number != 3) continue;  // spec (2): not decoded
    if (f.type != kube::protobuf::kLen) return WrongType("", f);
    auto part = f.number == 1 ? kube::protobuf::DecodeObjectMeta(f.bytes) : NodeStatus(f.bytes);
    if (!part.ok()) return part.status();
    node[f.number == 1 ? "metadata" : "status"] = std::move(*part);
  }
  if (r.failed()) return Malformed("", r);
  return node;
}

Result<json> DecodeCsrProtobuf(std::string_view bytes) {
  json csr = json::object();
  WireReader r(bytes);
  Field f;
  while (r.Next(f)) {
    if (f.number < 1 || f.number > 3) continue;
    if (f.type != kube::protobuf::kLen) return WrongType("", f);
    Result<json> part = f.number == 1   ? kube::protobuf::DecodeObjectMeta(f.bytes)
                        : f.number == 2 ? Spec(f.bytes)
                                        : Status_(f.bytes);
    if (!part.ok()) return part.status();
    csr[f.number == 1 ? "metadata" : f.number == 2 ? "spec" : "status"] = std::move(*part);
  }
  if (r.failed()) return Malformed("", r);
  return csr;
}

}  // namespace certguard::csr
