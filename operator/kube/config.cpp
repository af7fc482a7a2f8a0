#include "kube/config.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>

namespace certguard::kube {
namespace {

namespace fs = std::filesystem;

// Kubeconfigs, certificates, keys and tokens are small; the cap keeps a wrong
// path (a device, a log file) from exhausting memory.
constexpr size_t kMaxFileBytes = 4u << 20;

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::string out;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    out.append(buf, static_cast<size_t>(in.gcount()));
    if (out.size() > kMaxFileBytes) return InvalidArgument(path + " is larger than 4 MiB");
  }
  if (in.bad()) return Unavailable("error reading " + path);
  return out;
}

std::string Trim(std::string s) {
  auto not_space = [](char c) { return c != ' ' && c != '\n' && c != '\r' && c != '\t'; };
  while (!s.empty() && !not_space(s.back())) s.pop_back();
  size_t i = 0;
  while (i < s.size() && !not_space(s[i])) ++i;
  return s.substr(i);
}

Result<std::string> Base64Decode(const std::string& in, const std::string& what) {
  static const auto kTable = [] {
    std::array<int, 256> t{};
    t.fill(-1);
    const char* chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(chars[i])] = i;
    return t;
  }();
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  bool padding = false;
  for (unsigned char c : in) {
    if (c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    if (padding || kTable[c] < 0) return InvalidArgument(what + " is not valid base64");
    buf = (buf << 6) | static_cast<unsigned>(kTable[c]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xff);
    }
  }
  return out;
}

// One named entry of a kubeconfig list and the directory of the file it came from.
struct Entry {
  YAML::Node node;
  std::string dir;
};

struct Merged {
  std::map<std::string, Entry> clusters, users, contexts;
  std::string current_context;
};

