#include "trust/formats.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "support/pki.h"
#include "x509/parse.h"

using namespace certguard::trust;
using certguard::Code;
using certguard::testing::CertBuilder;
using certguard::x509::CertificateInfo;
using certguard::x509::Time;

namespace {

CertificateInfo Info(const std::string& der) {
  auto r = certguard::x509::ParseCertificate(der);
  REQUIRE(r.ok());
  return *r;
}

std::vector<CertificateInfo> ThreeCas() {
  return {Info(CertBuilder().Cn("alpha root").O("Example").Ca().Der()),
          Info(CertBuilder().Cn("bravo root").Ca().Der()),
          Info(CertBuilder().Cn("charlie root").Ca().Der())};
}

std::set<std::string> DerSet(const std::vector<CertificateInfo>& certs) {
  std::set<std::string> out;
  for (const auto& c : certs) out.insert(c.der);
  return out;
}

std::string Sha256Hex(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  REQUIRE(EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) == 1);
  char buf[3];
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    snprintf(buf, sizeof(buf), "%02x", md[i]);
    out += buf;
  }
  return out;
}

struct P12Deleter {
  void operator()(PKCS12* p) const { PKCS12_free(p); }
};
using P12 = std::unique_ptr<PKCS12, P12Deleter>;

P12 DecodeP12(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  P12 p12(d2i_PKCS12(nullptr, &p, static_cast<long>(der.size())));
  REQUIRE(p12 != nullptr);
  return p12;
}

// What OpenSSL's own PKCS12_parse finds: whether it succeeded, any key or
// leaf, and the certificates' DER with their friendlyName.
struct Parsed {
  bool ok = false;
  bool has_key = false;
  std::set<std::string> ders;
  std::set<std::string> names;
};

