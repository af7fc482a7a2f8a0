#include "csr/node.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "common/json_fields.h"

namespace certguard::csr {

namespace {

bool Digits(const std::string& s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

using common::Field;
using common::Str;

}  // namespace

Result<x509::Time> ParseRfc3339(const std::string& s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  int y, mo, d, h, mi, sec;
  auto bad = [&] { return InvalidArgument("not an RFC 3339 time: " + s.substr(0, 64)); };
  if (!Digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, mo) ||
      s[7] != '-' || !Digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') ||
      !Digits(s, 11, 2, h) || s[13] != ':' || !Digits(s, 14, 2, mi) || s[16] != ':' ||
      !Digits(s, 17, 2, sec)) {
    return bad();
  }
  size_t pos = 19;
  if (s[pos] == '.') {
    ++pos;
    size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
    if (pos == start) return bad();
  }
  int offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) {
    // UTC
  } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, oh) || s[pos + 3] != ':' || !Digits(s, pos + 4, 2, om) ||
        oh > 23 || om > 59) {
      return bad();
    }
    offset_minutes = (oh * 60 + om) * (s[pos] == '+' ? 1 : -1);
  } else {
    return bad();
  }
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return bad();
  return x509::Time{sys_days{ymd}} + hours{h} + minutes{mi} + seconds{sec} -
         minutes{offset_minutes};
}

Result<NodeFacts> NodeFromObject(const nlohmann::json& object) {
  if (!object.is_object()) return InvalidArgument("node is not an object");
  if (const auto& kind = Field(object, "kind"); !kind.is_null() && kind != "Node") {
    return InvalidArgument("expected kind Node, got " + kind.dump());
  }
  NodeFacts n;
  const auto& meta = Field(object, "metadata");
  if (!meta.is_object()) return InvalidArgument("node has no metadata");
  n.name = Str(meta, "name");
  if (n.name.empty()) return InvalidArgument("node has no metadata.name");
  n.labels = common::StrMap(Field(meta, "labels"));
  const auto& status = Field(object, "status");
  if (!status.is_object()) return n;
  if (const auto& addrs = Field(status, "addresses"); addrs.is_array()) {
    for (const auto& a : addrs) {
      NodeAddress na{Str(a, "type"), Str(a, "address")};
      if (!na.type.empty() && !na.address.empty()) n.addresses.push_back(std::move(na));
    }
  }
  if (const auto& conds = Field(status, "conditions"); conds.is_array()) {
    for (const auto& c : conds) {
      if (Str(c, "type") != "Ready") continue;
      n.ready_status = Str(c, "status");
      if (auto t = ParseRfc3339(Str(c, "lastTransitionTime")); t.ok()) n.ready_since = *t;
    }
  }
  return n;
}

}  // namespace certguard::csr
