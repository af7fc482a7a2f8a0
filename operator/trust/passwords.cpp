#include "trust/passwords.h"

#include <tuple>
#include <utility>

#include "common/json_fields.h"
#include "kube/resource.h"
#include "x509/pem.h"

namespace certguard::trust {
namespace {

using common::Field;
using nlohmann::json;

}  // namespace

Result<std::string> PasswordFromSecret(const SecretKeyRef& ref, const json* secret, bool pkcs12) {
  const std::string what = ref.Describe();
  if (!secret) return NotFound(what + ": the Secret does not exist");
  const json& value = Field(Field(*secret, "data"), ref.key.c_str());
  if (!value.is_string()) return NotFound(what + ": the Secret has no such key");
  // An empty value is an empty password: PKCS#12 without one, as inline "".
  if (value.get_ref<const std::string&>().empty()) return std::string();
  auto decoded = x509::pem::DecodeBody(value.get<std::string>());
  if (!decoded.ok()) return InvalidArgument(what + ": the value is not base64");
  if (std::string problem = PasswordProblem(*decoded, pkcs12); !problem.empty()) {
    return InvalidArgument(what + ": the password " + problem);
  }
  return std::move(*decoded);
}

Status ReadPasswords(TrustBundleSpec& spec, kube::Client& client, bool& reads) {
  const std::string base = "spec.target.additionalFormats.";
  for (auto [format, name, pkcs12] :
       {std::tuple{&spec.jks, "jks", false}, std::tuple{&spec.pkcs12, "pkcs12", true}}) {
    if (format->key.empty() || !format->password_ref) continue;
    reads = true;
    const SecretKeyRef& ref = *format->password_ref;
    const std::string path = base + name + ".passwordSecretRef";
    auto got = client.Get(kube::resources::kSecrets, ref.ns, ref.name);
    Result<std::string> password = got.ok() ? PasswordFromSecret(ref, &*got, pkcs12)
                                   : got.status().code() == Code::kNotFound
                                       ? PasswordFromSecret(ref, nullptr, pkcs12)
                                       : Result<std::string>(got.status().Annotate(ref.Describe()));
    if (!password.ok()) return password.status().Annotate(path);
    format->password = std::move(*password);
  }
  return Status();
}

}  // namespace certguard::trust
