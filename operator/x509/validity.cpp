#include "x509/validity.h"

#include <chrono>
#include <cstdint>

#include "x509/der.h"
#include "x509/pem.h"

namespace certguard::x509 {

namespace {

constexpr uint8_t kUtcTime = 0x17;
constexpr uint8_t kGeneralizedTime = 0x18;
constexpr uint8_t kVersionTag = der::kContext | der::kConstructed | 0;  // [0] EXPLICIT
constexpr std::string_view kCnOid = "\x55\x04\x03";                   // 2.5.4.3

bool Digits(std::string_view s, int* out) {
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// UTCTime "YYMMDDHHMMSSZ" (years 1950-2049) or GeneralizedTime "YYYYMMDDHHMMSSZ".
std::optional<Time> ParseTime(const der::Element& e) {
  std::string_view s = e.contents;
  int year = 0;
  if (e.tag == kUtcTime && s.size() == 13 && Digits(s.substr(0, 2), &year)) {
    year += year >= 50 ? 1900 : 2000;
    s.remove_prefix(2);
  } else if (e.tag == kGeneralizedTime && s.size() == 15 && Digits(s.substr(0, 4), &year)) {
    s.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  int mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (s.back() != 'Z' || !Digits(s.substr(0, 2), &mo) || !Digits(s.substr(2, 2), &d) ||
      !Digits(s.substr(4, 2), &h) || !Digits(s.substr(6, 2), &mi) || !Digits(s.substr(8, 2), &sec)) {
    return std::nullopt;
  }
  std::chrono::year_month_day ymd{std::chrono::year(year), std::chrono::month(mo),
                                  std::chrono::day(d)};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  return std::chrono::sys_days(ymd) + std::chrono::hours(h) + std::chrono::minutes(mi) +
         std::chrono::seconds(sec);
}

Status Refuse(const std::string& why) { return InvalidArgument("certificate: " + why); }

// The one CN of an RDNSequence, if it is one of the plain string types.
Result<std::optional<std::string>> CommonName(const der::Element& name) {
  der::Reader rdns = der::Reader::Of(name);
  std::optional<std::string> cn;
  int count = 0;
  while (!rdns.empty()) {
    der::Element set;
    if (!rdns.Read(der::kSet, &set, "RelativeDistinguishedName")) break;
    der::Reader atvs = der::Reader::Of(set);
    while (!atvs.empty()) {
      der::Element atv, oid, value;
      if (!atvs.Read(der::kSequence, &atv, "AttributeTypeAndValue")) break;
      der::Reader parts = der::Reader::Of(atv);
      if (!parts.Read(der::kOid, &oid, "attribute type") ||
          !parts.ReadAny(&value, "attribute value") || !parts.ExpectEnd("AttributeTypeAndValue")) {
        return Refuse(parts.error().message);
      }
      if (oid.contents != kCnOid) continue;
      ++count;
      // Other string types need converting to UTF-8: left to OpenSSL.
      if (value.tag != der::kUtf8String && value.tag != der::kPrintableString &&
          value.tag != der::kIa5String) {
        return Refuse("CN of string type " + std::to_string(value.tag));
      }
      cn = std::string(value.contents);
    }
    if (atvs.failed()) return Refuse(atvs.error().message);
  }
  if (rdns.failed()) return Refuse(rdns.error().message);
  if (count != 1) cn.reset();
  return cn;
}

}  // namespace

Result<LeafValidity> ReadLeafValidity(std::string_view der) {
  if (der.empty() || der.size() > kMaxInputBytes) return Refuse("empty or oversized");
  der::Reader outer(der);
  der::Element cert, tbs, alg, sig, version, serial, tbs_alg, issuer, validity, subject;
  if (!outer.Read(der::kSequence, &cert, "Certificate") || !outer.ExpectEnd("input")) {
    return Refuse(outer.error().message);
  }
  der::Reader c = der::Reader::Of(cert);
  if (!c.Read(der::kSequence, &tbs, "tbsCertificate") ||
      !c.Read(der::kSequence, &alg, "signatureAlgorithm") ||
      !c.Read(der::kBitString, &sig, "signature") || !c.ExpectEnd("Certificate")) {
    return Refuse(c.error().message);
  }
  der::Reader t = der::Reader::Of(tbs);
  bool has_version = false;
  if (!t.ReadOptional(kVersionTag, &version, &has_version, "version") ||
      !t.Read(der::kInteger, &serial, "serialNumber") ||
      !t.Read(der::kSequence, &tbs_alg, "signature") ||
      !t.Read(der::kSequence, &issuer, "issuer") ||
      !t.Read(der::kSequence, &validity, "validity") ||
      !t.Read(der::kSequence, &subject, "subject")) {
    return Refuse(t.error().message);
  }
  der::Reader v = der::Reader::Of(validity);
  der::Element nb, na;
  if (!v.ReadAny(&nb, "notBefore") || !v.ReadAny(&na, "notAfter") || !v.ExpectEnd("validity")) {
    return Refuse(v.error().message);
  }
  LeafValidity out;
  auto not_before = ParseTime(nb);
  auto not_after = ParseTime(na);
  if (!not_before || !not_after) return Refuse("validity time is not DER UTCTime or GeneralizedTime");
  out.not_before = *not_before;
  out.not_after = *not_after;
  auto cn = CommonName(subject);
  if (!cn.ok()) return cn.status();
  out.subject_cn = std::move(*cn);
  return out;
}

Result<LeafValidity> ReadSinglePemValidity(std::string_view pem) {
  auto blocks = pem::Scan(pem);
  if (blocks.size() != 1 || blocks[0].type != "CERTIFICATE" || !blocks[0].error.empty()) {
    return Refuse("not exactly one PEM CERTIFICATE block");
  }
  auto der = pem::DecodeBody(blocks[0].body);
  if (!der.ok()) return der.status();
  return ReadLeafValidity(*der);
}

}  // namespace certguard::x509
