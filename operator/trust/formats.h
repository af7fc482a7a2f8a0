// A bundle's certificates as a Java or PKCS#12 truststore, for targets that
// want a binary format rather than PEM. Pure: the certificates, the password
// and the creation time are passed in; no I/O, no clock. Thread-safe.
//
// Both formats take the certificates in the bundle's order (Build's order),
// drop exact duplicates (same DER), and name each entry with TruststoreAlias.
// Refused (InvalidArgument): no certificate, a certificate whose `der` is not
// one DER certificate; for JKS a password that is not UTF-8 or holds a NUL
// character; for PKCS#12 a password that is not printable ASCII (Java's
// PKCS#12 reader refuses any other, and tools encode the rest differently).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "x509/types.h"

namespace certguard::trust {

// What an alias is made of: the certificate's SHA-256 (lower-case hex, 64
// digits) and its subject.
struct AliasInput {
  std::string sha256_hex;
  x509::Name subject;
};

// The entry names, as trust-manager makes them: the first 8 hex digits of the
// certificate's SHA-256, '|', and the subject in RFC 2253 order ("cn=root,o=example").
// Lower-case (Java's JKS looks aliases up in lower case) and printable ASCII
// only: other characters become '_'; the subject part is cut at 120 bytes.
// When two different certificates share the 8-digit prefix, both get the full
// 64 digits, so aliases are unique and depend only on the set of certificates.
std::vector<std::string> TruststoreAliases(const std::vector<AliasInput>& inputs);

// A PKCS#12 truststore (no key): one SafeContents of certBags, each with a
// friendlyName (its alias) and Java's trusted-key-usage attribute
// (OID 2.16.840.1.113894.746875.1.1 = anyExtendedKeyUsage), without which Java
// lists no entry. With a password it is encrypted as go-pkcs12's Modern2023
// profile: PBES2 (PBKDF2-HMAC-SHA-256, AES-256-CBC) and an HMAC-SHA-256 MAC,
// 2048 iterations, 16-byte salts. RC2-40, trust-manager's default, is not written: OpenSSL 3
// has it only in its legacy provider and it protects nothing. With an empty
// password the bags are neither encrypted nor MACed (go-pkcs12's Passwordless,
// as trust-manager writes it then). Salts and IVs are random: two encodings
// of the same bundle differ, so compare the certificates, not the bytes.
// Returns the DER bytes.
Result<std::string> EncodePkcs12Truststore(const std::vector<x509::CertificateInfo>& certs,
                                           std::string_view password);

// The certificates (DER, in OpenSSL's PKCS12_parse order) of a PKCS#12 file,
// read with `password` (its MAC, when it has one, must verify). Lets a caller
// tell whether a target already holds a bundle, since encodings are not
// repeatable: success also means the file is under `password` (an empty one
// matches only a file without MAC). Bag attributes are not looked at. InvalidArgument when the
// bytes are not PKCS#12, the password is wrong, or a private key is in it.
Result<std::vector<std::string>> ReadPkcs12Truststore(std::string_view der,
                                                      std::string_view password);

// A Java KeyStore (JKS, version 2) of trustedCertEntry entries: magic
// 0xFEEDFEED, version 2, the entry count, then per entry the tag 2, the alias,
// the creation time (milliseconds since the epoch), "X.509" and the DER; then
// SHA-1(password as UTF-16BE || "Mighty Aphrodite" || everything before).
// `creation_time` is every entry's creation time; when not given, each entry
// takes its certificate's notBefore, as trust-manager does. The same input
// gives the same bytes, so a target needs rewriting only when the bundle changed.
Result<std::string> EncodeJks(const std::vector<x509::CertificateInfo>& certs,
                              std::string_view password,
                              std::optional<x509::Time> creation_time = std::nullopt);

}  // namespace certguard::trust
