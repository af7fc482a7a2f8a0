#include "support/hostile_csrs.h"

#include <openssl/evp.h>

#include "csr/reasons.h"
#include "support/der_builder.h"

namespace certguard::testing {

namespace {

// The key's SPKI with its EC point compressed (0x02/0x03 || X): OpenSSL reads it, Go does not.
std::string CompressedSpki(const Key& key) {
  std::string spki = der::Spki(key);
  std::string point = spki.substr(spki.size() - 65);  // 0x04 || X || Y for P-256
  std::string x = point.substr(1, 32);
  const bool odd = (static_cast<unsigned char>(point.back()) & 1) != 0;
  return der::Seq({der::Seq({der::Oid("1.2.840.10045.2.1"), der::Oid("1.2.840.10045.3.1.7")}),
                   der::BitString(std::string(1, odd ? '\x03' : '\x02') + x)});
}

}  // namespace

std::string GoodServingCsr(const HostileTarget& t, const Key& key) {
  using namespace der;
  using der::Attributes;
  using der::Extension;
  return SignCsr(Tbs(NodeSubject(t.node), key,
                     Attributes({ExtensionRequest({San({Dns(t.own_dns), Ip(t.own_ip)})})})),
                 key);
}

std::vector<HostileCsr> HostileCsrs(const HostileTarget& t, const Key& key) {
  using namespace der;
  using der::Attributes;
  using der::Extension;
  namespace r = csr::reason;
  const std::string subject = NodeSubject(t.node);
  const std::string own = San({Dns(t.own_dns), Ip(t.own_ip)});
  const std::string foreign = San({Dns(t.foreign_dns), Ip(t.foreign_ip)});
  auto sign = [&](const std::string& attributes) {
    return SignCsr(Tbs(subject, key, Attributes({attributes})), key);
  };
  auto with_subject = [&](const std::string& name) {
    return SignCsr(Tbs(name, key, Attributes({ExtensionRequest({own})})), key);
  };
  auto cn_as = [&](std::string value) {
    return Name(
        {Rdn(Atv("2.5.4.10", Printable("system:nodes"))), Rdn(Atv("2.5.4.3", std::move(value)))});
  };
  const std::string cn = "system:node:" + t.node;
  const std::string second = ExtensionRequest({foreign});
  std::vector<HostileCsr> cases;
  auto add = [&](std::string name, std::string der, const char* code) {
    cases.push_back({std::move(name), std::move(der), code});
  };

  // Smuggling through attributes.
  add("second-extension-request", sign(ExtensionRequest({own}) + second),
      r::kCsrExtensionRequestAmbiguous);
  // The attack as found: OpenSSL took the first (non-minimal) one, Go the second.
  add("non-minimal-length-then-second-request",
      sign(Attribute(kOidExtensionRequest, {TlvLongLength(0x30, own, 1)}) + second), r::kCsrNotDer);
  add("leading-zero-length-then-second-request",
      sign(Attribute(kOidExtensionRequest, {TlvLongLength(0x30, own, 2)}) + second), r::kCsrNotDer);
  add("indefinite-length-then-second-request",
      sign(Attribute(kOidExtensionRequest, {TlvIndefinite(0x30, own)}) + second), r::kCsrNotDer);
  add("inner-sequence-then-second-request",
      sign(Attribute(kOidExtensionRequest, {Seq({Extensions({own})})}) + second),
      r::kCsrExtensionMalformed);
  add("values-as-sequence-then-second-request",
      sign(Seq({Oid(kOidExtensionRequest), Seq({Extensions({own})})}) + second),
      r::kCsrUnparseable);
  add("ms-ext-req-before-extension-request",
      sign(Attribute(kOidMsExtReq, {Extensions({foreign})}) + ExtensionRequest({own})),
      r::kCsrAttributeNotAllowed);
  add("ms-ext-req-alone", sign(Attribute(kOidMsExtReq, {Extensions({foreign})})),
      r::kCsrAttributeNotAllowed);
  add("challenge-password",
      sign(Attribute(kOidChallengePassword, {Utf8("secret")}) + ExtensionRequest({own})),
      r::kCsrAttributeNotAllowed);
  add("unknown-attribute", sign(ExtensionRequest({own}) + Attribute("1.2.3.4", {Utf8("x")})),
      r::kCsrAttributeNotAllowed);
  add("two-valued-set",
      sign(Attribute(kOidExtensionRequest, {Extensions({own}), Extensions({foreign})})),
      r::kCsrExtensionRequestAmbiguous);
  add("empty-set-then-second-request", sign(Attribute(kOidExtensionRequest, {}) + second),
      r::kCsrExtensionRequestAmbiguous);
  add("duplicate-san-across-attributes", sign(ExtensionRequest({own}) + ExtensionRequest({own})),
      r::kCsrExtensionRequestAmbiguous);
  add("ca-in-second-attribute",
      sign(ExtensionRequest({own}) + ExtensionRequest({BasicConstraintsCa()})),
      r::kCsrExtensionRequestAmbiguous);

  // Inside the one extensionRequest.
  add("duplicate-san-in-one-request", sign(ExtensionRequest({own, foreign})),
      r::kCsrDuplicateExtension);
  add("trailing-bytes-in-san",
      sign(ExtensionRequest({Extension(kOidSubjectAltName,
                                       GeneralNames({Dns(t.own_dns), Ip(t.own_ip)}) +
                                           GeneralNames({Dns(t.foreign_dns), Ip(t.foreign_ip)}))})),
      r::kCsrExtensionMalformed);
  add("ip-san-of-5-bytes",
      sign(ExtensionRequest(
          {San({Dns(t.own_dns), Tlv(0x87, std::string("\x0a\x00\x00\x0c\x00", 5))})})),
      r::kCsrExtensionMalformed);
  add("constructed-dns-name",
      sign(ExtensionRequest({San({Tlv(0xa2, Ia5(t.foreign_dns)), Dns(t.own_dns)})})),
      r::kCsrExtensionMalformed);
  add("critical-false-spelled-out",
      sign(ExtensionRequest({Seq(
          {Oid(kOidSubjectAltName), Bool(false), OctetString(GeneralNames({Dns(t.own_dns)}))})})),
      r::kCsrNotDer);
  add("critical-boolean-0x01",
      sign(ExtensionRequest({Seq({Oid(kOidSubjectAltName), Tlv(0x01, "\x01"),
                                  OctetString(GeneralNames({Dns(t.own_dns)}))})})),
      r::kCsrNotDer);

  // Version, subject, key, signature, framing.
  add("version-1", SignCsr(Tbs(subject, key, Attributes({ExtensionRequest({own})}), 1), key),
      r::kCsrVersionNotZero);
  add("version-2", SignCsr(Tbs(subject, key, Attributes({ExtensionRequest({own})}), 2), key),
      r::kCsrVersionNotZero);
  add("version-not-minimal",
      SignCsr(Seq({Tlv(0x02, std::string("\x00\x00", 2)), subject, Spki(key),
                   Attributes({ExtensionRequest({own})})}),
              key),
      r::kCsrNotDer);
  add("cn-universal-string", with_subject(cn_as(Universal(cn))), r::kSubjectStringTypeNotAllowed);
  add("cn-bmp-string", with_subject(cn_as(Bmp(cn))), r::kSubjectStringTypeNotAllowed);
  add("cn-t61-string", with_subject(cn_as(T61(cn))), r::kSubjectStringTypeNotAllowed);
  add("cn-ia5-string", with_subject(cn_as(Ia5(cn))), r::kSubjectStringTypeNotAllowed);
  add("o-bmp-string",
      with_subject(
          Name({Rdn(Atv("2.5.4.10", Bmp("system:nodes"))), Rdn(Atv("2.5.4.3", Printable(cn)))})),
      r::kSubjectStringTypeNotAllowed);
  add("o-universal-string-beside-printable-o",
      with_subject(Name({Rdn(Atv("2.5.4.10", Universal("system:masters"))),
                         Rdn(Atv("2.5.4.10", Printable("system:nodes"))),
                         Rdn(Atv("2.5.4.3", Printable(cn)))})),
      r::kSubjectStringTypeNotAllowed);
  add("multi-valued-rdn",
      with_subject(Name({Rdn(Atv("2.5.4.10", Printable("system:nodes"))),
                         Set({Atv("2.5.4.3", Printable(cn)), Atv("2.5.4.11", Printable("x"))})})),
      r::kSubjectMalformed);
  add("printable-string-with-at-sign", with_subject(cn_as(Printable(cn + "@x"))),
      r::kSubjectMalformed);
  add("utf8-string-not-utf8", with_subject(cn_as(Utf8(cn + "\xc0\xaf"))), r::kSubjectMalformed);
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_ED25519) {  // Ed25519 has no digest choice
    add("sha1-signature",
        SignCsr(Tbs(subject, key, Attributes({ExtensionRequest({own})})), key, "SHA1"),
        r::kSignatureAlgorithmNotAllowed);
  }
  if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_EC) {
    add("compressed-ec-point",
        SignCsr(Seq({Int(0), subject, CompressedSpki(key), Attributes({ExtensionRequest({own})})}),
                key),
        r::kKeyMalformed);
  }
  add("trailing-byte-after-request", GoodServingCsr(t, key) + std::string(1, '\0'),
      r::kCsrUnparseable);
  return cases;
}

}  // namespace certguard::testing
