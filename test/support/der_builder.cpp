#include "support/der_builder.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <stdexcept>

#include "x509/openssl_util.h"

namespace certguard::testing::der {
namespace {

namespace ossl = certguard::x509::ossl;

std::string Length(size_t n) {
  if (n < 0x80) return std::string(1, static_cast<char>(n));
  std::string bytes;
  for (size_t v = n; v > 0; v >>= 8) bytes.insert(bytes.begin(), static_cast<char>(v & 0xff));
  return static_cast<char>(0x80 | bytes.size()) + bytes;
}

std::string Base128(uint64_t v) {
  std::string out(1, static_cast<char>(v & 0x7f));
  for (v >>= 7; v > 0; v >>= 7) out.insert(out.begin(), static_cast<char>(0x80 | (v & 0x7f)));
  return out;
}

void Check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("der builder: " + what + ": " + ossl::TakeError("failed"));
}

}  // namespace

std::string Tlv(uint8_t tag, std::string_view contents) {
  return static_cast<char>(tag) + Length(contents.size()) + std::string(contents);
}

std::string TlvLongLength(uint8_t tag, std::string_view contents, int length_bytes) {
  std::string len;
  for (size_t v = contents.size(), i = 0; i < static_cast<size_t>(length_bytes); ++i, v >>= 8) {
    len.insert(len.begin(), static_cast<char>(v & 0xff));
  }
  return static_cast<char>(tag) + std::string(1, static_cast<char>(0x80 | length_bytes)) + len +
         std::string(contents);
}

std::string TlvIndefinite(uint8_t tag, std::string_view contents) {
  return static_cast<char>(tag) + std::string("\x80", 1) + std::string(contents) +
         std::string("\x00\x00", 2);
}

std::string Concat(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += p;
  return out;
}

std::string Seq(const std::vector<std::string>& parts) { return Tlv(0x30, Concat(parts)); }
std::string Set(const std::vector<std::string>& parts) { return Tlv(0x31, Concat(parts)); }

std::string Oid(std::string_view dotted) {
  std::vector<uint64_t> arcs;
  uint64_t v = 0;
  for (char c : dotted) {
    if (c == '.') {
      arcs.push_back(v);
      v = 0;
    } else {
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
  }
  arcs.push_back(v);
  std::string body = Base128(arcs[0] * 40 + arcs[1]);
  for (size_t i = 2; i < arcs.size(); ++i) body += Base128(arcs[i]);
  return Tlv(0x06, body);
}

std::string Int(int64_t v) {
  std::string bytes;
  auto u = static_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) bytes.insert(bytes.begin(), static_cast<char>((u >> (8 * i)) & 0xff));
  // Drop redundant leading bytes.
  while (bytes.size() > 1 && ((bytes[0] == 0 && (static_cast<uint8_t>(bytes[1]) & 0x80) == 0) ||
                              (static_cast<uint8_t>(bytes[0]) == 0xff &&
                               (static_cast<uint8_t>(bytes[1]) & 0x80) != 0))) {
    bytes.erase(bytes.begin());
  }
  return Tlv(0x02, bytes);
}

std::string Bool(bool v) { return Tlv(0x01, std::string(1, v ? '\xff' : '\0')); }
std::string Null() { return Tlv(0x05, ""); }
std::string OctetString(std::string_view bytes) { return Tlv(0x04, bytes); }
std::string BitString(std::string_view bytes) {
  return Tlv(0x03, std::string(1, '\0') + std::string(bytes));
}
std::string Utf8(std::string_view s) { return Tlv(0x0c, s); }
std::string Printable(std::string_view s) { return Tlv(0x13, s); }
std::string Ia5(std::string_view s) { return Tlv(0x16, s); }
std::string T61(std::string_view s) { return Tlv(0x14, s); }

std::string Bmp(std::string_view ascii) {
  std::string out;
  for (char c : ascii) out += std::string(1, '\0') + c;
  return Tlv(0x1e, out);
}

std::string Universal(std::string_view ascii) {
  std::string out;
  for (char c : ascii) out += std::string(3, '\0') + c;
  return Tlv(0x1c, out);
}

