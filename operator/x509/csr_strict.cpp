#include "x509/csr_strict.h"

#include <algorithm>
#include <iterator>

#include "x509/der.h"

namespace certguard::x509 {
namespace {

using der::Element;
using der::Problem;
using der::Reader;
using namespace std::string_view_literals;

// OIDs as their DER contents: compared byte for byte, no text on the hot path.
constexpr std::string_view kOidRsa = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"sv;
constexpr std::string_view kOidEcPublicKey = "\x2a\x86\x48\xce\x3d\x02\x01"sv;
constexpr std::string_view kOidEd25519 = "\x2b\x65\x70"sv;
constexpr std::string_view kOidP256 = "\x2a\x86\x48\xce\x3d\x03\x01\x07"sv;
constexpr std::string_view kOidP384 = "\x2b\x81\x04\x00\x22"sv;
constexpr std::string_view kOidP521 = "\x2b\x81\x04\x00\x23"sv;
constexpr std::string_view kOidExtensionRequest = "\x2a\x86\x48\x86\xf7\x0d\x01\x09\x0e"sv;
constexpr std::string_view kOidMsExtReq = "\x2b\x06\x01\x04\x01\x82\x37\x02\x01\x0e"sv;
constexpr std::string_view kOidChallengePassword = "\x2a\x86\x48\x86\xf7\x0d\x01\x09\x07"sv;
constexpr std::string_view kOidSubjectAltName = "\x55\x1d\x11"sv;

struct SigAlg {
  std::string_view oid;
  SignatureAlgorithm algorithm;
  bool null_params;  // RSA: NULL parameters; the others: absent
};
constexpr SigAlg kSignatureAlgorithms[] = {
    {"\x2a\x86\x48\xce\x3d\x04\x03\x02"sv, SignatureAlgorithm::kEcdsaSha256, false},
    {"\x2a\x86\x48\xce\x3d\x04\x03\x03"sv, SignatureAlgorithm::kEcdsaSha384, false},
    {"\x2a\x86\x48\xce\x3d\x04\x03\x04"sv, SignatureAlgorithm::kEcdsaSha512, false},
    {"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b"sv, SignatureAlgorithm::kRsaSha256, true},
    {"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0c"sv, SignatureAlgorithm::kRsaSha384, true},
    {"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0d"sv, SignatureAlgorithm::kRsaSha512, true},
    {"\x2b\x65\x70"sv, SignatureAlgorithm::kEd25519, false},
};

// Short names as OpenSSL prints them, for the OIDs a request commonly holds.
struct OidName {
  std::string_view oid;
  const char* name;
};
constexpr OidName kNames[] = {
    {"\x55\x04\x03"sv, "CN"},
    {"\x55\x04\x0a"sv, "O"},
    {"\x55\x04\x0b"sv, "OU"},
    {"\x55\x04\x06"sv, "C"},
    {"\x55\x04\x07"sv, "L"},
    {"\x55\x04\x08"sv, "ST"},
    {"\x55\x04\x09"sv, "street"},
    {"\x55\x04\x05"sv, "serialNumber"},
    {"\x55\x04\x04"sv, "SN"},
    {"\x55\x04\x2a"sv, "GN"},
    {"\x55\x04\x0c"sv, "title"},
    {"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01"sv, "emailAddress"},
    {"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x19"sv, "DC"},
    {"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x01"sv, "UID"},
    {"\x2b\x06\x01\x04\x01\x82\x37\x14\x02\x03"sv, "msUPN"},
    {"\x55\x1d\x11"sv, "subjectAltName"},
    {"\x55\x1d\x12"sv, "issuerAltName"},
    {"\x55\x1d\x13"sv, "basicConstraints"},
    {"\x55\x1d\x0f"sv, "keyUsage"},
    {"\x55\x1d\x25"sv, "extendedKeyUsage"},
    {"\x55\x1d\x0e"sv, "subjectKeyIdentifier"},
    {"\x55\x1d\x23"sv, "authorityKeyIdentifier"},
    {"\x55\x1d\x1e"sv, "nameConstraints"},
    {"\x55\x1d\x1f"sv, "crlDistributionPoints"},
    {"\x55\x1d\x20"sv, "certificatePolicies"},
    {"\x55\x1d\x24"sv, "policyConstraints"},
    {"\x2b\x06\x01\x05\x05\x07\x01\x01"sv, "authorityInfoAccess"},
};

std::string NameOf(std::string_view oid) {
  for (const auto& n : kNames) {
    if (n.oid == oid) return n.name;
  }
  return der::OidToString(oid);
}

const char* StringTypeName(uint8_t tag) {
  switch (tag) {
    case 0x12:
      return "NumericString";
    case 0x14:
      return "T61String";
    case 0x15:
      return "VideotexString";
    case 0x16:
      return "IA5String";
    case 0x1a:
      return "VisibleString";
    case 0x1b:
      return "GeneralString";
    case 0x1c:
      return "UniversalString";
    case 0x1e:
      return "BMPString";
    default:
      return nullptr;
  }
}

std::string HexTag(uint8_t tag) {
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("0x") + kHex[tag >> 4] + kHex[tag & 0x0f];
}

// One walk over one request; the first refusal wins.
class Walk {
 public:
  explicit Walk(CsrRefusal* why) : why_(why) {}

