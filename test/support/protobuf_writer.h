// Protocol Buffers' wire format, written: what the tests feed the protobuf
// readers, as the API server would send it.
//   Pb().Str(1, "name").Message(8, Pb().Varint(1, 1700000000)).str()
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace certguard::testing {

class Pb {
 public:
  static std::string VarintBytes(uint64_t v) {
    std::string out;
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
    return out;
  }
  Pb& Varint(uint32_t field, uint64_t v) {
    s_ += VarintBytes(uint64_t{field} << 3 | 0) + VarintBytes(v);
    return *this;
  }
  Pb& Str(uint32_t field, std::string_view b) {
    s_ += VarintBytes(uint64_t{field} << 3 | 2) + VarintBytes(b.size());
    s_.append(b);
    return *this;
  }
  Pb& Message(uint32_t field, const Pb& m) { return Str(field, m.str()); }
  // A map<string, string> entry.
  Pb& Entry(uint32_t field, std::string_view key, std::string_view value) {
    return Message(field, Pb().Str(1, key).Str(2, value));
  }
  Pb& Raw(std::string_view bytes) {
    s_.append(bytes);
    return *this;
  }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

// A List's body as the API server sends it: "k8s\0", then a runtime.Unknown
// {typeMeta {apiVersion, kind}, raw = the List {metadata = 1, items = 2}}.
inline std::string ProtobufListBody(const Pb& list_meta, const std::vector<Pb>& items,
                                    const std::string& kind = "CertificateSigningRequestList") {
  Pb list;
  list.Message(1, list_meta);
  for (const Pb& item : items) list.Message(2, item);
  Pb unknown;
  unknown.Message(1, Pb().Str(1, "v1").Str(2, kind)).Message(2, list).Str(3, "").Str(4, "");
  return std::string("k8s\0", 4) + unknown.str();
}

}  // namespace certguard::testing
