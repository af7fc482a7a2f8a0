#include "x509/parse.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>

#include <climits>
#include <cstdio>

#include "x509/csr_strict.h"
#include "x509/openssl_util.h"
#include "x509/pem.h"

namespace certguard::x509 {
namespace {

using ossl::TakeError;

// Rejects what must never reach a decoder: nothing at all, or too much.
Status CheckSize(std::string_view input) {
  if (input.size() > kMaxInputBytes) {
    return InvalidArgument("input is " + std::to_string(input.size()) + " bytes; the limit is " +
                           std::to_string(kMaxInputBytes));
  }
  for (char c : input) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return Status::Ok();
  }
  return InvalidArgument("empty input");
}

bool OnlyWhitespace(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

std::string AsnString(const ASN1_STRING* s) {
  if (s == nullptr) return {};
  const unsigned char* data = ASN1_STRING_get0_data(s);
  int len = ASN1_STRING_length(s);
  if (data == nullptr || len <= 0) return {};
  return std::string(reinterpret_cast<const char*>(data), static_cast<size_t>(len));
}

Result<Name> ConvertName(const X509_NAME* xn, const char* what) {
  Name name;
  if (xn == nullptr) return name;
  int count = X509_NAME_entry_count(xn);
  for (int i = 0; i < count; ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(xn, i);
    if (e == nullptr) return InvalidArgument(std::string(what) + ": unreadable attribute");
    std::string type = ossl::ObjectName(X509_NAME_ENTRY_get_object(e));
    // Values are converted to UTF-8 whatever their ASN.1 string type (BMPString, ...).
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    ossl::Utf8Ptr owner(utf8);
    if (len < 0) {
      return InvalidArgument(std::string(what) + ": attribute " + type +
                             " has an undecodable value: " + TakeError());
    }
    std::string value(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
    name.attributes.emplace_back(std::move(type), std::move(value));
  }
  return name;
}

Status AddGeneralNames(const GENERAL_NAMES* gens, SubjectAltNames* sans) {
  int n = sk_GENERAL_NAME_num(gens);
  for (int i = 0; i < n; ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(gens, i);
    if (g == nullptr) return InvalidArgument("subjectAltName: unreadable entry");
    switch (g->type) {
      case GEN_DNS:
        sans->dns.push_back(AsnString(g->d.dNSName));
        break;
      case GEN_EMAIL:
        sans->emails.push_back(AsnString(g->d.rfc822Name));
        break;
      case GEN_URI:
        sans->uris.push_back(AsnString(g->d.uniformResourceIdentifier));
        break;
      case GEN_IPADD: {
        std::string raw = AsnString(g->d.iPAddress);
        auto ip = IpAddress::FromBytes(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
        if (ip.ok()) {
          sans->ips.push_back(*ip);
        } else {
          // Kept visible rather than dropped: a policy must see it to refuse it.
          sans->others.push_back("IP:invalid (" + std::to_string(raw.size()) + " bytes)");
        }
        break;
      }
      case GEN_OTHERNAME:
        sans->others.push_back("othername:" + ossl::ObjectName(g->d.otherName->type_id));
        break;
      case GEN_DIRNAME: {
        auto dn = ConvertName(g->d.directoryName, "subjectAltName DirName");
        sans->others.push_back("DirName:" + (dn.ok() ? dn->ToString() : std::string("?")));
        break;
      }
      case GEN_RID:
        sans->others.push_back("RID:" + ossl::ObjectName(g->d.registeredID));
        break;
      case GEN_X400:
        sans->others.push_back("X400Name");
        break;
      case GEN_EDIPARTY:
        sans->others.push_back("EdiPartyName");
        break;
      default:
        sans->others.push_back("unknown:" + std::to_string(g->type));
        break;
    }
  }
  return Status::Ok();
}

std::string EcCurveName(const EVP_PKEY* pkey) {
  char group[80] = {};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                     &len) != 1) {
    ERR_clear_error();
    return {};
  }
  int nid = OBJ_txt2nid(group);
  if (nid == NID_undef) nid = EC_curve_nist2nid(group);
  const char* nist = nid != NID_undef ? EC_curve_nid2nist(nid) : nullptr;
  ERR_clear_error();
  return nist != nullptr ? std::string(nist) : std::string(group, len);
}

PublicKeyInfo ConvertKey(const EVP_PKEY* pkey) {
  PublicKeyInfo info;
  info.bits = EVP_PKEY_get_bits(pkey);
  if (info.bits < 0) info.bits = 0;
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
      info.algorithm = KeyAlgorithm::kRsa;
      break;
    case EVP_PKEY_EC:
      info.algorithm = KeyAlgorithm::kEcdsa;
      info.curve = EcCurveName(pkey);
      break;
    case EVP_PKEY_ED25519:
      info.algorithm = KeyAlgorithm::kEd25519;
      break;
    case EVP_PKEY_ED448:
      info.algorithm = KeyAlgorithm::kEd448;
      break;
    case EVP_PKEY_DSA:
      info.algorithm = KeyAlgorithm::kDsa;
      break;
    default:
      info.algorithm = KeyAlgorithm::kOther;
      break;
  }
  return info;
}

Result<Time> ConvertTime(const ASN1_TIME* t, const char* what) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return InvalidArgument(std::string(what) + " is not a valid time: " + TakeError("bad format"));
  }
  using namespace std::chrono;
  year_month_day ymd{year{tm.tm_year + 1900}, month{static_cast<unsigned>(tm.tm_mon + 1)},
                     day{static_cast<unsigned>(tm.tm_mday)}};
  if (!ymd.ok()) return InvalidArgument(std::string(what) + " is not a valid date");
  return sys_days{ymd} + hours{tm.tm_hour} + minutes{tm.tm_min} + seconds{tm.tm_sec};
}

