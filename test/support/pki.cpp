#include "support/pki.h"

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <chrono>
#include <stdexcept>

#include "x509/openssl_util.h"
#include "x509/pem.h"

namespace certguard::testing {
namespace {

namespace ossl = certguard::x509::ossl;

[[noreturn]] void Fail(const std::string& what) {
  throw std::runtime_error("pki: " + what + ": " + ossl::TakeError("failed"));
}

void Check(bool ok, const std::string& what) {
  if (!ok) Fail(what);
}

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* p, const std::string& what) {
  Check(p != nullptr, what);
  return std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free);
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

ossl::NamePtr MakeName(const Attributes& attrs) {
  ossl::NamePtr name(X509_NAME_new());
  Check(name != nullptr, "X509_NAME_new");
  for (const auto& [type, value] : attrs) {
    Check(X509_NAME_add_entry_by_txt(name.get(), type.c_str(), MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(value.data()),
                                     static_cast<int>(value.size()), -1, 0) == 1,
          "subject attribute " + type);
  }
  return name;
}

void PushName(GENERAL_NAMES* gens, int type, const std::string& value) {
  ossl::GeneralNamePtr g(GENERAL_NAME_new());
  Check(g != nullptr, "GENERAL_NAME_new");
  ASN1_IA5STRING* s = ASN1_IA5STRING_new();
  Check(s != nullptr && ASN1_STRING_set(s, value.data(), static_cast<int>(value.size())) == 1,
        "SAN string");
  GENERAL_NAME_set0_value(g.get(), type, s);
  Check(sk_GENERAL_NAME_push(gens, g.get()) > 0, "SAN push");
  g.release();
}

void PushIp(GENERAL_NAMES* gens, const std::string& raw) {
  ossl::GeneralNamePtr g(GENERAL_NAME_new());
  Check(g != nullptr, "GENERAL_NAME_new");
  ASN1_OCTET_STRING* s = ASN1_OCTET_STRING_new();
  Check(s != nullptr && ASN1_OCTET_STRING_set(s, reinterpret_cast<const unsigned char*>(raw.data()),
                                              static_cast<int>(raw.size())) == 1,
        "SAN IP");
  GENERAL_NAME_set0_value(g.get(), GEN_IPADD, s);
  Check(sk_GENERAL_NAME_push(gens, g.get()) > 0, "SAN push");
  g.release();
}

// The subjectAltName extension for the SANs set through Dns()/Ip()/..., or null.
ossl::ExtPtr SanExtension(const NameAndSans& p) {
  if (p.dns.empty() && p.ips.empty() && p.raw_ips.empty() && p.emails.empty() && p.uris.empty()) {
    return nullptr;
  }
  ossl::GeneralNamesPtr gens(GENERAL_NAMES_new());
  Check(gens != nullptr, "GENERAL_NAMES_new");
  for (const auto& d : p.dns) PushName(gens.get(), GEN_DNS, d);
  for (const auto& ip : p.ips) {
    ossl::Asn1OctetStringPtr bytes(a2i_IPADDRESS(ip.c_str()));
    Check(bytes != nullptr, "IP address \"" + ip + "\"");
    const auto* data = reinterpret_cast<const char*>(ASN1_STRING_get0_data(bytes.get()));
    PushIp(gens.get(), std::string(data, static_cast<size_t>(ASN1_STRING_length(bytes.get()))));
  }
  for (const auto& raw : p.raw_ips) PushIp(gens.get(), raw);
  for (const auto& e : p.emails) PushName(gens.get(), GEN_EMAIL, e);
  for (const auto& u : p.uris) PushName(gens.get(), GEN_URI, u);
  ossl::ExtPtr ext(X509V3_EXT_i2d(NID_subject_alt_name, 0, gens.get()));
  Check(ext != nullptr, "subjectAltName extension");
  return ext;
}

ossl::ExtPtr ConfExtension(X509V3_CTX* ctx, const Extension& e) {
  ossl::ExtPtr ext(X509V3_EXT_nconf(nullptr, ctx, e.name.c_str(), e.value.c_str()));
  Check(ext != nullptr, "extension " + e.name + "=" + e.value);
  return ext;
}

// Ed25519/Ed448 sign without a separate digest.
const EVP_MD* DigestFor(EVP_PKEY* key) {
  int id = EVP_PKEY_get_base_id(key);
  return (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) ? nullptr : EVP_sha256();
}

std::shared_ptr<EVP_PKEY> Generate(const char* alg, const std::string& what,
                                   void (*configure)(EVP_PKEY_CTX*, const void*) = nullptr,
                                   const void* arg = nullptr) {
  ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, alg, nullptr));
  Check(ctx != nullptr, what);
  Check(EVP_PKEY_keygen_init(ctx.get()) == 1, what);
  if (configure != nullptr) configure(ctx.get(), arg);
  EVP_PKEY* pkey = nullptr;
  Check(EVP_PKEY_generate(ctx.get(), &pkey) == 1, what);
  return Share(pkey, what);
}

