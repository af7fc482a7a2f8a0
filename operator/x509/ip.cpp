// IpAddress and IpRange: parsing with inet_pton; canonical text as Go's net.IP
// prints it (RFC 5952), so messages and the oracle agree on one spelling.
#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "x509/types.h"

namespace certguard::x509 {
namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool IsV4Mapped(const uint8_t* b) {
  return std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), b);
}

// Text safe to quote in an error message: printable ASCII, at most 64 bytes.
std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < 64; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (text.size() > 64) out += "...";
  return out + "\"";
}

}  // namespace

Result<IpAddress> IpAddress::FromBytes(const uint8_t* data, size_t len) {
  IpAddress ip;
  if (len == 4 && data != nullptr) {
    std::copy(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), ip.bytes_.begin());
    std::memcpy(ip.bytes_.data() + 12, data, 4);
    ip.v4_ = true;
    return ip;
  }
  if (len == 16 && data != nullptr) {
    std::memcpy(ip.bytes_.data(), data, 16);
    // ::ffff:a.b.c.d is the IPv4 address a.b.c.d: one identity, one spelling.
    ip.v4_ = IsV4Mapped(data);
    return ip;
  }
  return InvalidArgument("an IP address is 4 or 16 bytes, got " + std::to_string(len));
}

Result<IpAddress> IpAddress::Parse(std::string_view text) {
  // inet_pton needs a NUL-terminated string; no valid address is longer than 45 characters.
  if (text.empty()) return InvalidArgument("empty IP address");
  if (text.size() > 45 || text.find('\0') != std::string_view::npos) {
    return InvalidArgument("not an IP address: " + Quote(text));
  }
  std::string s(text);
  uint8_t buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return FromBytes(buf, 4);
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return FromBytes(buf, 16);
  return InvalidArgument("not an IP address: " + Quote(text));
}

std::string IpAddress::ToString() const {
  if (v4_) {
    char buf[INET_ADDRSTRLEN] = {};
    const char* r = inet_ntop(AF_INET, bytes_.data() + 12, buf, sizeof(buf));
    return r != nullptr ? std::string(r) : std::string("?");
  }
  // Not inet_ntop: glibc writes ::/96 addresses as "::128.0.0.17" where Go
  // writes "::8000:11". RFC 5952: the longest run (>= 2) of zero groups,
  // the first such run on a tie, becomes "::"; hex in lower case.
  uint16_t groups[8];
  for (size_t i = 0; i < 8; ++i) groups[i] = static_cast<uint16_t>(bytes_[2 * i] << 8 | bytes_[2 * i + 1]);
  int best_start = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i >= 2 && j - i > best_len) best_start = i, best_len = j - i;
    i = j;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      unsigned nibble = (groups[i] >> shift) & 0xf;
      if (nibble == 0 && !started && shift != 0) continue;
      started = true;
      out += kHex[nibble];
    }
  }
  return out;
}

bool IpAddress::IsLoopback() const {
  if (v4_) return bytes_[12] == 127;
  for (size_t i = 0; i < 15; ++i) {
    if (bytes_[i] != 0) return false;
  }
  return bytes_[15] == 1;
}

bool IpAddress::IsUnspecified() const {
  size_t from = v4_ ? 12 : 0;
  return std::all_of(bytes_.begin() + static_cast<long>(from), bytes_.end(),
                     [](uint8_t b) { return b == 0; });
}

bool IpAddress::IsLinkLocal() const {
  if (v4_) return bytes_[12] == 169 && bytes_[13] == 254;
  return bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80;
}

bool IpAddress::IsMulticast() const {
  if (v4_) return (bytes_[12] & 0xf0) == 0xe0;
  return bytes_[0] == 0xff;
}

Result<IpRange> IpRange::Parse(std::string_view cidr) {
  size_t slash = cidr.find('/');
  if (slash == std::string_view::npos) {
    return InvalidArgument("not a CIDR range (no /prefix): " + Quote(cidr));
  }
  auto addr = IpAddress::Parse(cidr.substr(0, slash));
  if (!addr.ok()) return InvalidArgument("not a CIDR range: " + Quote(cidr));

  std::string_view len_text = cidr.substr(slash + 1);
  int prefix = -1;
  auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), prefix);
  bool digits_only = !len_text.empty() && len_text.size() <= 3 &&
                     std::all_of(len_text.begin(), len_text.end(),
                                 [](char c) { return c >= '0' && c <= '9'; });
  if (ec != std::errc() || end != len_text.data() + len_text.size() || !digits_only) {
    return InvalidArgument("bad prefix length in CIDR range " + Quote(cidr));
  }

  IpRange range;
  range.base_ = *addr;
  bool v6_text = cidr.substr(0, slash).find(':') != std::string_view::npos;
  if (range.base_.is_v4() && v6_text) {
    // ::ffff:10.0.0.0/104 is 10.0.0.0/8; a shorter prefix would span non-IPv4 space.
    if (prefix < 96 || prefix > 128) {
      return InvalidArgument("an IPv4-mapped range needs a prefix of 96 to 128: " + Quote(cidr));
    }
    prefix -= 96;
  }
  int width = range.base_.is_v4() ? 32 : 128;
  if (prefix < 0 || prefix > width) {
    return InvalidArgument("prefix length out of range (0-" + std::to_string(width) +
                           ") in CIDR range " + Quote(cidr));
  }
  range.prefix_ = prefix;

  // Host bits set (10.0.0.5/8) are refused rather than masked: in a policy a
  // range written that way is more likely a mistake than a wish.
  auto masked = range.base_.bytes();
  size_t offset = range.base_.is_v4() ? 12 : 0;
  for (int bit = prefix; bit < width; ++bit) {
    masked[offset + static_cast<size_t>(bit / 8)] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  if (masked != range.base_.bytes()) {
    auto net = IpAddress::FromBytes(masked.data(), 16);
    std::string hint = net.ok() ? net->ToString() + "/" + std::to_string(prefix) : "";
    return InvalidArgument("CIDR range " + Quote(cidr) + " has host bits set; did you mean " +
                           hint + "?");
  }
  return range;
}

bool IpRange::Contains(const IpAddress& ip) const {
  if (ip.is_v4() != base_.is_v4()) return false;
  size_t offset = base_.is_v4() ? 12 : 0;
  const auto& a = ip.bytes();
  const auto& b = base_.bytes();
  int full = prefix_ / 8;
  for (int i = 0; i < full; ++i) {
    if (a[offset + static_cast<size_t>(i)] != b[offset + static_cast<size_t>(i)]) return false;
  }
  int rest = prefix_ % 8;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xff00u >> rest);
  size_t i = offset + static_cast<size_t>(full);
  return (a[i] & mask) == (b[i] & mask);
}

std::string IpRange::ToString() const { return base_.ToString() + "/" + std::to_string(prefix_); }

}  // namespace certguard::x509