std::string HexUpper(const unsigned char* data, size_t len, bool colons) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < len; ++i) {
    if (colons && i > 0) out += ':';
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 0x0f];
  }
  return out;
}

// A DER object that must be the whole of `der`: trailing bytes are an error.
template <typename T, typename Ptr>
Result<Ptr> DecodeDer(std::string_view der, T* (*d2i)(T**, const unsigned char**, long),
                      const char* what) {
  if (der.empty()) return InvalidArgument(std::string("empty ") + what);
  if (der.size() > static_cast<size_t>(LONG_MAX)) return InvalidArgument("input too large");
  ERR_clear_error();
  const auto* start = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* p = start;
  Ptr obj(d2i(nullptr, &p, static_cast<long>(der.size())));
  if (!obj) {
    return InvalidArgument(std::string("not a DER ") + what + ": " + TakeError());
  }
  size_t used = static_cast<size_t>(p - start);
  if (used != der.size()) {
    return InvalidArgument("trailing data: " + std::to_string(der.size() - used) +
                           " bytes after the " + what);
  }
  return obj;
}

// The one PEM block of a single-object input, decoded. `types` lists the labels
// accepted. Text around the block other than whitespace is an error.
Result<std::string> SinglePemBlock(std::string_view input, std::initializer_list<const char*> types,
                                   const char* what) {
  auto blocks = pem::Scan(input);
  if (blocks.empty()) return InvalidArgument("no PEM block found");
  const pem::Block& b = blocks.front();
  if (!b.error.empty()) return InvalidArgument("PEM " + b.type + " block: " + b.error);
  bool type_ok = false;
  for (const char* t : types) type_ok = type_ok || b.type == t;
  if (!type_ok) {
    return InvalidArgument(std::string("expected a PEM ") + *types.begin() + " block, found " +
                           (b.type.empty() ? std::string("an unlabelled block") : b.type));
  }
  if (!OnlyWhitespace(input.substr(0, b.begin))) {
    return InvalidArgument(std::string("unexpected text before the ") + what);
  }
  if (blocks.size() > 1) {
    return InvalidArgument(std::string("trailing data: more than one PEM block after the ") + what);
  }
  if (!OnlyWhitespace(input.substr(b.end))) {
    return InvalidArgument(std::string("trailing data after the ") + what + "'s END line");
  }
  auto der = pem::DecodeBody(b.body);
  if (!der.ok()) return der.status().Annotate(std::string("PEM ") + b.type + " block");
  return std::move(der).value();
}