std::string ToDer(X509_REQ* req) {
  unsigned char* der = nullptr;
  int len = i2d_X509_REQ(req, &der);
  ossl::Utf8Ptr owner(der);
  Check(len > 0, "i2d_X509_REQ");
  return std::string(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
}

std::string ToDer(X509* x) {
  unsigned char* der = nullptr;
  int len = i2d_X509(x, &der);
  ossl::Utf8Ptr owner(der);
  Check(len > 0, "i2d_X509");
  return std::string(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
}

std::string DerToPem(std::string_view type, const std::string& der) {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  Check(bio != nullptr, "BIO_new");
  Check(PEM_write_bio(bio.get(), std::string(type).c_str(), "",
                      reinterpret_cast<const unsigned char*>(der.data()),
                      static_cast<long>(der.size())) > 0,
        "PEM_write_bio");
  return BioToString(bio.get());
}

void SetTime(ASN1_TIME* field, x509::Time t, const char* what) {
  Check(ASN1_TIME_set(field, static_cast<time_t>(t.time_since_epoch().count())) != nullptr, what);
}

}  // namespace

// ---- Key ----

Key Key::Rsa(int bits) {
  return Key(Generate(
      "RSA", "RSA key", [](EVP_PKEY_CTX* c, const void* b) {
        Check(EVP_PKEY_CTX_set_rsa_keygen_bits(c, *static_cast<const int*>(b)) == 1, "RSA bits");
      },
      &bits));
}

Key Key::Ec(std::string_view curve) {
  std::string name(curve);
  int nid = EC_curve_nist2nid(name.c_str());
  if (nid == NID_undef) nid = OBJ_sn2nid(name.c_str());
  Check(nid != NID_undef, "unknown curve " + name);
  return Key(Generate(
      "EC", "EC key " + name, [](EVP_PKEY_CTX* c, const void* n) {
        Check(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(c, *static_cast<const int*>(n)) == 1,
              "EC curve");
      },
      &nid));
}

Key Key::Ed25519() { return Key(Generate("ED25519", "Ed25519 key")); }
Key Key::Ed448() { return Key(Generate("ED448", "Ed448 key")); }

std::string Key::PrivatePem() const {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  Check(bio != nullptr &&
            PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr,
                                     nullptr) == 1,
        "private key PEM");
  return BioToString(bio.get());
}

std::string Key::PublicPem() const {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  Check(bio != nullptr && PEM_write_bio_PUBKEY(bio.get(), pkey_.get()) == 1, "public key PEM");
  return BioToString(bio.get());
}

// ---- CsrBuilder ----

CsrBuilder& CsrBuilder::Subject(Attributes attributes) {
  parts_.subject = std::move(attributes);
  return *this;
}
CsrBuilder& CsrBuilder::Attribute(std::string type, std::string value) {
  parts_.subject.emplace_back(std::move(type), std::move(value));
  return *this;
}
CsrBuilder& CsrBuilder::Dns(std::string name) {
  parts_.dns.push_back(std::move(name));
  return *this;
}
CsrBuilder& CsrBuilder::Ip(std::string text) {
  parts_.ips.push_back(std::move(text));
  return *this;
}
CsrBuilder& CsrBuilder::IpBytes(std::string raw) {
  parts_.raw_ips.push_back(std::move(raw));
  return *this;
}
CsrBuilder& CsrBuilder::Email(std::string email) {
  parts_.emails.push_back(std::move(email));
  return *this;
}
CsrBuilder& CsrBuilder::Uri(std::string uri) {
  parts_.uris.push_back(std::move(uri));
  return *this;
}
CsrBuilder& CsrBuilder::Extension(std::string name, std::string value) {
  parts_.extensions.push_back({std::move(name), std::move(value)});
  return *this;
}
CsrBuilder& CsrBuilder::Key(::certguard::testing::Key key) {
  key_ = std::move(key);
  return *this;
}
CsrBuilder& CsrBuilder::SignWith(::certguard::testing::Key other) {
  signer_ = std::move(other);
  return *this;
}
CsrBuilder& CsrBuilder::TamperSignature() {
  tamper_ = true;
  return *this;
}

