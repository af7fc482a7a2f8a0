#include "expiry/kubeconfig_certs.h"

#include <yaml-cpp/yaml.h>

#include "x509/pem.h"

namespace certguard::expiry {

namespace {

Result<YAML::Node> Load(std::string_view text) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    if (!root.IsMap()) return InvalidArgument("not a kubeconfig: not a YAML map");
    if (!root["clusters"] && !root["users"] &&
        !(root["kind"] && root["kind"].IsScalar() && root["kind"].Scalar() == "Config")) {
      return InvalidArgument("not a kubeconfig: no clusters or users");
    }
    return root;
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string("not a kubeconfig: ") + e.what());
  }
}

std::string Scalar(const YAML::Node& node, const char* key) {
  const YAML::Node v = node[key];
  return v && v.IsScalar() ? v.Scalar() : std::string();
}

}  // namespace

bool LooksLikeKubeconfig(std::string_view text) { return Load(text).ok(); }

Result<std::vector<KubeconfigCert>> KubeconfigCertificates(std::string_view text) {
  auto root = Load(text);
  if (!root.ok()) return root.status();
  std::vector<KubeconfigCert> out;
  // Entries repeated by YAML aliases would decode the same data again and again
  // (a few bytes of text each): what is read may not exceed what the text holds.
  size_t budget = text.size();
  try {
    struct Section {
      const char* list;
      const char* inner;
      const char* label;
      const char* file_field;
      const char* data_field;
    };
    for (const Section& s : {Section{"clusters", "cluster", "cluster", "certificate-authority",
                                     "certificate-authority-data"},
                             Section{"users", "user", "user", "client-certificate",
                                     "client-certificate-data"}}) {
      const YAML::Node list = (*root)[s.list];
      if (!list || !list.IsSequence()) continue;
      for (const auto& entry : list) {
        if (!entry.IsMap()) continue;
        const YAML::Node inner = entry[s.inner];
        if (!inner || !inner.IsMap()) continue;
        std::string label = std::string(s.label) + " " + Scalar(entry, "name");
        std::string data = Scalar(inner, s.data_field);
        if (data.size() > budget) {
          return InvalidArgument(
              "kubeconfig: aliases repeat more certificate data than the text holds");
        }
        budget -= data.size();
        if (!data.empty()) {
          auto decoded = x509::pem::DecodeBody(data);
          if (!decoded.ok()) {
            return InvalidArgument(label + ": " + s.data_field + " is not base64");
          }
          out.push_back({label, s.data_field, std::move(*decoded), ""});
        }
        if (std::string path = Scalar(inner, s.file_field); !path.empty()) {
          out.push_back({label, s.file_field, "", std::move(path)});
        }
      }
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string("kubeconfig: ") + e.what());
  }
  return out;
}

Result<std::vector<KubeconfigCluster>> KubeconfigClusters(std::string_view text) {
  auto root = Load(text);
  if (!root.ok()) return root.status();
  std::vector<KubeconfigCluster> out;
  size_t budget = text.size();  // as above: aliases may not multiply the data
  try {
    const YAML::Node list = (*root)["clusters"];
    if (!list || !list.IsSequence()) return out;
    for (const auto& entry : list) {
      if (!entry.IsMap()) continue;
      const YAML::Node inner = entry["cluster"];
      if (!inner || !inner.IsMap()) continue;
      KubeconfigCluster c;
      c.name = Scalar(entry, "name");
      c.server = Scalar(inner, "server");
      c.ca_path = Scalar(inner, "certificate-authority");
      c.insecure = Scalar(inner, "insecure-skip-tls-verify") == "true";
      const std::string data = Scalar(inner, "certificate-authority-data");
      if (data.size() > budget) {
        return InvalidArgument("kubeconfig: aliases repeat more certificate data than the text holds");
      }
      budget -= data.size();
      if (!data.empty()) {
        auto decoded = x509::pem::DecodeBody(data);
        if (decoded.ok()) {
          c.ca_data = std::move(*decoded);
        } else {
          c.ca_error = "certificate-authority-data is not base64";
        }
      }
      out.push_back(std::move(c));
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string("kubeconfig: ") + e.what());
  }
  return out;
}

}  // namespace certguard::expiry
