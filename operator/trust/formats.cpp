#include "trust/formats.h"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <set>

#include "x509/der.h"
#include "x509/openssl_util.h"

namespace certguard::trust {
namespace {

using x509::ossl::Deleter;
using x509::ossl::X509Ptr;

inline void FreeBags(STACK_OF(PKCS12_SAFEBAG) * s) {
  sk_PKCS12_SAFEBAG_pop_free(s, PKCS12_SAFEBAG_free);
}
inline void FreeSafes(STACK_OF(PKCS7) * s) { sk_PKCS7_pop_free(s, PKCS7_free); }
inline void FreeX509Stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
using BagsPtr = std::unique_ptr<STACK_OF(PKCS12_SAFEBAG), Deleter<FreeBags>>;
using SafesPtr = std::unique_ptr<STACK_OF(PKCS7), Deleter<FreeSafes>>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), Deleter<FreeX509Stack>>;
using Pkcs12Ptr = std::unique_ptr<PKCS12, Deleter<PKCS12_free>>;

// Java's "trusted key usage" bag attribute (Oracle's arc); OpenSSL 3.0 has no NID for it.
constexpr char kJavaTrustedKeyUsageOid[] = "2.16.840.1.113894.746875.1.1";
// go-pkcs12's Modern2023 and OpenSSL 3's PKCS12_create defaults.
constexpr int kPkcs12Iterations = 2048;
constexpr int kPkcs12SaltBytes = 16;
constexpr size_t kMaxAliasSubjectBytes = 120;

constexpr uint32_t kJksMagic = 0xFEEDFEED;
constexpr uint32_t kJksVersion = 2;
constexpr uint32_t kJksTrustedCertTag = 2;

std::string Sha256Hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

// One certificate to write: its DER and its alias.
struct Entry {
  std::string_view der;
  std::string alias;
  x509::Time not_before{};
};

// `ascii_only`: printable ASCII only. Java reads a PKCS#12 password through
// PBEKey, which refuses any other character ("Password is not ASCII"), and
// implementations disagree on how to turn the rest into BMPString and PBKDF2 bytes.
Status CheckPassword(std::string_view password, bool ascii_only) {
  if (ascii_only) {
    for (unsigned char c : password) {
      if (c < 0x20 || c > 0x7E) {
        return InvalidArgument("PKCS#12 password must be printable ASCII (Java reads no other)");
      }
    }
    return Status::Ok();
  }
  if (!x509::der::IsValidUtf8(password)) return InvalidArgument("truststore password is not UTF-8");
  // Refused for clarity: a NUL in a Java char[] password is legal, but every
  // other tool takes the password as a C string and would cut it there.
  if (password.find('\0') != std::string_view::npos) {
    return InvalidArgument("truststore password contains a NUL character");
  }
  return Status::Ok();
}

// Exactly one DER certificate, nothing after it.
Result<X509Ptr> ParseDer(std::string_view der, size_t index) {
  if (der.empty() || der.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return InvalidArgument("certificate " + std::to_string(index) + " has no usable DER");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ERR_clear_error();
    return InvalidArgument("certificate " + std::to_string(index) + " is not one DER certificate");
  }
  return cert;
}

// The certificates to write, in order, duplicates dropped, each with its alias.
Result<std::vector<Entry>> Prepare(const std::vector<x509::CertificateInfo>& certs,
                                   std::string_view password, bool ascii_password) {
  if (Status s = CheckPassword(password, ascii_password); !s.ok()) return s;
  std::vector<Entry> entries;
  std::vector<AliasInput> inputs;
  std::set<std::string_view> seen;
  for (size_t i = 0; i < certs.size(); ++i) {
    const x509::CertificateInfo& c = certs[i];
    if (Result<X509Ptr> parsed = ParseDer(c.der, i); !parsed.ok()) return parsed.status();
    if (!seen.insert(c.der).second) continue;
    entries.push_back({c.der, "", c.not_before});
    inputs.push_back({Sha256Hex(c.der), c.subject});
  }
  if (entries.empty()) return InvalidArgument("a truststore needs at least one certificate");
  std::vector<std::string> aliases = TruststoreAliases(inputs);
  for (size_t i = 0; i < entries.size(); ++i) entries[i].alias = std::move(aliases[i]);
  return entries;
}

// Printable ASCII, lower case; every other character (a whole UTF-8 sequence) one '_'.
std::string AliasText(std::string_view s, size_t max_bytes) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= max_bytes) break;
    if ((c & 0xC0) == 0x80) continue;  // UTF-8 continuation byte: its lead already gave '_'
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    } else {
      out += '_';
    }
  }
  return out;
}