const Key& CsrBuilder::key() const {
  if (!key_) key_ = ::certguard::testing::Key::Ec("P-256");
  return *key_;
}

std::string CsrBuilder::Der() const {
  ossl::X509ReqPtr req(X509_REQ_new());
  Check(req != nullptr, "X509_REQ_new");
  Check(X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) == 1, "CSR version");
  ossl::NamePtr name = MakeName(parts_.subject);
  Check(X509_REQ_set_subject_name(req.get(), name.get()) == 1, "CSR subject");
  Check(X509_REQ_set_pubkey(req.get(), key().get()) == 1, "CSR public key");

  ossl::ExtStackPtr exts(sk_X509_EXTENSION_new_null());
  Check(exts != nullptr, "extension stack");
  if (ossl::ExtPtr san = SanExtension(parts_)) {
    Check(sk_X509_EXTENSION_push(exts.get(), san.get()) > 0, "push SAN");
    san.release();
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, nullptr, nullptr, req.get(), nullptr, 0);
  for (const auto& e : parts_.extensions) {
    ossl::ExtPtr ext = ConfExtension(&ctx, e);
    Check(sk_X509_EXTENSION_push(exts.get(), ext.get()) > 0, "push extension");
    ext.release();
  }
  if (sk_X509_EXTENSION_num(exts.get()) > 0) {
    Check(X509_REQ_add_extensions(req.get(), exts.get()) == 1, "CSR extensions");
  }

  EVP_PKEY* signer = signer_ ? signer_->get() : key().get();
  Check(X509_REQ_sign(req.get(), signer, DigestFor(signer)) > 0, "CSR signature");
  std::string der = ToDer(req.get());
  // The signature BIT STRING ends the encoding: flipping the last byte keeps the
  // DER well-formed and makes the signature wrong for every algorithm.
  if (tamper_) der.back() = static_cast<char>(der.back() ^ 0x01);
  return der;
}

std::string CsrBuilder::Pem() const { return DerToPem("CERTIFICATE REQUEST", Der()); }

// ---- CertBuilder ----

CertBuilder& CertBuilder::Subject(Attributes attributes) {
  parts_.subject = std::move(attributes);
  return *this;
}
CertBuilder& CertBuilder::Attribute(std::string type, std::string value) {
  parts_.subject.emplace_back(std::move(type), std::move(value));
  return *this;
}
CertBuilder& CertBuilder::Dns(std::string name) {
  parts_.dns.push_back(std::move(name));
  return *this;
}
CertBuilder& CertBuilder::Ip(std::string text) {
  parts_.ips.push_back(std::move(text));
  return *this;
}
CertBuilder& CertBuilder::IpBytes(std::string raw) {
  parts_.raw_ips.push_back(std::move(raw));
  return *this;
}
CertBuilder& CertBuilder::Email(std::string email) {
  parts_.emails.push_back(std::move(email));
  return *this;
}
CertBuilder& CertBuilder::Uri(std::string uri) {
  parts_.uris.push_back(std::move(uri));
  return *this;
}
CertBuilder& CertBuilder::Extension(std::string name, std::string value) {
  parts_.extensions.push_back({std::move(name), std::move(value)});
  return *this;
}
CertBuilder& CertBuilder::Ca(std::optional<int> path_len) {
  ca_ = true;
  path_len_ = path_len;
  return *this;
}
CertBuilder& CertBuilder::KeyUsage(std::string value) {
  key_usage_ = std::move(value);
  return *this;
}
CertBuilder& CertBuilder::ExtKeyUsage(std::string value) {
  return Extension("extendedKeyUsage", std::move(value));
}
CertBuilder& CertBuilder::NotBefore(x509::Time t) {
  not_before_ = t;
  return *this;
}
CertBuilder& CertBuilder::NotAfter(x509::Time t) {
  not_after_ = t;
  return *this;
}
CertBuilder& CertBuilder::Serial(std::string hex) {
  serial_ = std::move(hex);
  return *this;
}
CertBuilder& CertBuilder::Key(::certguard::testing::Key key) {
  key_ = std::move(key);
  return *this;
}
CertBuilder& CertBuilder::IssuedBy(const Cert& issuer) {
  issuer_ = issuer;
  return *this;
}

