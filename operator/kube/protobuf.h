// The API server's protobuf encoding (application/vnd.kubernetes.protobuf),
// read strictly, for Lists of built-in types: the server starts sending one
// as soon as it has read the first items, while a JSON List is encoded whole
// before its first byte (0.5-0.9 s for 10,000 CSRs). Items are decoded into
// the same JSON the server would have sent, so everything after the read is
// unchanged. Pure: no I/O.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "common/time.h"

namespace certguard::kube::protobuf {

using Json = nlohmann::json;

// "k8s\0": what every protobuf body from the API server starts with.
inline constexpr std::string_view kMagic{"k8s\0", 4};
// Asks for protobuf and accepts JSON (custom resources have no protobuf).
inline constexpr const char* kAcceptProtobuf =
    "application/vnd.kubernetes.protobuf, application/json";
// Larger items are refused: etcd stores at most 1.5 MiB per object.
inline constexpr size_t kMaxItemBytes = 16u << 20;

enum WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

struct Field {
  uint32_t number = 0;
  WireType type = kVarint;
  uint64_t value = 0;      // kVarint, kFixed64, kFixed32
  std::string_view bytes;  // kLen
};

// The fields of one message, in order. Refuses what proto3 and the API
// server never write: groups, field number 0, a varint over 10 bytes or over
// 64 bits, a length past the end.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}
  // The next field; false at the end, or on an error (error() then says why).
  bool Next(Field& f);
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  bool Varint(uint64_t& v);
  bool Fail(std::string why);
  std::string_view data_;
  size_t at_ = 0;
  std::string error_;
};

// The decoders below: `what` names the message in errors.

// meta/v1 Time {seconds, nanos} as its JSON: RFC 3339 to the second, or null
// for the zero time (Go's metav1.Time writes "null" then).
Result<Json> DecodeTime(std::string_view bytes);
// meta/v1 ObjectMeta as its JSON, empty fields left out as the server leaves
// them out. managedFields are not decoded: no cache keeps them
// (StripForCache removes them from JSON too).
Result<Json> DecodeObjectMeta(std::string_view bytes);
// meta/v1 ListMeta: resourceVersion, continue, remainingItemCount.
Result<Json> DecodeListMeta(std::string_view bytes);
// A string field's bytes, refused unless valid UTF-8 (JSON could not carry it,
// and the server's JSON would have replaced the bytes).
Result<std::string> Utf8(std::string_view bytes, const char* what);

// A byte at a time from an input iterator (a ChunkPipe's, or a string's).
template <class It>
class ByteSource {
 public:
  ByteSource(It begin, It end) : it_(std::move(begin)), end_(std::move(end)) {}
  bool Byte(uint8_t& b) {
    if (it_ == end_) return false;
    b = static_cast<uint8_t>(*it_);
    ++it_;
    ++read_;
    return true;
  }
  bool Varint(uint64_t& v) {
    v = 0;
    for (int i = 0; i < 10; ++i) {
      uint8_t b;
      if (!Byte(b)) return false;
      if (i == 9 && b > 1) return false;
      v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool Bytes(uint64_t n, std::string& out) {
    out.clear();
    out.reserve(n);
    if constexpr (requires(It& i) {
                    i.Span();
                    i.Skip(size_t{0});
                  }) {
      while (out.size() < n) {  // a run at a time (ChunkPipe::Iterator)
        const std::string_view span = it_.Span();
        if (span.empty()) return false;
        const size_t take = static_cast<size_t>(std::min<uint64_t>(span.size(), n - out.size()));
        out.append(span.data(), take);
        it_.Skip(take);
        read_ += take;
      }
      return true;
    }
    for (uint64_t i = 0; i < n; ++i) {
      uint8_t b;
      if (!Byte(b)) return false;
      out.push_back(static_cast<char>(b));
    }
    return true;
  }
  bool AtEnd() { return it_ == end_; }
  uint64_t read() const { return read_; }

 private:
  It it_, end_;
  uint64_t read_ = 0;
};

using ItemBytesFn = std::function<Status(std::string_view item)>;

// A List body (kMagic, a runtime.Unknown whose raw bytes hold the List), read
// as it arrives: each item's bytes go to on_item once read, so only one item
// is held at a time. Returns {"metadata": ListMeta}. on_item's error stops the
// read and is returned as it is; a malformed body is InvalidArgument.
template <class It>
Result<Json> ReadList(It begin, It end, const ItemBytesFn& on_item) {
  ByteSource<It> in(std::move(begin), std::move(end));
  auto bad = [](const std::string& why) { return InvalidArgument("protobuf list: " + why); };
  std::string buf;
  if (!in.Bytes(kMagic.size(), buf) || buf != kMagic) return bad("no k8s magic");
  Json meta = Json::object();
  bool have_list = false;
  while (!in.AtEnd()) {
    uint64_t tag, len;
    if (!in.Varint(tag) || (tag & 7) != kLen || !in.Varint(len)) return bad("bad envelope field");
    const uint64_t field = tag >> 3;
    if (field != 2) {  // typeMeta, contentEncoding, contentType: short, read whole
      if (len > 4096 || !in.Bytes(len, buf)) return bad("bad envelope field");
      if ((field == 3 || field == 4) && !buf.empty()) {
        return bad("envelope field " + std::to_string(field) + " is not empty");
      }
      continue;
    }
    if (have_list) return bad("two lists");
    have_list = true;
    const uint64_t list_end = in.read() + len;
    while (in.read() < list_end) {
      uint64_t t, n;
      if (!in.Varint(t) || (t & 7) != kLen || !in.Varint(n)) return bad("bad list field");
      if (n > kMaxItemBytes) return bad("an item of " + std::to_string(n) + " bytes");
      if (in.read() > list_end || n > list_end - in.read() || !in.Bytes(n, buf)) {
        return bad("truncated");
      }
      if ((t >> 3) == 1) {
        auto m = DecodeListMeta(buf);
        if (!m.ok()) return m.status();
        meta = std::move(*m);
      } else if ((t >> 3) == 2) {
        if (Status s = on_item(buf); !s.ok()) return s;
      }  // later fields: skipped
    }
    if (in.read() != list_end) return bad("truncated");
  }
  if (!have_list) return bad("no list");
  return Json{{"metadata", std::move(meta)}};
}

}  // namespace certguard::kube::protobuf