  bool Refuse(CsrDefect d, std::string message) {
    *why_ = CsrRefusal{d, std::move(message)};
    return false;
  }
  // A DER reader's failure: kNotDer stays itself; kMalformed becomes `malformed_as`.
  bool FromDer(const der::Error& e, CsrDefect malformed_as) {
    return Refuse(e.problem == Problem::kNotDer ? CsrDefect::kNotDer : malformed_as,
                  "not a DER certificate request: " + e.message);
  }
  bool FromReader(const Reader& r, CsrDefect malformed_as = CsrDefect::kMalformed) {
    return FromDer(r.error(), malformed_as);
  }

  bool Name(const Element& seq, x509::Name* out, CsrDefect malformed_as, const char* what);
  bool PublicKey(const Element& spki, StrictCsr* out);
  bool RsaKey(std::string_view key, size_t offset, bool has_params, const Element& params,
              StrictCsr* out);
  bool EcKey(std::string_view key, bool has_params, const Element& params, StrictCsr* out);
  bool Ed25519Key(std::string_view key, bool has_params, StrictCsr* out);
  bool Attributes(const Element& attrs, StrictCsr* out);
  bool Extensions(const Element& seq, StrictCsr* out);
  bool SubjectAltNames(const Element& ext_value, StrictCsr* out);
  bool GeneralName(const Element& g, x509::SubjectAltNames* sans);
  bool OtherName(const Element& g, x509::SubjectAltNames* sans);
  bool DirectoryName(const Element& g, x509::SubjectAltNames* sans);
  bool SignatureAlgorithmId(const Element& alg, StrictCsr* out);

