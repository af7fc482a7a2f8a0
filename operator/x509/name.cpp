// Name, KeyAlgorithm and PublicKeyInfo helpers: plain string work, no OpenSSL.
#include <cstdio>

#include "x509/types.h"

namespace certguard::x509 {
namespace {

// RFC 4514-style escaping so a value with ',' or '=' cannot fake another attribute
// in logs and messages; control bytes become \XX.
std::string EscapeValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    bool special = c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' ||
                   c == ';' || c == '=' || (c == '#' && i == 0) ||
                   (c == ' ' && (i == 0 || i + 1 == v.size()));
    if (c < 0x20 || c == 0x7f) {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "\\%02X", c);
      out += buf;
    } else {
      if (special) out += '\\';
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> Name::Values(std::string_view type) const {
  std::vector<std::string> out;
  for (const auto& [t, v] : attributes) {
    if (t == type) out.push_back(v);
  }
  return out;
}

std::optional<std::string> Name::CommonName() const {
  auto cns = Values("CN");
  if (cns.size() != 1) return std::nullopt;
  return cns.front();
}

std::string Name::ToString() const {
  std::string out;
  for (const auto& [t, v] : attributes) {
    if (!out.empty()) out += ',';
    out += t;
    out += '=';
    out += EscapeValue(v);
  }
  return out;
}

const char* KeyAlgorithmName(KeyAlgorithm a) {
  switch (a) {
    case KeyAlgorithm::kRsa: return "RSA";
    case KeyAlgorithm::kEcdsa: return "ECDSA";
    case KeyAlgorithm::kEd25519: return "Ed25519";
    case KeyAlgorithm::kEd448: return "Ed448";
    case KeyAlgorithm::kDsa: return "DSA";
    case KeyAlgorithm::kOther: return "other";
  }
  return "other";
}

std::string PublicKeyInfo::Describe() const {
  switch (algorithm) {
    case KeyAlgorithm::kRsa:
    case KeyAlgorithm::kDsa:
      return std::string(KeyAlgorithmName(algorithm)) + " " + std::to_string(bits);
    case KeyAlgorithm::kEcdsa:
      return "ECDSA " + (curve.empty() ? std::to_string(bits) + "-bit" : curve);
    case KeyAlgorithm::kEd25519:
    case KeyAlgorithm::kEd448:
      return KeyAlgorithmName(algorithm);
    case KeyAlgorithm::kOther:
      break;
  }
  return bits > 0 ? "other " + std::to_string(bits) : "other";
}

}  // namespace certguard::x509