Parsed ParseWithOpenssl(const std::string& der, const char* pass) {
  P12 p12 = DecodeP12(der);
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* ca = nullptr;
  Parsed out;
  out.ok = PKCS12_parse(p12.get(), pass, &key, &cert, &ca) == 1;
  ERR_clear_error();
  out.has_key = key != nullptr || cert != nullptr;
  for (int i = 0; ca != nullptr && i < sk_X509_num(ca); ++i) {
    X509* x = sk_X509_value(ca, i);
    unsigned char* buf = nullptr;
    int len = i2d_X509(x, &buf);
    out.ders.emplace(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
    OPENSSL_free(buf);
    int name_len = 0;
    unsigned char* name = X509_alias_get0(x, &name_len);
    if (name != nullptr)
      out.names.emplace(reinterpret_cast<char*>(name), static_cast<size_t>(name_len));
  }
  EVP_PKEY_free(key);
  X509_free(cert);
  sk_X509_pop_free(ca, X509_free);
  return out;
}

// Every bag of the file, decrypted with `pass` where encrypted; *encrypted says
// whether any SafeContents was, *pbes2 whether every encrypted one used PBES2.
std::vector<PKCS12_SAFEBAG*> Bags(PKCS12* p12, const char* pass, bool* encrypted, bool* pbes2,
                                  std::vector<STACK_OF(PKCS12_SAFEBAG) *>* keep) {
  std::vector<PKCS12_SAFEBAG*> out;
  STACK_OF(PKCS7)* safes = PKCS12_unpack_authsafes(p12);
  REQUIRE(safes != nullptr);
  *encrypted = false;
  *pbes2 = true;
  for (int i = 0; i < sk_PKCS7_num(safes); ++i) {
    PKCS7* p7 = sk_PKCS7_value(safes, i);
    STACK_OF(PKCS12_SAFEBAG)* bags = nullptr;
    if (OBJ_obj2nid(p7->type) == NID_pkcs7_encrypted) {
      *encrypted = true;
      const X509_ALGOR* alg = p7->d.encrypted->enc_data->algorithm;
      if (OBJ_obj2nid(alg->algorithm) != NID_pbes2) *pbes2 = false;
      bags = PKCS12_unpack_p7encdata(p7, pass, -1);
    } else {
      bags = PKCS12_unpack_p7data(p7);
    }
    REQUIRE(bags != nullptr);
    keep->push_back(bags);
    for (int j = 0; j < sk_PKCS12_SAFEBAG_num(bags); ++j)
      out.push_back(sk_PKCS12_SAFEBAG_value(bags, j));
  }
  sk_PKCS7_pop_free(safes, PKCS7_free);
  return out;
}

// True when the bag carries Java's trusted-key-usage attribute with anyExtendedKeyUsage.
bool HasJavaTrust(const PKCS12_SAFEBAG* bag) {
  ASN1_OBJECT* oid = OBJ_txt2obj("2.16.840.1.113894.746875.1.1", 1);
  const STACK_OF(X509_ATTRIBUTE)* attrs = PKCS12_SAFEBAG_get0_attrs(bag);
  int idx = X509at_get_attr_by_OBJ(attrs, oid, -1);
  ASN1_OBJECT_free(oid);
  if (idx < 0) return false;
  X509_ATTRIBUTE* attr = X509at_get_attr(attrs, idx);
  if (X509_ATTRIBUTE_count(attr) != 1) return false;
  ASN1_TYPE* v = X509_ATTRIBUTE_get0_type(attr, 0);
  return v != nullptr && v->type == V_ASN1_OBJECT &&
         OBJ_obj2nid(v->value.object) == NID_anyExtendedKeyUsage;
}

// Big-endian readers over the JKS bytes, failing the test on a short read.
struct Cursor {
  const std::string& s;
  size_t pos = 0;
  uint64_t Read(size_t n) {
    REQUIRE(pos + n <= s.size());
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(s[pos + i]);
    pos += n;
    return v;
  }
  std::string Bytes(size_t n) {
    REQUIRE(pos + n <= s.size());
    std::string out = s.substr(pos, n);
    pos += n;
    return out;
  }
  std::string Utf() { return Bytes(static_cast<size_t>(Read(2))); }
};

struct JksEntry {
  uint32_t tag = 0;
  std::string alias;
  int64_t created_ms = 0;
  std::string type;
  std::string der;
};

std::vector<JksEntry> ReadJksEntries(const std::string& jks, size_t* body_end) {
  Cursor c{jks};
  CHECK(c.Read(4) == 0xFEEDFEEDu);
  CHECK(c.Read(4) == 2);
  auto count = static_cast<size_t>(c.Read(4));
  std::vector<JksEntry> out;
  for (size_t i = 0; i < count; ++i) {
    JksEntry e;
    e.tag = static_cast<uint32_t>(c.Read(4));
    e.alias = c.Utf();
    e.created_ms = static_cast<int64_t>(c.Read(8));
    e.type = c.Utf();
    e.der = c.Bytes(static_cast<size_t>(c.Read(4)));
    out.push_back(e);
  }
  *body_end = c.pos;
  return out;
}

// Java's integrity digest, computed here from the description of the format:
// SHA-1 over the password's UTF-16BE code units, "Mighty Aphrodite", the body.
std::string JksDigest(const std::string& password_utf16be, const std::string& body) {
  std::string input = password_utf16be + "Mighty Aphrodite" + body;
  unsigned char md[20];
  unsigned int len = 0;
  REQUIRE(EVP_Digest(input.data(), input.size(), md, &len, EVP_sha1(), nullptr) == 1);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string AsciiUtf16Be(const std::string& ascii) {
  std::string out;
  for (char ch : ascii) {
    out += '\0';
    out += ch;
  }
  return out;
}

Time At(int64_t seconds) { return Time(std::chrono::seconds(seconds)); }

}  // namespace

TEST_CASE("PKCS#12 truststore: OpenSSL's PKCS12_parse gets every certificate back and no key",
          "[trust][formats]") {
  auto certs = ThreeCas();
  auto p12 = EncodePkcs12Truststore(certs, "changeit");
  REQUIRE(p12.ok());
  Parsed parsed = ParseWithOpenssl(*p12, "changeit");
  REQUIRE(parsed.ok);
  CHECK_FALSE(parsed.has_key);
  CHECK(parsed.ders.size() == 3);
  CHECK(parsed.ders == DerSet(certs));

  // Each friendlyName is the certificate's alias.
  std::vector<AliasInput> inputs;
  for (const auto& c : certs) inputs.push_back({Sha256Hex(c.der), c.subject});
  auto aliases = TruststoreAliases(inputs);
  CHECK(parsed.names == std::set<std::string>(aliases.begin(), aliases.end()));
}

TEST_CASE("PKCS#12 truststore: a wrong password is refused by OpenSSL", "[trust][formats]") {
  auto p12 = EncodePkcs12Truststore(ThreeCas(), "changeit");
  REQUIRE(p12.ok());
  CHECK_FALSE(ParseWithOpenssl(*p12, "changeme").ok);
  CHECK_FALSE(ParseWithOpenssl(*p12, "").ok);
}

TEST_CASE("PKCS#12 truststore with a password: PBES2, a SHA-256 MAC, Java's trust attribute",
          "[trust][formats]") {
  auto p12 = EncodePkcs12Truststore(ThreeCas(), "changeit");
  REQUIRE(p12.ok());
  P12 decoded = DecodeP12(*p12);

  REQUIRE(PKCS12_mac_present(decoded.get()) == 1);
  CHECK(PKCS12_verify_mac(decoded.get(), "changeit", -1) == 1);
  const ASN1_OBJECT* mac_oid = nullptr;
  const ASN1_INTEGER* iter = nullptr;
  const X509_ALGOR* mac_alg = nullptr;
  const ASN1_OCTET_STRING* mac_salt = nullptr;
  PKCS12_get0_mac(nullptr, &mac_alg, &mac_salt, &iter, decoded.get());
  REQUIRE(mac_salt != nullptr);
  CHECK(ASN1_STRING_length(mac_salt) == 16);
  REQUIRE(mac_alg != nullptr);
  X509_ALGOR_get0(&mac_oid, nullptr, nullptr, mac_alg);
  CHECK(OBJ_obj2nid(mac_oid) == NID_sha256);
  REQUIRE(iter != nullptr);
  CHECK(ASN1_INTEGER_get(iter) == 2048);

  bool encrypted = false, pbes2 = false;
  std::vector<STACK_OF(PKCS12_SAFEBAG)*> keep;
  auto bags = Bags(decoded.get(), "changeit", &encrypted, &pbes2, &keep);
  CHECK(encrypted);
  CHECK(pbes2);
  REQUIRE(bags.size() == 3);
  for (const PKCS12_SAFEBAG* bag : bags) {
    CHECK(PKCS12_SAFEBAG_get_nid(bag) == NID_certBag);
    CHECK(HasJavaTrust(bag));
  }
  for (auto* s : keep) sk_PKCS12_SAFEBAG_pop_free(s, PKCS12_SAFEBAG_free);
}

TEST_CASE("PKCS#12 truststore with an empty password: plain, no MAC, still readable",
          "[trust][formats]") {
  auto certs = ThreeCas();
  auto p12 = EncodePkcs12Truststore(certs, "");
  REQUIRE(p12.ok());
  P12 decoded = DecodeP12(*p12);
  CHECK(PKCS12_mac_present(decoded.get()) == 0);

  bool encrypted = true, pbes2 = false;
  std::vector<STACK_OF(PKCS12_SAFEBAG)*> keep;
  auto bags = Bags(decoded.get(), "", &encrypted, &pbes2, &keep);
  CHECK_FALSE(encrypted);
  REQUIRE(bags.size() == 3);
  for (const PKCS12_SAFEBAG* bag : bags) CHECK(HasJavaTrust(bag));
  for (auto* s : keep) sk_PKCS12_SAFEBAG_pop_free(s, PKCS12_SAFEBAG_free);

  Parsed parsed = ParseWithOpenssl(*p12, "");
  REQUIRE(parsed.ok);
  CHECK(parsed.ders == DerSet(certs));
  Parsed no_pass = ParseWithOpenssl(*p12, nullptr);
  REQUIRE(no_pass.ok);
  CHECK(no_pass.ders == DerSet(certs));
}

TEST_CASE("PKCS#12 truststore: a password must be printable ASCII", "[trust][formats]") {
  auto certs = ThreeCas();
  // Java's PKCS#12 reader refuses these ("Password is not ASCII"): a file
  // written with one could not be opened by the applications it is for.
  for (const std::string& pass : {std::string("p\xC3\xA4sswd"), std::string("tab\there"),
                                  std::string("del\x7F"), std::string("nul\0x", 5)}) {
    auto p12 = EncodePkcs12Truststore(certs, pass);
    REQUIRE_FALSE(p12.ok());
    CHECK(p12.status().code() == Code::kInvalidArgument);
    CHECK(p12.status().message().find("printable ASCII") != std::string::npos);
    CHECK(ReadPkcs12Truststore("x", pass).status().message().find("printable ASCII") !=
          std::string::npos);
  }
  // Every printable ASCII character is accepted, and OpenSSL reads the result with it.
  std::string all;
  for (char c = 0x20; c < 0x7F; ++c) all += c;
  auto p12 = EncodePkcs12Truststore(certs, all);
  REQUIRE(p12.ok());
  Parsed parsed = ParseWithOpenssl(*p12, all.c_str());
  REQUIRE(parsed.ok);
  CHECK(parsed.ders == DerSet(certs));
}

TEST_CASE("ReadPkcs12Truststore reads back what was written and refuses the rest",
          "[trust][formats]") {
  auto certs = ThreeCas();
  for (const std::string pass : {"changeit", ""}) {
    auto p12 = EncodePkcs12Truststore(certs, pass);
    REQUIRE(p12.ok());
    auto back = ReadPkcs12Truststore(*p12, pass);
    REQUIRE(back.ok());
    CHECK(back->size() == 3);
    CHECK(std::set<std::string>(back->begin(), back->end()) == DerSet(certs));
  }

  auto p12 = EncodePkcs12Truststore(certs, "changeit");
  REQUIRE(p12.ok());
  auto wrong = ReadPkcs12Truststore(*p12, "nope");
  CHECK(wrong.status().code() == Code::kInvalidArgument);
  // A password changed either way is seen, so a target is rewritten with the new one.
  CHECK_FALSE(ReadPkcs12Truststore(*p12, "").ok());
  auto plain = EncodePkcs12Truststore(certs, "");
  REQUIRE(plain.ok());
  CHECK_FALSE(ReadPkcs12Truststore(*plain, "changeit").ok());

  CHECK(ReadPkcs12Truststore("", "").status().code() == Code::kInvalidArgument);
  CHECK(ReadPkcs12Truststore("not a pkcs12 file", "").status().code() == Code::kInvalidArgument);
  auto trailing = ReadPkcs12Truststore(*p12 + "x", "changeit");
  CHECK(trailing.status().code() == Code::kInvalidArgument);

  // A keystore (a key and its certificate) is not a truststore.
  auto leaf = CertBuilder().Cn("leaf").Build();
  PKCS12* with_key =
      PKCS12_create("changeit", "leaf", leaf.key.get(), leaf.x509.get(), nullptr, 0, 0, 0, 0, 0);
  REQUIRE(with_key != nullptr);
  unsigned char* buf = nullptr;
  int len = i2d_PKCS12(with_key, &buf);
  PKCS12_free(with_key);
  REQUIRE(len > 0);
  std::string keystore(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  auto refused = ReadPkcs12Truststore(keystore, "changeit");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Code::kInvalidArgument);
  CHECK(refused.status().message().find("private key") != std::string::npos);
}

TEST_CASE("JKS byte layout: magic, version, count, trusted entries, Java's digest",
          "[trust][formats]") {
  auto certs = ThreeCas();
  auto jks = EncodeJks(certs, "changeit", At(1700000000));
  REQUIRE(jks.ok());
  size_t body_end = 0;
  auto entries = ReadJksEntries(*jks, &body_end);
  REQUIRE(entries.size() == 3);

  std::vector<AliasInput> inputs;
  for (const auto& c : certs) inputs.push_back({Sha256Hex(c.der), c.subject});
  auto aliases = TruststoreAliases(inputs);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(entries[i].tag == 2);  // trustedCertEntry
    CHECK(entries[i].alias == aliases[i]);
    CHECK(entries[i].created_ms == 1700000000000);
    CHECK(entries[i].type == "X.509");
    CHECK(entries[i].der == certs[i].der);  // the bundle's order is kept
  }

  // 20 bytes of digest end the file, and they are Java's.
  REQUIRE(jks->size() == body_end + 20);
  CHECK(jks->substr(body_end) == JksDigest(AsciiUtf16Be("changeit"), jks->substr(0, body_end)));
  CHECK(jks->substr(body_end) != JksDigest(AsciiUtf16Be("changeme"), jks->substr(0, body_end)));
}