Result<CertificateInfo> ConvertCertificate(const X509* x) {
  CertificateInfo info;
  auto subject = ConvertName(X509_get_subject_name(x), "subject");
  if (!subject.ok()) return subject.status();
  info.subject = std::move(subject).value();
  auto issuer = ConvertName(X509_get_issuer_name(x), "issuer");
  if (!issuer.ok()) return issuer.status();
  info.issuer = std::move(issuer).value();

  ossl::BnPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr));
  if (!serial) return InvalidArgument("unreadable serial number: " + TakeError());
  ossl::OsslStringPtr hex(BN_bn2hex(serial.get()));
  if (!hex) return Internal("serial number to hex: " + TakeError());
  info.serial = hex.get();

  auto nb = ConvertTime(X509_get0_notBefore(x), "notBefore");
  if (!nb.ok()) return nb.status();
  auto na = ConvertTime(X509_get0_notAfter(x), "notAfter");
  if (!na.ok()) return na.status();
  info.not_before = *nb;
  info.not_after = *na;

  // X509_get_ext_d2i: NULL with crit == -1 means absent; crit >= 0 with NULL means malformed.
  int crit = -1;
  ossl::BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(x, NID_basic_constraints, &crit, nullptr)));
  if (!bc && crit != -1) {
    return InvalidArgument(crit == -2 ? "duplicate basicConstraints extension"
                                      : "malformed basicConstraints extension");
  }
  info.is_ca = bc && bc->ca != 0;

  crit = -1;
  ossl::GeneralNamesPtr gens(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, &crit, nullptr)));
  if (!gens && crit != -1) {
    return InvalidArgument(crit == -2 ? "duplicate subjectAltName extension"
                                      : "malformed subjectAltName extension");
  }
  if (gens) {
    if (Status s = AddGeneralNames(gens.get(), &info.sans); !s.ok()) return s;
  }

  const EVP_PKEY* pkey = X509_get0_pubkey(x);
  if (pkey == nullptr) return InvalidArgument("unreadable public key: " + TakeError());
  info.key = ConvertKey(pkey);

  unsigned char* der = nullptr;
  int der_len = i2d_X509(x, &der);
  ossl::Utf8Ptr der_owner(der);
  if (der_len <= 0) return InvalidArgument("cannot re-encode certificate: " + TakeError());
  info.der.assign(reinterpret_cast<const char*>(der), static_cast<size_t>(der_len));

  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(der, static_cast<size_t>(der_len), md, &md_len, EVP_sha256(), nullptr) != 1) {
    return Internal("SHA-256: " + TakeError());
  }
  info.sha256_fingerprint = HexUpper(md, md_len, true);
  ERR_clear_error();
  return info;
}

Result<CertificateInfo> CertificateFromDer(std::string_view der) {
  auto x = DecodeDer<X509, ossl::X509Ptr>(der, d2i_X509, "certificate");
  if (!x.ok()) return x.status();
  return ConvertCertificate(x->get());
}

const EVP_MD* DigestFor(SignatureAlgorithm a) {
  switch (a) {
    case SignatureAlgorithm::kEcdsaSha256:
    case SignatureAlgorithm::kRsaSha256:
      return EVP_sha256();
    case SignatureAlgorithm::kEcdsaSha384:
    case SignatureAlgorithm::kRsaSha384:
      return EVP_sha384();
    case SignatureAlgorithm::kEcdsaSha512:
    case SignatureAlgorithm::kRsaSha512:
      return EVP_sha512();
    case SignatureAlgorithm::kEd25519:
      return nullptr;  // EdDSA hashes internally
  }
  return nullptr;
}

ossl::PkeyPtr KeyFromData(const char* type, const OSSL_PARAM* params) {
  ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) != 1) {
    return nullptr;
  }
  return ossl::PkeyPtr(key);
}