Status MergeFile(const KubeconfigFile& file, Merged* m) {
  YAML::Node root;
  try {
    root = YAML::Load(file.text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("kubeconfig " + file.path + ": " + e.what());
  }
  if (root.IsNull()) return Status::Ok();  // an empty file adds nothing
  if (!root.IsMap()) return InvalidArgument("kubeconfig " + file.path + " is not a YAML map");
  std::string dir = fs::path(file.path).parent_path().string();
  try {
    if (m->current_context.empty() && root["current-context"] &&
        root["current-context"].IsScalar()) {
      m->current_context = root["current-context"].as<std::string>();
    }
    auto merge = [&](const char* list, const char* inner,
                     std::map<std::string, Entry>* into) -> Status {
      YAML::Node seq = root[list];
      if (!seq || seq.IsNull()) return Status::Ok();
      if (!seq.IsSequence()) return InvalidArgument(std::string(list) + " is not a list");
      for (const auto& item : seq) {
        if (!item.IsMap() || !item["name"] || !item["name"].IsScalar()) {
          return InvalidArgument(std::string(list) + " entry without a name");
        }
        std::string name = item["name"].as<std::string>();
        YAML::Node body = item[inner];
        if (!body || body.IsNull()) body = YAML::Node(YAML::NodeType::Map);
        if (!body.IsMap()) return InvalidArgument(std::string(list) + " \"" + name + "\" is not a map");
        into->emplace(name, Entry{body, dir});  // first file wins
      }
      return Status::Ok();
    };
    for (auto [list, inner, into] : {std::tuple{"clusters", "cluster", &m->clusters},
                                     std::tuple{"users", "user", &m->users},
                                     std::tuple{"contexts", "context", &m->contexts}}) {
      Status s = merge(list, inner, into);
      if (!s.ok()) return s.Annotate("kubeconfig " + file.path);
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument("kubeconfig " + file.path + ": " + e.what());
  }
  return Status::Ok();
}

std::string Str(const YAML::Node& map, const char* key) {
  YAML::Node n = map[key];
  if (!n || !n.IsScalar()) return {};
  return n.as<std::string>();
}

bool Bool(const YAML::Node& map, const char* key) {
  YAML::Node n = map[key];
  if (!n || !n.IsScalar()) return false;
  std::string v = n.as<std::string>();
  return v == "true" || v == "True" || v == "TRUE" || v == "yes";
}

std::string ResolvePath(const std::string& path, const std::string& dir) {
  if (path.empty() || fs::path(path).is_absolute() || dir.empty()) return path;
  return (fs::path(dir) / path).string();
}

// `data` (base64) wins over `file`, like client-go.
Result<std::string> Material(const Entry& e, const char* data_key, const char* file_key,
                             const std::string& what) {
  std::string data = Str(e.node, data_key);
  if (!data.empty()) return Base64Decode(data, what + " (" + data_key + ")");
  std::string file = Str(e.node, file_key);
  if (file.empty()) return std::string();
  auto r = ReadFile(ResolvePath(file, e.dir));
  if (!r.ok()) return InvalidArgument(what + ": " + r.status().message());
  return r;
}

std::string Getenv(const LoadOptions& o, const std::string& name) {
  if (o.getenv) return o.getenv(name).value_or("");
  const char* v = std::getenv(name.c_str());
  return v ? v : "";
}

}  // namespace

Result<std::vector<KubeconfigFile>> ReadKubeconfigFiles(const std::vector<std::string>& paths,
                                                        bool must_exist) {
  std::vector<KubeconfigFile> files;
  for (const auto& p : paths) {
    if (p.empty()) continue;
    std::error_code ec;
    if (!fs::exists(p, ec)) {
      if (must_exist) return NotFound("kubeconfig " + p + " does not exist");
      continue;
    }
    auto text = ReadFile(p);
    if (!text.ok()) return text.status();
    files.push_back({p, std::move(text).value()});
  }
  return files;
}

Result<ClientConfig> ResolveKubeconfig(const std::vector<KubeconfigFile>& files,
                                       const std::string& context_override,
                                       bool allow_insecure_tls) {
  Merged m;
  for (const auto& f : files) {
    Status s = MergeFile(f, &m);
    if (!s.ok()) return s;
  }
  std::string ctx_name = context_override.empty() ? m.current_context : context_override;
  if (ctx_name.empty()) return InvalidArgument("kubeconfig has no current-context (use --context)");
  auto ctx = m.contexts.find(ctx_name);
  if (ctx == m.contexts.end()) return InvalidArgument("context \"" + ctx_name + "\" not found");
  std::string cluster_name = Str(ctx->second.node, "cluster");
  std::string user_name = Str(ctx->second.node, "user");
  auto cluster = m.clusters.find(cluster_name);
  if (cluster == m.clusters.end()) {
    return InvalidArgument("context \"" + ctx_name + "\": cluster \"" + cluster_name +
                           "\" not found");
  }

  ClientConfig c;
  c.context_name = ctx_name;
  std::string ns = Str(ctx->second.node, "namespace");
  if (!ns.empty()) c.default_namespace = ns;

  const Entry& cl = cluster->second;
  c.server = Str(cl.node, "server");
  while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
  if (c.server.empty()) return InvalidArgument("cluster \"" + cluster_name + "\" has no server");
  if (c.server.rfind("https://", 0) != 0 && c.server.rfind("http://", 0) != 0) {
    return InvalidArgument("cluster \"" + cluster_name + "\": server must be an http(s) URL");
  }
  c.tls_server_name = Str(cl.node, "tls-server-name");
  c.insecure_skip_tls_verify = Bool(cl.node, "insecure-skip-tls-verify");
  if (c.insecure_skip_tls_verify && !allow_insecure_tls) {
    return InvalidArgument("cluster \"" + cluster_name +
                           "\" sets insecure-skip-tls-verify; refused without --allow-insecure-tls");
  }
  auto ca = Material(cl, "certificate-authority-data", "certificate-authority",
                     "cluster \"" + cluster_name + "\" CA");
  if (!ca.ok()) return ca.status();
  c.ca_pem = std::move(ca).value();

  if (!user_name.empty()) {
    auto user = m.users.find(user_name);
    if (user == m.users.end()) {
      return InvalidArgument("context \"" + ctx_name + "\": user \"" + user_name + "\" not found");
    }
    const Entry& u = user->second;
    std::string what = "user \"" + user_name + "\"";
    auto cert = Material(u, "client-certificate-data", "client-certificate", what + " certificate");
    if (!cert.ok()) return cert.status();
    auto key = Material(u, "client-key-data", "client-key", what + " key");
    if (!key.ok()) return key.status();
    c.client_cert_pem = std::move(cert).value();
    c.client_key_pem = std::move(key).value();
    if (c.client_cert_pem.empty() != c.client_key_pem.empty()) {
      return InvalidArgument(what + " needs both a client certificate and a key");
    }
    c.bearer_token = Str(u.node, "token");
    std::string token_file = Str(u.node, "tokenFile");
    if (!token_file.empty()) c.token_file = ResolvePath(token_file, u.dir);
    if (u.node["exec"] || u.node["auth-provider"]) {
      if (c.client_cert_pem.empty() && c.bearer_token.empty() && c.token_file.empty()) {
        return InvalidArgument(what + " uses exec or auth-provider credentials, not supported");
      }
    }
    if (!Str(u.node, "username").empty() && c.client_cert_pem.empty() && c.bearer_token.empty() &&
        c.token_file.empty()) {
      return InvalidArgument(what + " uses basic auth, not supported");
    }
  }
  return c;
}

Result<ClientConfig> InClusterConfig(const LoadOptions& options) {
  std::string host = Getenv(options, "KUBERNETES_SERVICE_HOST");
  std::string port = Getenv(options, "KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty()) {
    return NotFound("not in a cluster: KUBERNETES_SERVICE_HOST/PORT unset");
  }
  ClientConfig c;
  c.context_name = "in-cluster";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";  // IPv6
  c.server = "https://" + host + ":" + port;
  std::string dir = options.service_account_dir;
  c.token_file = dir + "/token";
  auto token = ReadFile(c.token_file);
  if (!token.ok()) return InvalidArgument("service account token: " + token.status().message());
  c.bearer_token = Trim(std::move(token).value());
  auto ca = ReadFile(dir + "/ca.crt");
  if (!ca.ok()) return InvalidArgument("service account CA: " + ca.status().message());
  c.ca_pem = std::move(ca).value();
  auto ns = ReadFile(dir + "/namespace");
  if (ns.ok() && !Trim(*ns).empty()) c.default_namespace = Trim(*ns);
  return c;
}

Result<ClientConfig> LoadClientConfig(const LoadOptions& options) {
  if (!options.kubeconfig_flag.empty()) {
    auto files = ReadKubeconfigFiles({options.kubeconfig_flag}, true);
    if (!files.ok()) return files.status();
    return ResolveKubeconfig(*files, options.context, options.allow_insecure_tls);
  }
  std::string env = Getenv(options, "KUBECONFIG");
  if (!env.empty()) {
    std::vector<std::string> paths;
    std::stringstream ss(env);
    for (std::string p; std::getline(ss, p, ':');) paths.push_back(p);
    auto files = ReadKubeconfigFiles(paths, false);
    if (!files.ok()) return files.status();
    if (files->empty()) return NotFound("no file named in $KUBECONFIG exists");
    return ResolveKubeconfig(*files, options.context, options.allow_insecure_tls);
  }
  if (!Getenv(options, "KUBERNETES_SERVICE_HOST").empty()) return InClusterConfig(options);
  std::string home = Getenv(options, "HOME");
  if (!home.empty()) {
    std::string path = home + "/.kube/config";
    std::error_code ec;
    if (fs::exists(path, ec)) {
      auto files = ReadKubeconfigFiles({path}, true);
      if (!files.ok()) return files.status();
      return ResolveKubeconfig(*files, options.context, options.allow_insecure_tls);
    }
  }
  return NotFound("no kubeconfig (--kubeconfig, $KUBECONFIG, ~/.kube/config) and not in a cluster");
}

TokenSource::TokenSource(std::string file, std::string fallback)
    : file_(std::move(file)), token_(std::move(fallback)) {}

std::string TokenSource::Token() {
  std::lock_guard<std::mutex> lock(mu_);
  if (file_.empty()) return token_;
  struct stat st {};
  if (::stat(file_.c_str(), &st) != 0) return token_;  // keep the last good token
  long long mtime = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  if (mtime == mtime_ns_ && st.st_size == size_ && st.st_ino == inode_) return token_;
  auto text = ReadFile(file_);
  if (!text.ok()) return token_;
  std::string t = Trim(std::move(text).value());
  if (t.empty()) return token_;  // mid-rewrite: keep the old one
  token_ = std::move(t);
  mtime_ns_ = mtime;
  size_ = st.st_size;
  inode_ = st.st_ino;
  return token_;
}

void TokenSource::Invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  mtime_ns_ = -1;
}

}  // namespace certguard::kube