TEST_CASE("JKS digest: the password counts as UTF-16 code units, surrogate pairs included",
          "[trust][formats]") {
  // "ä" (U+00E4) and U+1F511 (surrogates D83D DD11), written out by hand.
  const std::string pass = "\xC3\xA4\xF0\x9F\x94\x91";
  const std::string utf16be("\x00\xE4\xD8\x3D\xDD\x11", 6);
  auto jks = EncodeJks(ThreeCas(), pass, At(0));
  REQUIRE(jks.ok());
  size_t body_end = 0;
  ReadJksEntries(*jks, &body_end);
  REQUIRE(jks->size() == body_end + 20);
  CHECK(jks->substr(body_end) == JksDigest(utf16be, jks->substr(0, body_end)));
}

TEST_CASE("JKS with an empty password: the digest covers the whitener and the body only",
          "[trust][formats]") {
  auto jks = EncodeJks(ThreeCas(), "", At(0));
  REQUIRE(jks.ok());
  size_t body_end = 0;
  ReadJksEntries(*jks, &body_end);
  CHECK(jks->substr(body_end) == JksDigest("", jks->substr(0, body_end)));
}

TEST_CASE("JKS is deterministic: the same input gives the same bytes", "[trust][formats]") {
  auto certs = ThreeCas();
  auto a = EncodeJks(certs, "changeit", At(1700000000));
  auto b = EncodeJks(certs, "changeit", At(1700000000));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(*a == *b);
  // Only the inputs change the output.
  auto later = EncodeJks(certs, "changeit", At(1700000001));
  REQUIRE(later.ok());
  CHECK(*later != *a);
  auto other_pass = EncodeJks(certs, "changeme", At(1700000000));
  REQUIRE(other_pass.ok());
  CHECK(*other_pass != *a);
}

