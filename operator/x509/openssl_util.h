// Owning handles for OpenSSL objects and error-queue helpers. Internal to
// x509/ (and the test builders): public headers never expose OpenSSL types.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace certguard::x509::ossl {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};

using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, Deleter<GENERAL_NAME_free>>;
using BasicConstraintsPtr = std::unique_ptr<BASIC_CONSTRAINTS, Deleter<BASIC_CONSTRAINTS_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER_free>>;
using Asn1OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING_free>>;
using Asn1StringPtr = std::unique_ptr<ASN1_STRING, Deleter<ASN1_STRING_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, Deleter<ASN1_OBJECT_free>>;

inline void FreeOpensslString(char* s) { OPENSSL_free(s); }
using OsslStringPtr = std::unique_ptr<char, Deleter<FreeOpensslString>>;

inline void FreeUtf8(unsigned char* s) { OPENSSL_free(s); }
using Utf8Ptr = std::unique_ptr<unsigned char, Deleter<FreeUtf8>>;

inline void FreeExtensionStack(STACK_OF(X509_EXTENSION) * s) {
  sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}
using ExtStackPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), Deleter<FreeExtensionStack>>;

// Drains this thread's OpenSSL error queue. Returns the oldest error's text
// ("header too long") or `fallback` when the queue was empty.
inline std::string TakeError(const std::string& fallback = "unknown OpenSSL error") {
  unsigned long first = ERR_get_error();
  std::string text = fallback;
  if (first != 0) {
    const char* reason = ERR_reason_error_string(first);
    if (reason != nullptr) {
      text = reason;
    } else {
      char buf[256];
      ERR_error_string_n(first, buf, sizeof(buf));
      text = buf;
    }
  }
  ERR_clear_error();
  return text;
}

// The short name ("CN", "subjectAltName") of an object, or its dotted OID.
inline std::string ObjectName(const ASN1_OBJECT* obj) {
  if (obj == nullptr) return "?";
  int nid = OBJ_obj2nid(obj);
  if (nid != NID_undef) {
    const char* sn = OBJ_nid2sn(nid);
    if (sn != nullptr) return sn;
  }
  char buf[128];
  int n = OBJ_obj2txt(buf, sizeof(buf), obj, 1);
  if (n <= 0) return "?";
  if (n >= static_cast<int>(sizeof(buf))) return std::string(buf, sizeof(buf) - 1);
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace certguard::x509::ossl
