// Raw DER for tests: build any encoding byte by byte, canonical or not, and
// sign a hand-made CertificationRequestInfo with OpenSSL so the signature is
// valid over exactly those bytes.
//
//   using namespace certguard::testing::der;
//   std::string tbs = Seq({Int(0), NodeSubject("worker-1"), Spki(key),
//                          Attributes({ExtensionRequest({San({Dns("worker-1")})})})});
//   std::string csr = SignCsr(tbs, key);  // DER of the whole request
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "support/pki.h"

namespace certguard::testing::der {

// One element with the minimal length encoding.
std::string Tlv(uint8_t tag, std::string_view contents);
// One element whose length uses `length_bytes` bytes in long form (0x80|n), with
// leading zeros as needed: non-minimal when the value would fit in fewer.
std::string TlvLongLength(uint8_t tag, std::string_view contents, int length_bytes);
// One element with an indefinite length and an end-of-contents marker (BER).
std::string TlvIndefinite(uint8_t tag, std::string_view contents);

std::string Concat(const std::vector<std::string>& parts);
std::string Seq(const std::vector<std::string>& parts);
std::string Set(const std::vector<std::string>& parts);
std::string Oid(std::string_view dotted);  // "1.2.840.113549.1.9.14"
std::string Int(int64_t v);
std::string Bool(bool v);
std::string Null();
std::string OctetString(std::string_view bytes);
std::string BitString(std::string_view bytes);  // no unused bits
std::string Utf8(std::string_view s);
std::string Printable(std::string_view s);
std::string Ia5(std::string_view s);
std::string T61(std::string_view s);
std::string Bmp(std::string_view ascii);        // UTF-16BE of ASCII text
std::string Universal(std::string_view ascii);  // UTF-32BE of ASCII text

// Names.
std::string Atv(std::string_view oid, std::string value_tlv);  // AttributeTypeAndValue
std::string Rdn(std::string atv);                              // SET of one ATV
std::string Name(const std::vector<std::string>& rdns);
// O=system:nodes, CN=system:node:NODE as PrintableStrings (what Go writes).
std::string NodeSubject(std::string_view node);

// Subject alternative names and extensions.
std::string Dns(std::string_view name);  // [2] IA5
std::string Ip(std::string_view text);   // [7] 4 or 16 bytes
std::string GeneralNames(const std::vector<std::string>& names);
std::string San(const std::vector<std::string>& names);  // the whole Extension
std::string Extension(std::string_view oid, std::string_view value, bool critical = false);
std::string BasicConstraintsCa();  // basicConstraints critical CA:TRUE
std::string Extensions(const std::vector<std::string>& extensions);  // SEQUENCE OF
std::string Attribute(std::string_view oid, const std::vector<std::string>& values);
std::string ExtensionRequest(const std::vector<std::string>& extensions);
std::string Attributes(const std::vector<std::string>& attributes);  // [0] IMPLICIT SET OF

inline constexpr char kOidExtensionRequest[] = "1.2.840.113549.1.9.14";
inline constexpr char kOidMsExtReq[] = "1.3.6.1.4.1.311.2.1.14";
inline constexpr char kOidChallengePassword[] = "1.2.840.113549.1.9.7";
inline constexpr char kOidSubjectAltName[] = "2.5.29.17";

// The key's SubjectPublicKeyInfo (i2d_PUBKEY).
std::string Spki(const Key& key);
// Version 0, the subject, the key, the attributes.
std::string Tbs(const std::string& subject, const Key& key, const std::string& attributes,
                int64_t version = 0);
// The whole request: tbs, the signature algorithm for the key (ECDSA/RSA with
// `digest`, or Ed25519) and a valid signature over tbs. digest: "SHA256", "SHA1", ...
std::string SignCsr(const std::string& tbs, const Key& key, std::string_view digest = "SHA256");

}  // namespace certguard::testing::der
