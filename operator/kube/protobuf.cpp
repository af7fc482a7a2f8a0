#include "kube/protobuf.h"

#include <chrono>

#include "common/utf8.h"

namespace certguard::kube::protobuf {

bool WireReader::Fail(std::string why) {
  error_ = std::move(why);
  return false;
}

bool WireReader::Varint(uint64_t& v) {
  v = 0;
  for (int i = 0; i < 10; ++i) {
    if (at_ >= data_.size()) return Fail("truncated varint");
    const auto b = static_cast<uint8_t>(data_[at_++]);
    if (i == 9 && b > 1) return Fail("varint over 64 bits");
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) return true;
  }
  return Fail("varint over 10 bytes");
}

bool WireReader::Next(Field& f) {
  if (failed() || at_ >= data_.size()) return false;
  uint64_t tag;
  if (!Varint(tag)) return false;
  if ((tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) return Fail("field number out of range");
  f.number = static_cast<uint32_t>(tag >> 3);
  f.bytes = {};
  f.value = 0;
  const auto type = static_cast<uint8_t>(tag & 7);
  auto fixed = [&](size_t n) {
    if (data_.size() - at_ < n) return Fail("truncated fixed field");
    for (size_t i = 0; i < n; ++i) {
      f.value |= static_cast<uint64_t>(static_cast<uint8_t>(data_[at_ + i])) << (8 * i);
    }
    at_ += n;
    return true;
  };
  switch (type) {
    case kVarint:
      f.type = kVarint;
      return Varint(f.value);
    case kFixed64:
      f.type = kFixed64;
      return fixed(8);
    case kFixed32:
      f.type = kFixed32;
      return fixed(4);
    case kLen: {
      f.type = kLen;
      uint64_t n;
      if (!Varint(n)) return false;
      if (n > data_.size() - at_) return Fail("length past the end");
      f.bytes = data_.substr(at_, n);
      at_ += n;
      return true;
    }
    default:
      return Fail("wire type " + std::to_string(type));
  }
}

Result<std::string> Utf8(std::string_view bytes, const char* what) {
  if (!common::IsValidUtf8(bytes)) return InvalidArgument(std::string(what) + " is not UTF-8");
  return std::string(bytes);
}

namespace {

Status Malformed(const char* what, const WireReader& r) {
  return InvalidArgument(std::string(what) + ": " + r.error());
}

Status WrongType(const char* what, const Field& f) {
  return InvalidArgument(std::string(what) + ": field " + std::to_string(f.number) +
                         " has wire type " + std::to_string(f.type));
}

// A map<string, string> entry {key = 1, value = 2} into `out`.
Status MapEntry(std::string_view bytes, Json& out, const char* what) {
  WireReader r(bytes);
  Field f;
  std::string key, value;
  while (r.Next(f)) {
    if (f.number != 1 && f.number != 2) continue;
    if (f.type != kLen) return WrongType(what, f);
    auto s = Utf8(f.bytes, what);
    if (!s.ok()) return s.status();
    (f.number == 1 ? key : value) = std::move(*s);
  }
  if (r.failed()) return Malformed(what, r);
  out[key] = std::move(value);
  return Status::Ok();
}

Result<Json> OwnerReference(std::string_view bytes) {
  constexpr const char* what = "ownerReference";
  Json o = Json::object();
  // apiVersion, kind, name and uid are written even when empty.
  o["apiVersion"] = "";
  o["kind"] = "";
  o["name"] = "";
  o["uid"] = "";
  WireReader r(bytes);
  Field f;
  while (r.Next(f)) {
    const char* key = nullptr;
    switch (f.number) {
      case 1: key = "kind"; break;
      case 3: key = "name"; break;
      case 4: key = "uid"; break;
      case 5: key = "apiVersion"; break;
      case 6:
      case 7:
        if (f.type != kVarint) return WrongType(what, f);
        o[f.number == 6 ? "controller" : "blockOwnerDeletion"] = f.value != 0;
        continue;
      default: continue;
    }
    if (f.type != kLen) return WrongType(what, f);
    auto s = Utf8(f.bytes, what);
    if (!s.ok()) return s.status();
    o[key] = std::move(*s);
  }
  if (r.failed()) return Malformed(what, r);
  return o;
}

}  // namespace

Result<Json> DecodeTime(std::string_view bytes) {
  WireReader r(bytes);
  Field f;
  int64_t seconds = 0;
  int64_t nanos = 0;
  while (r.Next(f)) {
    if (f.number != 1 && f.number != 2) continue;
    if (f.type != kVarint) return WrongType("time", f);
    (f.number == 1 ? seconds : nanos) = static_cast<int64_t>(f.value);
  }
  if (r.failed()) return Malformed("time", r);
  if (seconds == 0 && nanos == 0) return Json();  // Go's zero Time is "null" in JSON
  // The server's JSON carries whole seconds (RFC 3339, not RFC3339Nano).
  constexpr int64_t kMax = 253402300799;  // 9999-12-31T23:59:59Z
  constexpr int64_t kMin = -62135596800;  // 0001-01-01T00:00:00Z
  if (seconds < kMin || seconds > kMax) return InvalidArgument("time: out of range");
  return Json(common::FormatRfc3339(common::Time(std::chrono::seconds(seconds))));
}

Result<Json> DecodeObjectMeta(std::string_view bytes) {
  constexpr const char* what = "metadata";
  Json m = Json::object();
  WireReader r(bytes);
  Field f;
  while (r.Next(f)) {
    const char* key = nullptr;
    switch (f.number) {
      case 1: key = "name"; break;
      case 2: key = "generateName"; break;
      case 3: key = "namespace"; break;
      case 4: key = "selfLink"; break;
      case 5: key = "uid"; break;
      case 6: key = "resourceVersion"; break;
      case 7:
      case 10:
        if (f.type != kVarint) return WrongType(what, f);
        // generation is left out when 0; deletionGracePeriodSeconds is a pointer.
        if (f.number == 7 && f.value == 0) continue;
        m[f.number == 7 ? "generation" : "deletionGracePeriodSeconds"] =
            static_cast<int64_t>(f.value);
        continue;
      case 8:
      case 9: {
        if (f.type != kLen) return WrongType(what, f);
        auto t = DecodeTime(f.bytes);
        if (!t.ok()) return t.status();
        m[f.number == 8 ? "creationTimestamp" : "deletionTimestamp"] = std::move(*t);
        continue;
      }
      case 11:
      case 12: {
        if (f.type != kLen) return WrongType(what, f);
        Json& map = m[f.number == 11 ? "labels" : "annotations"];
        if (map.is_null()) map = Json::object();
        if (Status s = MapEntry(f.bytes, map, f.number == 11 ? "label" : "annotation"); !s.ok()) {
          return s;
        }
        continue;
      }
      case 13: {
        if (f.type != kLen) return WrongType(what, f);
        auto o = OwnerReference(f.bytes);
        if (!o.ok()) return o.status();
        m["ownerReferences"].push_back(std::move(*o));
        continue;
      }
      case 14: {
        if (f.type != kLen) return WrongType(what, f);
        auto s = Utf8(f.bytes, "finalizer");
        if (!s.ok()) return s.status();
        m["finalizers"].push_back(std::move(*s));
        continue;
      }
      default:
        continue;  // managedFields (17) and fields of later versions
    }
    if (f.type != kLen) return WrongType(what, f);
    if (f.bytes.empty()) continue;  // omitempty
    auto s = Utf8(f.bytes, key);
    if (!s.ok()) return s.status();
    m[key] = std::move(*s);
  }
  if (r.failed()) return Malformed(what, r);
  return m;
}

Result<Json> DecodeListMeta(std::string_view bytes) {
  constexpr const char* what = "list metadata";
  Json m = Json::object();
  WireReader r(bytes);
  Field f;
  while (r.Next(f)) {
    if (f.number == 2 || f.number == 3) {
      if (f.type != kLen) return WrongType(what, f);
      if (f.bytes.empty()) continue;
      auto s = Utf8(f.bytes, what);
      if (!s.ok()) return s.status();
      m[f.number == 2 ? "resourceVersion" : "continue"] = std::move(*s);
    } else if (f.number == 4) {
      if (f.type != kVarint) return WrongType(what, f);
      m["remainingItemCount"] = static_cast<int64_t>(f.value);
    }
  }
  if (r.failed()) return Malformed(what, r);
  return m;
}

}  // namespace certguard::kube::protobuf
