#include "csr/request.h"

#include <nlohmann/json.hpp>

#include "common/json_parse.h"
#include "csr/node.h"
#include "csr/reasons.h"
#include "x509/parse.h"
#include "x509/pem.h"

namespace certguard::csr {

namespace {

Status StringList(const nlohmann::json& spec, const char* key, std::vector<std::string>& out) {
  auto it = spec.find(key);
  if (it == spec.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return InvalidArgument(std::string("spec.") + key + " is not a list");
  for (const auto& v : *it) {
    if (!v.is_string()) return InvalidArgument(std::string("spec.") + key + " holds a non-string");
    out.push_back(v.get<std::string>());
  }
  return Status::Ok();
}

Status String(const nlohmann::json& obj, const char* where, const char* key, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return InvalidArgument(std::string(where) + key + " is not a string");
  out = it->get<std::string>();
  return Status::Ok();
}

}  // namespace

const char* ReasonForDefect(x509::CsrDefect defect) {
  using x509::CsrDefect;
  switch (defect) {
    case CsrDefect::kNone:
    case CsrDefect::kMalformed: return reason::kCsrUnparseable;
    case CsrDefect::kNotDer: return reason::kCsrNotDer;
    case CsrDefect::kVersionNotZero: return reason::kCsrVersionNotZero;
    case CsrDefect::kAttributeNotAllowed: return reason::kCsrAttributeNotAllowed;
    case CsrDefect::kExtensionRequestAmbiguous: return reason::kCsrExtensionRequestAmbiguous;
    case CsrDefect::kDuplicateExtension: return reason::kCsrDuplicateExtension;
    case CsrDefect::kExtensionMalformed: return reason::kCsrExtensionMalformed;
    case CsrDefect::kSubjectStringType: return reason::kSubjectStringTypeNotAllowed;
    case CsrDefect::kSubjectMalformed: return reason::kSubjectMalformed;
    case CsrDefect::kSignatureAlgorithm: return reason::kSignatureAlgorithmNotAllowed;
    case CsrDefect::kKeyAlgorithm: return reason::kKeyAlgorithmNotAllowed;
    case CsrDefect::kKeyMalformed: return reason::kKeyMalformed;
  }
  return reason::kCsrUnparseable;
}

Result<CsrRequest> RequestFromObject(const nlohmann::json& object) {
  if (!object.is_object()) return InvalidArgument("CSR is not an object");
  auto kind = object.find("kind");
  if (kind != object.end() && !(kind->is_string() && *kind == "CertificateSigningRequest")) {
    return InvalidArgument("expected kind CertificateSigningRequest, got " + kind->dump());
  }
  auto spec_it = object.find("spec");
  if (spec_it == object.end() || !spec_it->is_object()) {
    return InvalidArgument("CertificateSigningRequest has no spec");
  }
  const auto& spec = *spec_it;
  CsrRequest r;
  if (auto meta = object.find("metadata"); meta != object.end() && meta->is_object()) {
    if (auto st = String(*meta, "metadata.", "name", r.name); !st.ok()) return st;
    std::string created;
    if (auto st = String(*meta, "metadata.", "creationTimestamp", created); !st.ok()) return st;
    if (auto t = common::ParseRfc3339(created); t.ok()) r.creation_timestamp = *t;
  }
  for (auto [key, out] : {std::pair{"signerName", &r.signer_name},
                          std::pair{"username", &r.username}, std::pair{"uid", &r.uid}}) {
    if (auto st = String(spec, "spec.", key, *out); !st.ok()) return st;
  }
  if (auto st = StringList(spec, "usages", r.usages); !st.ok()) return st;
  if (auto st = StringList(spec, "groups", r.groups); !st.ok()) return st;
  if (auto it = spec.find("extra"); it != spec.end() && !it->is_null()) {
    if (!it->is_object()) return InvalidArgument("spec.extra is not an object");
    for (const auto& [k, v] : it->items()) {
      std::vector<std::string> values;
      if (auto st = StringList(*it, k.c_str(), values); !st.ok()) {
        return InvalidArgument("spec.extra." + k + " is not a list of strings");
      }
      r.extra[k] = std::move(values);
    }
  }
  if (auto it = spec.find("expirationSeconds"); it != spec.end() && !it->is_null()) {
    if (!it->is_number()) return InvalidArgument("spec.expirationSeconds is not a number");
    // Out of range is refused, never wrapped or clamped: 2^64-1 read as int64 is -1.
    if (auto v = common::IntIn(*it, kMinExpirationSeconds, kMaxExpirationSeconds)) {
      r.expiration_seconds = *v;
    } else {
      r.expiration_error = "spec.expirationSeconds " + it->dump().substr(0, 40) +
                           " is not an integer from " + std::to_string(kMinExpirationSeconds) +
                           " to " + std::to_string(kMaxExpirationSeconds) +
                           " (the API server's range)";
    }
  }

  auto req = spec.find("request");
  if (req == spec.end() || !req->is_string() || req->get<std::string>().empty()) {
    r.parse_error = "spec.request is missing or not a string";
    r.parse_code = reason::kCsrUnparseable;
    return r;
  }
  auto der = x509::pem::DecodeBody(req->get<std::string>());
  if (!der.ok()) {
    r.parse_error = "spec.request is not valid base64";
    r.parse_code = reason::kCsrUnparseable;
    return r;
  }
  x509::CsrDefect defect = x509::CsrDefect::kNone;
  auto info = x509::ParseCsr(*der, &defect);
  if (!info.ok()) {
    r.parse_error = info.status().message();
    r.parse_code = ReasonForDefect(defect);
    return r;
  }
  r.csr = std::move(*info);
  return r;
}

}  // namespace certguard::csr
