// Plain facts about keys, names, CSRs and certificates. No OpenSSL types, so the
// pure core (policy, bundles, expiry) can be tested with hand-built values.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/time.h"

namespace certguard::x509 {

using Time = common::Time;

// A distinguished name, attributes in the order the encoding has them.
// Short names as OpenSSL prints them: CN, O, OU, C, ST, L, ...; the dotted OID otherwise.
struct Name {
  std::vector<std::pair<std::string, std::string>> attributes;

  // Every value of one attribute type, in order.
  std::vector<std::string> Values(std::string_view type) const;
  // The single CN, if there is exactly one.
  std::optional<std::string> CommonName() const;
  // "CN=system:node:a,O=system:nodes"
  std::string ToString() const;
  bool operator==(const Name&) const = default;
};

// An IPv4 or IPv6 address held as bytes, so "fd00::11" equals "fd00:0:0:0:0:0:0:11".
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) compare equal to the IPv4 address.
class IpAddress {
 public:
  static Result<IpAddress> Parse(std::string_view text);
  // 4 or 16 bytes; anything else is InvalidArgument.
  static Result<IpAddress> FromBytes(const uint8_t* data, size_t len);

  bool is_v4() const { return v4_; }
  std::string ToString() const;  // canonical text (RFC 5952 for v6)
  bool IsLoopback() const;
  bool IsUnspecified() const;
  bool IsLinkLocal() const;  // 169.254/16, fe80::/10
  bool IsMulticast() const;
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }  // v4 as ::ffff:a.b.c.d
  bool operator==(const IpAddress&) const = default;

 private:
  std::array<uint8_t, 16> bytes_{};
  bool v4_ = false;
};

// A CIDR range such as 10.0.0.0/8 or fd00::/64.
class IpRange {
 public:
  static Result<IpRange> Parse(std::string_view cidr);
  bool Contains(const IpAddress& ip) const;
  std::string ToString() const;

 private:
  IpAddress base_;
  int prefix_ = 0;  // on the address's own width (32 for v4, 128 for v6)
};

struct SubjectAltNames {
  std::vector<std::string> dns;
  std::vector<IpAddress> ips;
  std::vector<std::string> emails;
  std::vector<std::string> uris;
  std::vector<std::string> others;  // otherName, dirName, registeredID, ...: described as text

  bool empty() const {
    return dns.empty() && ips.empty() && emails.empty() && uris.empty() && others.empty();
  }
};

enum class KeyAlgorithm { kRsa, kEcdsa, kEd25519, kEd448, kDsa, kOther };
const char* KeyAlgorithmName(KeyAlgorithm a);

struct PublicKeyInfo {
  KeyAlgorithm algorithm = KeyAlgorithm::kOther;
  int bits = 0;        // modulus size for RSA/DSA, field size for EC
  std::string curve;   // "P-256", "P-384", "P-521", or the OpenSSL short name; empty if not EC
  std::string Describe() const;  // "ECDSA P-256", "RSA 2048"
};

struct CsrInfo {
  Name subject;
  SubjectAltNames sans;
  PublicKeyInfo key;
  bool signature_valid = false;
  // OIDs (dotted or short name) of requested extensions other than subjectAltName,
  // e.g. basicConstraints or keyUsage: a kubelet asks for none.
  std::vector<std::string> other_extensions;
};

// Why a CSR was refused before any policy looked at it (see ParseCsr).
enum class CsrDefect {
  kNone,
  kMalformed,                  // not a readable PKCS#10 request
  kNotDer,                     // readable, but not the one DER encoding
  kVersionNotZero,             // version other than 0 (v1)
  kAttributeNotAllowed,        // an attribute other than extensionRequest (msExtReq, ...)
  kExtensionRequestAmbiguous,  // two extensionRequest attributes, or a SET of 0 or 2+ values
  kDuplicateExtension,         // one extension OID requested twice
  kExtensionMalformed,         // extension or subjectAltName contents not as specified
  kSubjectStringType,          // subject value neither PrintableString nor UTF8String
  kSubjectMalformed,           // multi-valued RDN, bad characters for the string type
  kSignatureAlgorithm,         // signature algorithm not on the allowlist
  kKeyAlgorithm,               // key type, curve or parameters not allowed
  kKeyMalformed,               // key bytes not a valid key of its type
};

struct CertificateInfo {
  Name subject;
  Name issuer;
  std::string serial;            // upper-case hex, no separators
  Time not_before{};
  Time not_after{};
  bool is_ca = false;            // basicConstraints CA:TRUE
  std::string sha256_fingerprint;  // upper-case hex pairs joined by ':'
  SubjectAltNames sans;
  PublicKeyInfo key;
  std::string der;               // the encoding, so a bundle can be written back out
};

// One block of a bundle that could not be read.
struct BlockError {
  size_t index = 0;     // 0-based position among the blocks found
  std::string message;
};

struct Bundle {
  std::vector<CertificateInfo> certificates;
  std::vector<BlockError> errors;
};

// Inputs larger than this are refused before any parsing (InvalidArgument).
inline constexpr size_t kMaxInputBytes = 4 * 1024 * 1024;

}  // namespace certguard::x509