TEST_CASE("JKS without a creation time takes each certificate's notBefore", "[trust][formats]") {
  std::vector<CertificateInfo> certs = {
      Info(CertBuilder().Cn("old").Ca().NotBefore(At(1600000000)).NotAfter(At(2000000000)).Der()),
      Info(CertBuilder().Cn("new").Ca().NotBefore(At(1650000000)).NotAfter(At(2000000000)).Der())};
  auto a = EncodeJks(certs, "changeit");
  auto b = EncodeJks(certs, "changeit");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(*a == *b);
  size_t body_end = 0;
  auto entries = ReadJksEntries(*a, &body_end);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].created_ms == 1600000000000);
  CHECK(entries[1].created_ms == 1650000000000);
}

TEST_CASE("Truststores drop a certificate given twice", "[trust][formats]") {
  auto certs = ThreeCas();
  certs.push_back(certs[0]);
  auto jks = EncodeJks(certs, "changeit", At(0));
  REQUIRE(jks.ok());
  size_t body_end = 0;
  CHECK(ReadJksEntries(*jks, &body_end).size() == 3);
  auto p12 = EncodePkcs12Truststore(certs, "changeit");
  REQUIRE(p12.ok());
  auto back = ReadPkcs12Truststore(*p12, "changeit");
  REQUIRE(back.ok());
  CHECK(back->size() == 3);
}