void PutU16(std::string& out, uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}

void PutU32(std::string& out, uint32_t v) {
  PutU16(out, static_cast<uint16_t>(v >> 16));
  PutU16(out, static_cast<uint16_t>(v & 0xffff));
}

void PutU64(std::string& out, uint64_t v) {
  PutU32(out, static_cast<uint32_t>(v >> 32));
  PutU32(out, static_cast<uint32_t>(v & 0xffffffffu));
}

// Java's DataOutput.writeUTF of printable ASCII (what AliasText and "X.509" are):
// a 2-byte length, then the bytes, identical to modified UTF-8 for that range.
void PutAsciiUtf(std::string& out, std::string_view ascii) {
  PutU16(out, static_cast<uint16_t>(ascii.size()));
  out += ascii;
}

// UTF-8 (already validated) as UTF-16BE, as Java's char[] password is hashed.
std::string Utf16Be(std::string_view utf8) {
  std::string out;
  for (size_t i = 0; i < utf8.size();) {
    auto b = static_cast<unsigned char>(utf8[i]);
    uint32_t cp = 0;
    size_t n = 0;
    if (b < 0x80) {
      cp = b, n = 1;
    } else if (b < 0xE0) {
      cp = b & 0x1F, n = 2;
    } else if (b < 0xF0) {
      cp = b & 0x0F, n = 3;
    } else {
      cp = b & 0x07, n = 4;
    }
    for (size_t k = 1; k < n; ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3F);
    i += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      PutU16(out, static_cast<uint16_t>(0xD800 + (cp >> 10)));
      PutU16(out, static_cast<uint16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      PutU16(out, static_cast<uint16_t>(cp));
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> TruststoreAliases(const std::vector<AliasInput>& inputs) {
  std::map<std::string, std::set<std::string>> by_prefix;  // 8-digit prefix -> full hashes
  for (const AliasInput& in : inputs) by_prefix[in.sha256_hex.substr(0, 8)].insert(in.sha256_hex);
  std::vector<std::string> out;
  out.reserve(inputs.size());
  for (const AliasInput& in : inputs) {
    std::string prefix = in.sha256_hex.substr(0, 8);
    std::string hash = by_prefix[prefix].size() > 1 ? in.sha256_hex : prefix;
    // RFC 2253 order (last RDN first), as Go's pkix.Name.String() prints it.
    x509::Name rfc2253;
    rfc2253.attributes.assign(in.subject.attributes.rbegin(), in.subject.attributes.rend());
    out.push_back(AliasText(hash, hash.size()) + "|" +
                  AliasText(rfc2253.ToString(), kMaxAliasSubjectBytes));
  }
  return out;
}

Result<std::string> EncodePkcs12Truststore(const std::vector<x509::CertificateInfo>& certs,
                                           std::string_view password) {
  Result<std::vector<Entry>> entries = Prepare(certs, password, /*ascii_password=*/true);
  if (!entries.ok()) return entries.status();
  const std::string pass(password);

  ASN1_OBJECT* any_eku = OBJ_nid2obj(NID_anyExtendedKeyUsage);  // static: not freed
  BagsPtr bags(sk_PKCS12_SAFEBAG_new_null());
  if (!bags || any_eku == nullptr) return Internal("PKCS#12: " + x509::ossl::TakeError());
  for (size_t i = 0; i < entries->size(); ++i) {
    const Entry& e = (*entries)[i];
    Result<X509Ptr> cert = ParseDer(e.der, i);
    if (!cert.ok()) return cert.status();
    STACK_OF(PKCS12_SAFEBAG)* raw = bags.get();
    // The bag belongs to the stack once added.
    PKCS12_SAFEBAG* bag = PKCS12_add_cert(&raw, cert->get());
    if (bag == nullptr || PKCS12_add_friendlyname_utf8(bag, e.alias.c_str(), -1) != 1 ||
        PKCS12_add1_attr_by_txt(bag, kJavaTrustedKeyUsageOid, V_ASN1_OBJECT,
                                reinterpret_cast<const unsigned char*>(any_eku), -1) != 1) {
      return Internal("PKCS#12 certificate bag: " + x509::ossl::TakeError());
    }
  }

  // No password: one plain SafeContents and no MAC; otherwise PBES2 with AES-256-CBC.
  // Salts (random) of 16 bytes, as Modern2023's, rather than OpenSSL's default 8.
  PKCS7* p7 = pass.empty() ? PKCS12_pack_p7data(bags.get())
                           : PKCS12_pack_p7encdata(NID_aes_256_cbc, pass.c_str(), -1, nullptr,
                                                   kPkcs12SaltBytes, kPkcs12Iterations, bags.get());
  SafesPtr safes(sk_PKCS7_new_null());
  if (p7 == nullptr || !safes || sk_PKCS7_push(safes.get(), p7) <= 0) {
    PKCS7_free(p7);
    return Internal("PKCS#12 safe: " + x509::ossl::TakeError());
  }
  Pkcs12Ptr p12(PKCS12_add_safes(safes.get(), 0));
  if (!p12) return Internal("PKCS#12: " + x509::ossl::TakeError());
  if (!pass.empty() && PKCS12_set_mac(p12.get(), pass.c_str(), -1, nullptr, kPkcs12SaltBytes,
                                      kPkcs12Iterations, EVP_sha256()) != 1) {
    return Internal("PKCS#12 MAC: " + x509::ossl::TakeError());
  }
  unsigned char* der = nullptr;
  int len = i2d_PKCS12(p12.get(), &der);
  if (len <= 0) return Internal("PKCS#12 encoding: " + x509::ossl::TakeError());
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

Result<std::vector<std::string>> ReadPkcs12Truststore(std::string_view der,
                                                      std::string_view password) {
  if (Status s = CheckPassword(password, /*ascii_only=*/true); !s.ok()) return s;
  if (der.empty() || der.size() > x509::kMaxInputBytes) {
    return InvalidArgument("PKCS#12: empty or larger than " + std::to_string(x509::kMaxInputBytes) +
                           " bytes");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Pkcs12Ptr p12(d2i_PKCS12(nullptr, &p, static_cast<long>(der.size())));
  if (!p12 || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return InvalidArgument("not one PKCS#12 structure: " + x509::ossl::TakeError());
  }
  const std::string pass(password);
  EVP_PKEY* raw_key = nullptr;
  X509* raw_cert = nullptr;
  STACK_OF(X509)* raw_ca = nullptr;
  int ok = PKCS12_parse(p12.get(), pass.c_str(), &raw_key, &raw_cert, &raw_ca);
  x509::ossl::PkeyPtr key(raw_key);
  X509Ptr cert(raw_cert);
  X509StackPtr ca(raw_ca);
  if (ok != 1) return InvalidArgument("PKCS#12: " + x509::ossl::TakeError("wrong password"));
  if (key || cert) return InvalidArgument("PKCS#12: holds a private key, not a truststore");
  std::vector<std::string> out;
  for (int i = 0; ca && i < sk_X509_num(ca.get()); ++i) {
    unsigned char* buf = nullptr;
    int len = i2d_X509(sk_X509_value(ca.get(), i), &buf);
    if (len <= 0) return Internal("PKCS#12 certificate: " + x509::ossl::TakeError());
    out.emplace_back(reinterpret_cast<const char*>(buf), static_cast<size_t>(len));
    OPENSSL_free(buf);
  }
  return out;
}

Result<std::string> EncodeJks(const std::vector<x509::CertificateInfo>& certs,
                              std::string_view password, std::optional<x509::Time> creation_time) {
  Result<std::vector<Entry>> entries = Prepare(certs, password, /*ascii_password=*/false);
  if (!entries.ok()) return entries.status();
  std::string out;
  PutU32(out, kJksMagic);
  PutU32(out, kJksVersion);
  PutU32(out, static_cast<uint32_t>(entries->size()));
  for (const Entry& e : *entries) {
    x509::Time created = creation_time.value_or(e.not_before);
    // Java reads a signed long of milliseconds; times before 1970 are negative.
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(created.time_since_epoch());
    PutU32(out, kJksTrustedCertTag);
    PutAsciiUtf(out, e.alias);
    PutU64(out, static_cast<uint64_t>(ms.count()));
    PutAsciiUtf(out, "X.509");
    PutU32(out, static_cast<uint32_t>(e.der.size()));
    out += e.der;
  }
  // The keystore's integrity check, as Java's JavaKeyStore computes it.
  x509::ossl::MdCtxPtr ctx(EVP_MD_CTX_new());
  const std::string pass16 = Utf16Be(password);
  static constexpr std::string_view kWhitener = "Mighty Aphrodite";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha1(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), pass16.data(), pass16.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), kWhitener.data(), kWhitener.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), out.data(), out.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), md, &md_len) != 1) {
    return Internal("JKS digest: " + x509::ossl::TakeError());
  }
  out.append(reinterpret_cast<const char*>(md), md_len);
  return out;
}

}  // namespace certguard::trust