Cert CertBuilder::Build() const {
  using namespace std::chrono;
  ::certguard::testing::Key key = key_ ? *key_ : ::certguard::testing::Key::Ec("P-256");
  std::shared_ptr<X509> x(X509_new(), X509_free);
  Check(x != nullptr, "X509_new");
  Check(X509_set_version(x.get(), X509_VERSION_3) == 1, "version");

  ossl::BnPtr bn(BN_new());
  Check(bn != nullptr, "BN_new");
  if (serial_) {
    BIGNUM* raw = bn.get();
    Check(BN_hex2bn(&raw, serial_->c_str()) == static_cast<int>(serial_->size()),
          "serial " + *serial_);
  } else {
    Check(BN_rand(bn.get(), 64, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) == 1, "random serial");
  }
  Check(BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x.get())) != nullptr, "serial");

  auto now = time_point_cast<seconds>(system_clock::now());
  SetTime(X509_getm_notBefore(x.get()), not_before_.value_or(now - hours{1}), "notBefore");
  SetTime(X509_getm_notAfter(x.get()), not_after_.value_or(now + days{365}), "notAfter");

  Attributes subject = parts_.subject;
  if (subject.empty()) subject.emplace_back("CN", "certguard-test");
  ossl::NamePtr name = MakeName(subject);
  Check(X509_set_subject_name(x.get(), name.get()) == 1, "subject");
  X509* issuer_x = issuer_ ? issuer_->x509.get() : x.get();
  Check(X509_set_issuer_name(x.get(), X509_get_subject_name(issuer_x)) == 1, "issuer");
  Check(X509_set_pubkey(x.get(), key.get()) == 1, "public key");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_x, x.get(), nullptr, nullptr, 0);
  std::vector<::certguard::testing::Extension> exts;
  if (ca_) {
    std::string bc = "critical,CA:TRUE";
    if (path_len_) bc += ",pathlen:" + std::to_string(*path_len_);
    exts.push_back({"basicConstraints", bc});
  }
  if (key_usage_) {
    exts.push_back({"keyUsage", *key_usage_});
  } else if (ca_) {
    exts.push_back({"keyUsage", "critical,keyCertSign,cRLSign"});
  }
  exts.push_back({"subjectKeyIdentifier", "hash"});
  if (issuer_) exts.push_back({"authorityKeyIdentifier", "keyid:always"});
  exts.insert(exts.end(), parts_.extensions.begin(), parts_.extensions.end());
  if (ossl::ExtPtr san = SanExtension(parts_)) {
    Check(X509_add_ext(x.get(), san.get(), -1) == 1, "add SAN");
  }
  for (const auto& e : exts) {
    ossl::ExtPtr ext = ConfExtension(&ctx, e);
    Check(X509_add_ext(x.get(), ext.get(), -1) == 1, "add extension " + e.name);
  }

  EVP_PKEY* signer = issuer_ ? issuer_->key.get() : key.get();
  Check(X509_sign(x.get(), signer, DigestFor(signer)) > 0, "certificate signature");

  Cert cert{{}, ToDer(x.get()), key, x};
  cert.pem = DerToPem("CERTIFICATE", cert.der);
  return cert;
}

std::string JoinPem(const std::vector<std::string>& pems, std::string_view between) {
  std::string out;
  for (size_t i = 0; i < pems.size(); ++i) {
    if (i > 0) out += between;
    out += pems[i];
  }
  return out;
}

std::string Base64(std::string_view bytes) {
  std::string s = x509::pem::EncodeBody(bytes);
  std::erase(s, '\n');
  return s;
}

}  // namespace certguard::testing