std::string Atv(std::string_view oid, std::string value_tlv) {
  return Seq({Oid(oid), std::move(value_tlv)});
}
std::string Rdn(std::string atv) { return Set({std::move(atv)}); }
std::string Name(const std::vector<std::string>& rdns) { return Seq(rdns); }

std::string NodeSubject(std::string_view node) {
  return Name({Rdn(Atv("2.5.4.10", Printable("system:nodes"))),
               Rdn(Atv("2.5.4.3", Printable("system:node:" + std::string(node))))});
}

std::string Dns(std::string_view name) { return Tlv(0x82, name); }

std::string Ip(std::string_view text) {
  unsigned char buf[16];
  std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) {
    return Tlv(0x87, std::string_view(reinterpret_cast<char*>(buf), 4));
  }
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    return Tlv(0x87, std::string_view(reinterpret_cast<char*>(buf), 16));
  }
  throw std::runtime_error("der builder: bad IP " + s);
}

std::string GeneralNames(const std::vector<std::string>& names) { return Seq(names); }

std::string San(const std::vector<std::string>& names) {
  return Extension(kOidSubjectAltName, GeneralNames(names));
}

std::string Extension(std::string_view oid, std::string_view value, bool critical) {
  if (critical) return Seq({Oid(oid), Bool(true), OctetString(value)});
  return Seq({Oid(oid), OctetString(value)});
}

std::string BasicConstraintsCa() { return Extension("2.5.29.19", Seq({Bool(true)}), true); }

std::string Extensions(const std::vector<std::string>& extensions) { return Seq(extensions); }

std::string Attribute(std::string_view oid, const std::vector<std::string>& values) {
  return Seq({Oid(oid), Set(values)});
}

std::string ExtensionRequest(const std::vector<std::string>& extensions) {
  return Attribute(kOidExtensionRequest, {Extensions(extensions)});
}

std::string Attributes(const std::vector<std::string>& attributes) {
  return Tlv(0xa0, Concat(attributes));
}

std::string Spki(const Key& key) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key.get(), &der);
  ossl::Utf8Ptr owner(der);
  Check(len > 0, "i2d_PUBKEY");
  return std::string(reinterpret_cast<char*>(der), static_cast<size_t>(len));
}

std::string Tbs(const std::string& subject, const Key& key, const std::string& attributes,
                int64_t version) {
  return Seq({Int(version), subject, Spki(key), attributes});
}

std::string SignCsr(const std::string& tbs, const Key& key, std::string_view digest) {
  const int id = EVP_PKEY_get_base_id(key.get());
  std::string alg;
  const EVP_MD* md = nullptr;
  if (id == EVP_PKEY_ED25519) {
    alg = Seq({Oid("1.3.101.112")});
  } else {
    md = EVP_get_digestbyname(std::string(digest).c_str());
    Check(md != nullptr, "digest " + std::string(digest));
    const bool sha1 = digest == "SHA1";
    const char* suffix = digest == "SHA256" ? "2" : digest == "SHA384" ? "3" : "4";
    if (id == EVP_PKEY_EC) {
      alg = Seq({Oid(sha1 ? "1.2.840.10045.4.1" : std::string("1.2.840.10045.4.3.") + suffix)});
    } else {
      const char* rsa = sha1 ? "5" : digest == "SHA256" ? "11" : digest == "SHA384" ? "12" : "13";
      alg = Seq({Oid(std::string("1.2.840.113549.1.1.") + rsa), Null()});
    }
  }
  ossl::MdCtxPtr ctx(EVP_MD_CTX_new());
  Check(ctx != nullptr && EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key.get()) == 1,
        "DigestSignInit");
  size_t sig_len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(tbs.data());
  Check(EVP_DigestSign(ctx.get(), nullptr, &sig_len, data, tbs.size()) == 1, "DigestSign size");
  std::string sig(sig_len, '\0');
  Check(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len, data,
                       tbs.size()) == 1,
        "DigestSign");
  sig.resize(sig_len);
  return Seq({tbs, alg, BitString(sig)});
}

}  // namespace certguard::testing::der