// The request's key, built from what the strict walk read. d2i_PUBKEY would
// read the same bytes a second time through OpenSSL 3's decoders, at about six
// times the cost of a decision's whole key handling. Importing still checks
// the key: an ECDSA point must lie on its curve.
ossl::PkeyPtr KeyOf(const StrictCsr& s) {
  switch (s.key_algorithm) {
    case KeyAlgorithm::kEcdsa: {
      const char* group = s.curve == "P-256"   ? "prime256v1"
                          : s.curve == "P-384" ? "secp384r1"
                          : s.curve == "P-521" ? "secp521r1"
                                               : nullptr;
      if (group == nullptr) return nullptr;
      const OSSL_PARAM params[] = {
          OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group),
                                           0),
          OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                            const_cast<char*>(s.key.data()), s.key.size()),
          OSSL_PARAM_construct_end()};
      return KeyFromData("EC", params);
    }
    case KeyAlgorithm::kRsa: {
      const auto* n_bytes = reinterpret_cast<const unsigned char*>(s.rsa_modulus.data());
      ossl::BnPtr n(BN_bin2bn(n_bytes, static_cast<int>(s.rsa_modulus.size()), nullptr));
      ossl::BnPtr e(BN_new());
      if (!n || !e || s.rsa_exponent <= 0 ||
          BN_set_word(e.get(), static_cast<BN_ULONG>(s.rsa_exponent)) != 1) {
        return nullptr;
      }
      std::unique_ptr<OSSL_PARAM_BLD, ossl::Deleter<OSSL_PARAM_BLD_free>> build(
          OSSL_PARAM_BLD_new());
      if (!build || OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
          OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
        return nullptr;
      }
      std::unique_ptr<OSSL_PARAM, ossl::Deleter<OSSL_PARAM_free>> params(
          OSSL_PARAM_BLD_to_param(build.get()));
      if (!params) return nullptr;
      return KeyFromData("RSA", params.get());
    }
    case KeyAlgorithm::kEd25519:
      return ossl::PkeyPtr(EVP_PKEY_new_raw_public_key_ex(
          nullptr, "ED25519", nullptr, reinterpret_cast<const unsigned char*>(s.key.data()),
          s.key.size()));
    default:
      return nullptr;
  }
}

// The request as the strict DER walk reads it; OpenSSL builds the key from the
// walk's reading (for its size and curve) and verifies the signature over the
// same TBS bytes.
Result<CsrInfo> CsrFromDer(std::string_view der, CsrDefect* defect) {
  StrictCsr strict;
  CsrRefusal why;
  if (!ReadStrictCsr(der, &strict, &why)) {
    *defect = why.defect;
    return InvalidArgument(std::move(why.message));
  }
  ERR_clear_error();
  ossl::PkeyPtr pkey = KeyOf(strict);
  if (!pkey) {
    *defect = CsrDefect::kKeyMalformed;
    return InvalidArgument("unreadable public key: " + TakeError());
  }
  CsrInfo info;
  info.key = ConvertKey(pkey.get());
  if (info.key.algorithm != strict.key_algorithm ||
      (info.key.algorithm == KeyAlgorithm::kEcdsa && info.key.curve != strict.curve)) {
    *defect = CsrDefect::kKeyMalformed;
    return InvalidArgument("the public key decodes as " + info.key.Describe() +
                           ", not as its algorithm identifier says");
  }
  if (KeyAlgorithmFor(strict.signature_algorithm) == strict.key_algorithm) {
    ossl::MdCtxPtr ctx(EVP_MD_CTX_new());
    const auto* tbs = reinterpret_cast<const unsigned char*>(strict.tbs.data());
    const auto* sig = reinterpret_cast<const unsigned char*>(strict.signature.data());
    info.signature_valid =
        ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, DigestFor(strict.signature_algorithm),
                                    nullptr, pkey.get()) == 1 &&
        EVP_DigestVerify(ctx.get(), sig, strict.signature.size(), tbs, strict.tbs.size()) == 1;
  }
  ERR_clear_error();
  info.subject = std::move(strict.subject);
  info.sans = std::move(strict.sans);
  info.other_extensions = std::move(strict.other_extensions);
  return info;
}