TEST_CASE("Truststore refusals: no certificate, bad DER, bad JKS password", "[trust][formats]") {
  auto certs = ThreeCas();
  auto both = [](const std::vector<CertificateInfo>& c, const std::string& pass,
                 const std::string& expect) {
    auto p12 = EncodePkcs12Truststore(c, pass);
    auto jks = EncodeJks(c, pass, At(0));
    REQUIRE_FALSE(p12.ok());
    REQUIRE_FALSE(jks.ok());
    CHECK(p12.status().code() == Code::kInvalidArgument);
    CHECK(jks.status().code() == Code::kInvalidArgument);
    CHECK(p12.status().message().find(expect) != std::string::npos);
    CHECK(jks.status().message().find(expect) != std::string::npos);
  };
  SECTION("no certificate") { both({}, "changeit", "at least one certificate"); }
  SECTION("empty DER") {
    auto bad = certs;
    bad[1].der.clear();
    both(bad, "changeit", "certificate 1");
  }
  SECTION("DER that is not a certificate") {
    auto bad = certs;
    bad[2].der = "\x30\x03\x02\x01\x01";
    both(bad, "changeit", "certificate 2 is not one DER certificate");
  }
  SECTION("bytes after the certificate") {
    auto bad = certs;
    bad[0].der += '\0';
    both(bad, "changeit", "certificate 0 is not one DER certificate");
  }
  SECTION("a JKS password that is not UTF-8") {
    auto jks = EncodeJks(certs, "chang\xFFit", At(0));
    CHECK(jks.status().code() == Code::kInvalidArgument);
    CHECK(jks.status().message().find("not UTF-8") != std::string::npos);
  }
  SECTION("a JKS password with a NUL") {
    auto jks = EncodeJks(certs, std::string("chan\0geit", 9), At(0));
    CHECK(jks.status().code() == Code::kInvalidArgument);
    CHECK(jks.status().message().find("NUL") != std::string::npos);
  }
}