 private:
  CsrRefusal* why_;
};

bool Walk::Name(const Element& seq, x509::Name* out, CsrDefect malformed_as, const char* what) {
  Reader rdns = Reader::Of(seq);
  while (!rdns.empty()) {
    Element rdn, atv, type, value;
    if (!rdns.Read(der::kSet, &rdn, "subject RDN")) return FromReader(rdns, malformed_as);
    Reader in_rdn = Reader::Of(rdn);
    if (in_rdn.empty()) {
      return Refuse(CsrDefect::kSubjectMalformed,
                    std::string(what) + ": an empty RDN at offset " + std::to_string(rdn.offset));
    }
    if (!in_rdn.Read(der::kSequence, &atv, "subject attribute")) {
      return FromReader(in_rdn, malformed_as);
    }
    if (!in_rdn.empty()) {
      return Refuse(CsrDefect::kSubjectMalformed,
                    std::string(what) + ": a multi-valued RDN at offset " +
                        std::to_string(rdn.offset) + " (one attribute per RDN is required)");
    }
    Reader in_atv = Reader::Of(atv);
    if (!in_atv.Read(der::kOid, &type, "subject attribute type") ||
        !in_atv.ReadAny(&value, "subject attribute value") ||
        !in_atv.ExpectEnd("subject attribute")) {
      return FromReader(in_atv, malformed_as);
    }
    der::Error err;
    if (!der::CheckOid(type, &err, "subject attribute type")) return FromDer(err, malformed_as);
    std::string name = NameOf(type.contents);
    if (value.tag == der::kPrintableString) {
      if (!der::IsPrintableString(value.contents)) {
        return Refuse(CsrDefect::kSubjectMalformed,
                      std::string(what) + ": " + name +
                          " is a PrintableString with characters outside its set");
      }
    } else if (value.tag == der::kUtf8String) {
      if (!der::IsValidUtf8(value.contents)) {
        return Refuse(CsrDefect::kSubjectMalformed,
                      std::string(what) + ": " + name + " is a UTF8String that is not valid UTF-8");
      }
    } else {
      const char* type_name = StringTypeName(value.tag);
      return Refuse(CsrDefect::kSubjectStringType,
                    std::string(what) + ": " + name + " is encoded as " +
                        (type_name ? std::string(type_name) : "tag " + HexTag(value.tag)) +
                        "; only PrintableString and UTF8String are accepted");
    }
    out->attributes.emplace_back(std::move(name), std::string(value.contents));
  }
  return true;
}

bool Walk::PublicKey(const Element& spki, StrictCsr* out) {
  Reader r = Reader::Of(spki);
  Element alg, bits, oid;
  if (!r.Read(der::kSequence, &alg, "subjectPublicKeyInfo.algorithm") ||
      !r.Read(der::kBitString, &bits, "subjectPublicKeyInfo.subjectPublicKey") ||
      !r.ExpectEnd("subjectPublicKeyInfo")) {
    return FromReader(r);
  }
  Reader a = Reader::Of(alg);
  if (!a.Read(der::kOid, &oid, "public key algorithm")) return FromReader(a);
  der::Error err;
  if (!der::CheckOid(oid, &err, "public key algorithm")) return FromDer(err, CsrDefect::kMalformed);
  std::string_view key;
  if (!der::ParseOctetAlignedBitString(bits, &key, &err, "subjectPublicKey")) {
    return FromDer(err, CsrDefect::kKeyMalformed);
  }
  Element params;
  const bool has_params = !a.empty();
  if ((has_params && !a.ReadAny(&params, "public key parameters")) ||
      !a.ExpectEnd("public key algorithm")) {
    return FromReader(a);
  }
  if (oid.contents == kOidRsa) return RsaKey(key, bits.offset, has_params, params, out);
  if (oid.contents == kOidEcPublicKey) return EcKey(key, has_params, params, out);
  if (oid.contents == kOidEd25519) return Ed25519Key(key, has_params, out);
  return Refuse(CsrDefect::kKeyAlgorithm,
                "key algorithm " + NameOf(oid.contents) +
                    " is not allowed; use RSA, ECDSA P-256/P-384/P-521 or Ed25519");
}

bool Walk::RsaKey(std::string_view key, size_t offset, bool has_params, const Element& params,
                  StrictCsr* out) {
  der::Error err;
  if (!has_params || !der::CheckNull(params, &err, "RSA key parameters")) {
    return Refuse(CsrDefect::kKeyAlgorithm, "an RSA key needs NULL parameters");
  }
  // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }, both positive.
  Reader k(key, offset);
  Element seq, n, e;
  if (!k.Read(der::kSequence, &seq, "RSA public key") || !k.ExpectEnd("RSA public key")) {
    return FromDer(k.error(), CsrDefect::kKeyMalformed);
  }
  Reader ks = Reader::Of(seq);
  if (!ks.Read(der::kInteger, &n, "RSA modulus") || !ks.Read(der::kInteger, &e, "RSA exponent") ||
      !ks.ExpectEnd("RSA public key")) {
    return FromDer(ks.error(), CsrDefect::kKeyMalformed);
  }
  std::string_view magnitude;
  int64_t exponent = 0;
  if (!der::CheckPositiveInteger(n, &magnitude, &err, "RSA modulus")) {
    return FromDer(err, CsrDefect::kKeyMalformed);
  }
  if (!der::ParseSmallInteger(e, &exponent, &err, "RSA exponent")) {
    return FromDer(err, CsrDefect::kKeyMalformed);
  }
  if (exponent <= 0) return Refuse(CsrDefect::kKeyMalformed, "RSA exponent is not positive");
  out->key_algorithm = KeyAlgorithm::kRsa;
  out->rsa_modulus = magnitude;
  out->rsa_exponent = exponent;
  return true;
}

bool Walk::EcKey(std::string_view key, bool has_params, const Element& params, StrictCsr* out) {
  if (!has_params || params.tag != der::kOid) {
    return Refuse(CsrDefect::kKeyAlgorithm,
                  "an ECDSA key must name its curve; explicit or absent parameters are refused");
  }
  der::Error err;
  if (!der::CheckOid(params, &err, "curve")) return FromDer(err, CsrDefect::kMalformed);
  size_t coordinate = 0;
  if (params.contents == kOidP256) {
    out->curve = "P-256", coordinate = 32;
  } else if (params.contents == kOidP384) {
    out->curve = "P-384", coordinate = 48;
  } else if (params.contents == kOidP521) {
    out->curve = "P-521", coordinate = 66;
  } else {
    return Refuse(CsrDefect::kKeyAlgorithm, "ECDSA curve " + der::OidToString(params.contents) +
                                                " is not P-256, P-384 or P-521");
  }
  // Go reads only the uncompressed form: 0x04 || X || Y.
  if (key.size() != 1 + 2 * coordinate || static_cast<uint8_t>(key[0]) != 0x04) {
    return Refuse(CsrDefect::kKeyMalformed,
                  "the ECDSA point is not in uncompressed form for " + out->curve);
  }
  out->key_algorithm = KeyAlgorithm::kEcdsa;
  out->key = key;
  return true;
}

bool Walk::Ed25519Key(std::string_view key, bool has_params, StrictCsr* out) {
  if (has_params) return Refuse(CsrDefect::kKeyAlgorithm, "an Ed25519 key has no parameters");
  if (key.size() != 32) {
    return Refuse(CsrDefect::kKeyMalformed,
                  "an Ed25519 key is 32 bytes, not " + std::to_string(key.size()));
  }
  out->key_algorithm = KeyAlgorithm::kEd25519;
  out->key = key;
  return true;
}

bool Walk::SubjectAltNames(const Element& ext_value, StrictCsr* out) {
  // The OCTET STRING holds exactly one GeneralNames SEQUENCE: Go reads the first
  // SEQUENCE and ignores what follows, so anything after it is refused.
  Reader holder = Reader::Of(ext_value);
  Element seq;
  if (!holder.Read(der::kSequence, &seq, "subjectAltName") ||
      !holder.ExpectEnd("subjectAltName extension value")) {
    return FromReader(holder, CsrDefect::kExtensionMalformed);
  }
  Reader names = Reader::Of(seq);
  if (names.empty()) return Refuse(CsrDefect::kExtensionMalformed, "subjectAltName is empty");
  while (!names.empty()) {
    Element g;
    if (!names.ReadAny(&g, "subjectAltName entry")) {
      return FromReader(names, CsrDefect::kExtensionMalformed);
    }
    if (!GeneralName(g, &out->sans)) return false;
  }
  return true;
}

// One GeneralName, by its context tag (RFC 5280 4.2.1.6).
bool Walk::GeneralName(const Element& g, x509::SubjectAltNames* sans) {
  const std::string_view v = g.contents;
  auto ia5 = [&](const char* type) {
    if (der::IsIa5String(v)) return true;
    return Refuse(CsrDefect::kExtensionMalformed,
                  std::string("subjectAltName ") + type + " holds non-ASCII bytes");
  };
  switch (g.tag) {
    case der::kContext | 1:  // rfc822Name
      if (!ia5("rfc822Name")) return false;
      sans->emails.emplace_back(v);
      return true;
    case der::kContext | 2:  // dNSName
      if (!ia5("dNSName")) return false;
      sans->dns.emplace_back(v);
      return true;
    case der::kContext | 6:  // uniformResourceIdentifier
      if (!ia5("URI")) return false;
      sans->uris.emplace_back(v);
      return true;
    case der::kContext | 7: {  // iPAddress
      auto ip = IpAddress::FromBytes(reinterpret_cast<const uint8_t*>(v.data()), v.size());
      if (!ip.ok()) {
        return Refuse(CsrDefect::kExtensionMalformed, "subjectAltName iPAddress of " +
                                                          std::to_string(v.size()) +
                                                          " bytes (4 or 16 are valid)");
      }
      sans->ips.push_back(*ip);
      return true;
    }
    case der::kContext | der::kConstructed | 0:
      return OtherName(g, sans);
    case der::kContext | der::kConstructed | 4:
      return DirectoryName(g, sans);
    case der::kContext | 8: {  // registeredID
      der::Error err;
      Element id = g;
      id.tag = der::kOid;
      if (!der::CheckOid(id, &err, "registeredID")) {
        return FromDer(err, CsrDefect::kExtensionMalformed);
      }
      sans->others.push_back("RID:" + NameOf(v));
      return true;
    }
    case der::kContext | der::kConstructed | 3:
      sans->others.push_back("X400Name");
      return true;
    case der::kContext | der::kConstructed | 5:
      sans->others.push_back("EdiPartyName");
      return true;
    default:
      return Refuse(CsrDefect::kExtensionMalformed,
                    "subjectAltName entry with tag " + HexTag(g.tag) +
                        " is not a GeneralName (or has the wrong constructed bit)");
  }
}

// otherName: type-id, [0] EXPLICIT value.
bool Walk::OtherName(const Element& g, x509::SubjectAltNames* sans) {
  Reader o = Reader::Of(g);
  Element id, value;
  der::Error err;
  if (!o.Read(der::kOid, &id, "otherName type") ||
      !o.Read(der::kContext | der::kConstructed, &value, "otherName value") ||
      !o.ExpectEnd("otherName")) {
    return FromReader(o, CsrDefect::kExtensionMalformed);
  }
  if (!der::CheckOid(id, &err, "otherName type")) {
    return FromDer(err, CsrDefect::kExtensionMalformed);
  }
  sans->others.push_back("othername:" + NameOf(id.contents));
  return true;
}

// directoryName: [4] EXPLICIT Name.
bool Walk::DirectoryName(const Element& g, x509::SubjectAltNames* sans) {
  Reader d = Reader::Of(g);
  Element name_seq;
  if (!d.Read(der::kSequence, &name_seq, "directoryName") || !d.ExpectEnd("directoryName")) {
    return FromReader(d, CsrDefect::kExtensionMalformed);
  }
  x509::Name dn;
  if (!Name(name_seq, &dn, CsrDefect::kExtensionMalformed, "subjectAltName directoryName")) {
    return false;
  }
  sans->others.push_back("DirName:" + dn.ToString());
  return true;
}

bool Walk::Extensions(const Element& seq, StrictCsr* out) {
  Reader exts = Reader::Of(seq);
  std::vector<std::string_view> seen;
  while (!exts.empty()) {
    Element ext, id, critical, value;
    if (!exts.Read(der::kSequence, &ext, "extension")) {
      return FromReader(exts, CsrDefect::kExtensionMalformed);
    }
    Reader e = Reader::Of(ext);
    bool has_critical = false;
    if (!e.Read(der::kOid, &id, "extension id") ||
        !e.ReadOptional(der::kBoolean, &critical, &has_critical, "extension critical") ||
        !e.Read(der::kOctetString, &value, "extension value") || !e.ExpectEnd("extension")) {
      return FromReader(e, CsrDefect::kExtensionMalformed);
    }
    der::Error err;
    if (!der::CheckOid(id, &err, "extension id"))
      return FromDer(err, CsrDefect::kExtensionMalformed);
    const std::string name = NameOf(id.contents);
    if (has_critical) {
      bool is_critical = false;
      if (!der::ParseBoolean(critical, &is_critical, &err, "extension critical")) {
        return FromDer(err, CsrDefect::kExtensionMalformed);
      }
      if (!is_critical) {
        return Refuse(CsrDefect::kNotDer, "not a DER certificate request: extension " + name +
                                              " says critical FALSE, which DER requires omitted");
      }
    }
    if (std::find(seen.begin(), seen.end(), id.contents) != seen.end()) {
      return Refuse(CsrDefect::kDuplicateExtension, "duplicate " + name + " extension");
    }
    seen.push_back(id.contents);
    if (id.contents == kOidSubjectAltName) {
      if (!SubjectAltNames(value, out)) return false;
    } else {
      out->other_extensions.push_back(name);
    }
  }
  return true;
}

bool Walk::Attributes(const Element& attrs, StrictCsr* out) {
  Reader r = Reader::Of(attrs);
  bool have_extension_request = false;
  while (!r.empty()) {
    Element attr, type, values, value;
    if (!r.Read(der::kSequence, &attr, "attribute")) return FromReader(r);
    Reader a = Reader::Of(attr);
    if (!a.Read(der::kOid, &type, "attribute type") ||
        !a.Read(der::kSet, &values, "attribute values") || !a.ExpectEnd("attribute")) {
      return FromReader(a);
    }
    der::Error err;
    if (!der::CheckOid(type, &err, "attribute type")) return FromDer(err, CsrDefect::kMalformed);
    if (type.contents == kOidMsExtReq) {
      return Refuse(CsrDefect::kAttributeNotAllowed,
                    "the msExtReq attribute (1.3.6.1.4.1.311.2.1.14) is refused; use "
                    "extensionRequest");
    }
    if (type.contents == kOidChallengePassword) {
      return Refuse(CsrDefect::kAttributeNotAllowed, "the challengePassword attribute is refused");
    }
    if (type.contents != kOidExtensionRequest) {
      return Refuse(CsrDefect::kAttributeNotAllowed,
                    "attribute " + der::OidToString(type.contents) +
                        " is refused; only one extensionRequest attribute is allowed");
    }
    if (have_extension_request) {
      return Refuse(CsrDefect::kExtensionRequestAmbiguous,
                    "two extensionRequest attributes: parsers differ on which one counts");
    }
    have_extension_request = true;
    Reader v = Reader::Of(values);
    if (v.empty()) {
      return Refuse(CsrDefect::kExtensionRequestAmbiguous, "extensionRequest has no value");
    }
    if (!v.ReadAny(&value, "extensionRequest value")) return FromReader(v);
    if (!v.empty()) {
      return Refuse(CsrDefect::kExtensionRequestAmbiguous,
                    "extensionRequest has more than one value: parsers differ on which one counts");
    }
    if (value.tag != der::kSequence) {
      return Refuse(
          CsrDefect::kExtensionMalformed,
          "extensionRequest value is tag " + HexTag(value.tag) + ", not a SEQUENCE of extensions");
    }
    if (!Extensions(value, out)) return false;
  }
  return true;
}

bool Walk::SignatureAlgorithmId(const Element& alg, StrictCsr* out) {
  Reader a = Reader::Of(alg);
  Element oid, params;
  bool has_params = false;
  if (!a.Read(der::kOid, &oid, "signature algorithm")) return FromReader(a);
  has_params = !a.empty();
  if ((has_params && !a.ReadAny(&params, "signature algorithm parameters")) ||
      !a.ExpectEnd("signature algorithm")) {
    return FromReader(a);
  }
  der::Error err;
  if (!der::CheckOid(oid, &err, "signature algorithm")) return FromDer(err, CsrDefect::kMalformed);
  for (const auto& s : kSignatureAlgorithms) {
    if (s.oid != oid.contents) continue;
    const bool params_ok =
        s.null_params ? has_params && der::CheckNull(params, &err, "params") : !has_params;
    if (!params_ok) {
      return Refuse(CsrDefect::kSignatureAlgorithm,
                    "signature algorithm " + der::OidToString(oid.contents) +
                        (s.null_params ? " needs NULL parameters" : " takes no parameters"));
    }
    out->signature_algorithm = s.algorithm;
    return true;
  }
  return Refuse(CsrDefect::kSignatureAlgorithm,
                "signature algorithm " + der::OidToString(oid.contents) +
                    " is not allowed (ECDSA or RSA PKCS#1 v1.5 with SHA-256/384/512, or Ed25519)");
}

}  // namespace

KeyAlgorithm KeyAlgorithmFor(SignatureAlgorithm a) {
  switch (a) {
    case SignatureAlgorithm::kEcdsaSha256:
    case SignatureAlgorithm::kEcdsaSha384:
    case SignatureAlgorithm::kEcdsaSha512:
      return KeyAlgorithm::kEcdsa;
    case SignatureAlgorithm::kRsaSha256:
    case SignatureAlgorithm::kRsaSha384:
    case SignatureAlgorithm::kRsaSha512:
      return KeyAlgorithm::kRsa;
    case SignatureAlgorithm::kEd25519:
      return KeyAlgorithm::kEd25519;
  }
  return KeyAlgorithm::kOther;
}

bool ReadStrictCsr(std::string_view der, StrictCsr* out, CsrRefusal* why) {
  Walk w(why);
  // CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature }
  Reader top(der);
  Element request;
  if (!top.Read(der::kSequence, &request, "certificate request")) return w.FromReader(top);
  if (!top.empty()) {
    return w.Refuse(CsrDefect::kMalformed,
                    "trailing data: " + std::to_string(der.size() - request.encoding.size()) +
                        " bytes after the certificate request");
  }
  Reader r = Reader::Of(request);
  Element info, sig_alg, sig;
  if (!r.Read(der::kSequence, &info, "certificationRequestInfo") ||
      !r.Read(der::kSequence, &sig_alg, "signatureAlgorithm") ||
      !r.Read(der::kBitString, &sig, "signature") || !r.ExpectEnd("certificate request")) {
    return w.FromReader(r);
  }
  out->tbs = info.encoding;

  // CertificationRequestInfo ::= SEQUENCE { version, subject, subjectPKInfo, attributes [0] }
  Reader i = Reader::Of(info);
  Element version, subject, spki, attrs;
  if (!i.Read(der::kInteger, &version, "version") || !i.Read(der::kSequence, &subject, "subject") ||
      !i.Read(der::kSequence, &spki, "subjectPublicKeyInfo") ||
      !i.Read(der::kContext | der::kConstructed | 0, &attrs, "attributes [0]") ||
      !i.ExpectEnd("certificationRequestInfo")) {
    return w.FromReader(i);
  }
  der::Error err;
  int64_t v = 0;
  if (!der::ParseSmallInteger(version, &v, &err, "version")) {
    return w.FromDer(err, CsrDefect::kVersionNotZero);
  }
  if (v != 0) {
    return w.Refuse(CsrDefect::kVersionNotZero,
                    "version " + std::to_string(v) + "; a PKCS#10 request has version 0 (v1)");
  }
  if (!w.Name(subject, &out->subject, CsrDefect::kMalformed, "subject")) return false;
  if (!w.PublicKey(spki, out)) return false;
  if (!w.Attributes(attrs, out)) return false;
  if (!w.SignatureAlgorithmId(sig_alg, out)) return false;
  if (!der::ParseOctetAlignedBitString(sig, &out->signature, &err, "signature")) {
    return w.FromDer(err, CsrDefect::kMalformed);
  }
  return true;
}

}  // namespace certguard::x509