bool IsCertificateLabel(const std::string& type) {
  return type == "CERTIFICATE" || type == "X509 CERTIFICATE";
}

}  // namespace

Result<CsrInfo> ParseCsr(std::string_view pem_or_der, CsrDefect* defect) {
  CsrDefect ignored = CsrDefect::kNone;
  if (defect == nullptr) defect = &ignored;
  *defect = CsrDefect::kMalformed;  // until proven otherwise
  if (Status s = CheckSize(pem_or_der); !s.ok()) return s;
  Result<CsrInfo> info = InvalidArgument("unreachable");
  if (!pem::LooksLikePem(pem_or_der)) {
    info = CsrFromDer(pem_or_der, defect);
  } else {
    auto der = SinglePemBlock(pem_or_der, {"CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"},
                              "certificate request");
    if (!der.ok()) return der.status();
    info = CsrFromDer(*der, defect);
  }
  if (info.ok()) *defect = CsrDefect::kNone;
  return info;
}

Result<CertificateInfo> ParseCertificate(std::string_view pem_or_der) {
  if (Status s = CheckSize(pem_or_der); !s.ok()) return s;
  if (!pem::LooksLikePem(pem_or_der)) return CertificateFromDer(pem_or_der);
  auto der = SinglePemBlock(pem_or_der, {"CERTIFICATE", "X509 CERTIFICATE"}, "certificate");
  if (!der.ok()) return der.status();
  return CertificateFromDer(*der);
}

Bundle ParseBundle(std::string_view pem_or_der) {
  Bundle bundle;
  if (Status s = CheckSize(pem_or_der); !s.ok()) {
    bundle.errors.push_back({0, s.message()});
    return bundle;
  }

  if (!pem::LooksLikePem(pem_or_der)) {
    // DER: one certificate, or several concatenated. After an unreadable one
    // there is no way to find the next, so reading stops there.
    std::string_view rest = pem_or_der;
    for (size_t index = 0; !rest.empty(); ++index) {
      ERR_clear_error();
      const auto* start = reinterpret_cast<const unsigned char*>(rest.data());
      const unsigned char* p = start;
      long len = rest.size() > static_cast<size_t>(LONG_MAX) ? LONG_MAX
                                                             : static_cast<long>(rest.size());
      ossl::X509Ptr x(d2i_X509(nullptr, &p, len));
      if (!x) {
        bundle.errors.push_back({index, "not a DER certificate: " + TakeError()});
        break;
      }
      auto info = ConvertCertificate(x.get());
      if (info.ok()) {
        bundle.certificates.push_back(std::move(info).value());
      } else {
        bundle.errors.push_back({index, info.status().message()});
      }
      rest.remove_prefix(static_cast<size_t>(p - start));
    }
    return bundle;
  }

  auto blocks = pem::Scan(pem_or_der);
  if (blocks.empty()) bundle.errors.push_back({0, "no PEM block found"});
  for (size_t i = 0; i < blocks.size(); ++i) {
    const pem::Block& b = blocks[i];
    if (!b.error.empty()) {
      bundle.errors.push_back({i, (b.type.empty() ? "PEM block" : b.type + " block") + ": " +
                                      b.error});
      continue;
    }
    if (!IsCertificateLabel(b.type)) {
      // Named, never decoded: a private key's bytes must not reach a message.
      bundle.errors.push_back({i, "a " + (b.type.empty() ? std::string("unlabelled") : b.type) +
                                      " block, not a CERTIFICATE"});
      continue;
    }
    auto der = pem::DecodeBody(b.body);
    if (!der.ok()) {
      bundle.errors.push_back({i, der.status().message()});
      continue;
    }
    auto info = CertificateFromDer(*der);
    if (!info.ok()) {
      bundle.errors.push_back({i, info.status().message()});
      continue;
    }
    bundle.certificates.push_back(std::move(info).value());
  }
  return bundle;
}

std::string ToPem(const CertificateInfo& cert) { return pem::Encode("CERTIFICATE", cert.der); }

}  // namespace certguard::x509