TEST_CASE("Truststore aliases: hash prefix and RFC 2253 subject, lower-case ASCII",
          "[trust][formats]") {
  const std::string h1(64, 'a');
  const std::string h2 = "0123abcd" + std::string(56, 'f');
  certguard::x509::Name subject;
  subject.attributes = {{"C", "DE"}, {"O", "Example GmbH"}, {"CN", "Root CA 1"}};
  certguard::x509::Name unicode;
  unicode.attributes = {{"CN", "M\xC3\xBCnchen \xE2\x9C\x93 Root"}};
  certguard::x509::Name longname;
  longname.attributes = {{"CN", std::string(300, 'X')}};

  auto aliases = TruststoreAliases(
      {{h1, subject}, {h2, unicode}, {h2.substr(0, 8) + std::string(56, '0'), longname}});
  REQUIRE(aliases.size() == 3);
  CHECK(aliases[0] == "aaaaaaaa|cn=root ca 1,o=example gmbh,c=de");
  // Each non-ASCII character is one '_'.
  CHECK(aliases[1].substr(64) == "|cn=m_nchen _ root");
  // h2 and the third share their first 8 digits: both take the whole hash.
  CHECK(aliases[1].substr(0, 64) == h2);
  CHECK(aliases[2].substr(0, 65) == h2.substr(0, 8) + std::string(56, '0') + "|");
  CHECK(aliases[2].size() == 65 + 120);
  CHECK(aliases[2].substr(65, 3) == "cn=");

  // The alias of a certificate does not depend on the order it is given in.
  auto reversed = TruststoreAliases(
      {{h2.substr(0, 8) + std::string(56, '0'), longname}, {h2, unicode}, {h1, subject}});
  CHECK(reversed[0] == aliases[2]);
  CHECK(reversed[1] == aliases[1]);
  CHECK(reversed[2] == aliases[0]);
}
