#include "kube/config.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

#include "support/temp_dir.h"

using certguard::Code;
using namespace certguard::kube;
using certguard::testing::TempDir;

namespace {

// base64("CA-PEM"), base64("CERT-PEM"), base64("KEY-PEM")
const char* kEmbedded = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: c1
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority-data: Q0EtUEVN
contexts:
- name: dev
  context: {cluster: c1, user: u1, namespace: team-a}
- name: ops
  context: {cluster: c1, user: u2}
users:
- name: u1
  user:
    client-certificate-data: Q0VSVC1QRU0=
    client-key-data: S0VZLVBFTQ==
- name: u2
  user:
    token: s3cret
)";

LoadOptions Env(std::map<std::string, std::string> env) {
  LoadOptions o;
  o.getenv = [env](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  return o;
}

}  // namespace

TEST_CASE("Kubeconfig: embedded data, current context, namespace", "[kube][config]") {
  auto c = ResolveKubeconfig({{"/x/config", kEmbedded}}, "", false);
  REQUIRE(c.ok());
  CHECK(c->server == "https://10.0.0.1:6443");
  CHECK(c->ca_pem == "CA-PEM");
  CHECK(c->client_cert_pem == "CERT-PEM");
  CHECK(c->client_key_pem == "KEY-PEM");
  CHECK(c->bearer_token.empty());
  CHECK(c->default_namespace == "team-a");
  CHECK(c->context_name == "dev");
}

TEST_CASE("Kubeconfig: --context picks another context", "[kube][config]") {
  auto c = ResolveKubeconfig({{"/x/config", kEmbedded}}, "ops", false);
  REQUIRE(c.ok());
  CHECK(c->bearer_token == "s3cret");
  CHECK(c->client_cert_pem.empty());
  CHECK(c->default_namespace == "default");
  auto missing = ResolveKubeconfig({{"/x/config", kEmbedded}}, "nope", false);
  CHECK(missing.status().code() == Code::kInvalidArgument);
}

TEST_CASE("Kubeconfig: files resolve relative to their own directory", "[kube][config]") {
  TempDir dir;
  dir.Write("a/pki/ca.crt", "FILE-CA");
  dir.Write("a/pki/admin.crt", "FILE-CERT");
  dir.Write("a/pki/admin.key", "FILE-KEY");
  dir.Write("a/token", "tok-from-file\n");
  std::string path = dir.Write("a/config", R"(
current-context: x
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443", certificate-authority: pki/ca.crt}
contexts:
- name: x
  context: {cluster: c, user: u}
- name: t
  context: {cluster: c, user: t}
users:
- name: u
  user: {client-certificate: pki/admin.crt, client-key: pki/admin.key}
- name: t
  user: {tokenFile: token}
)");
  auto files = certguard::kube::ReadKubeconfigFiles({path}, true);
  REQUIRE(files.ok());
  auto c = ResolveKubeconfig(*files, "", false);
  REQUIRE(c.ok());
  CHECK(c->ca_pem == "FILE-CA");
  CHECK(c->client_cert_pem == "FILE-CERT");
  CHECK(c->client_key_pem == "FILE-KEY");
  auto t = ResolveKubeconfig(*files, "t", false);
  REQUIRE(t.ok());
  CHECK(t->token_file == dir.path() + "/a/token");
  // A file over 4 MiB (a wrong path: a device, a log) is refused, not read whole.
  dir.Write("a/pki/ca.crt", std::string((4u << 20) + 1, 'A'));
  auto big = ResolveKubeconfig(*files, "", false);
  CHECK(big.status().code() == Code::kInvalidArgument);
  CHECK_THAT(big.status().message(), Catch::Contains("larger than 4 MiB"));
  dir.Write("a/pki/ca.crt", "FILE-CA");
  // A file named but missing is an error, not an unauthenticated client.
  std::filesystem::remove(dir.path() + "/a/pki/admin.key");
  auto broken = ResolveKubeconfig(*files, "", false);
  CHECK(broken.status().code() == Code::kInvalidArgument);
}

TEST_CASE("Kubeconfig: several files merge like kubectl", "[kube][config]") {
  std::string first = R"(
clusters:
- name: shared
  cluster: {server: "https://first:6443"}
users:
- name: u
  user: {token: first-token}
)";
  std::string second = R"(
current-context: ctx
clusters:
- name: shared
  cluster: {server: "https://second:6443"}
contexts:
- name: ctx
  context: {cluster: shared, user: u}
users:
- name: u
  user: {token: second-token}
)";
  std::string third = "current-context: other\n";
  auto c = ResolveKubeconfig({{"/1", first}, {"/2", second}, {"/3", third}}, "", false);
  REQUIRE(c.ok());
  CHECK(c->server == "https://first:6443");  // first file to define "shared" wins
  CHECK(c->bearer_token == "first-token");
  CHECK(c->context_name == "ctx");           // first file that sets current-context
  auto flipped = ResolveKubeconfig({{"/3", third}, {"/2", second}}, "", false);
  CHECK(flipped.status().code() == Code::kInvalidArgument);  // "other" does not exist
}

TEST_CASE("Kubeconfig: insecure-skip-tls-verify needs an explicit allow", "[kube][config]") {
  std::string text = R"(
current-context: c
clusters:
- name: c
  cluster: {server: "https://h:6443", insecure-skip-tls-verify: true}
contexts:
- name: c
  context: {cluster: c, user: u}
users:
- name: u
  user: {token: t}
)";
  auto refused = ResolveKubeconfig({{"/k", text}}, "", false);
  CHECK(refused.status().code() == Code::kInvalidArgument);
  CHECK(refused.status().message().find("allow-insecure-tls") != std::string::npos);
  auto allowed = ResolveKubeconfig({{"/k", text}}, "", true);
  REQUIRE(allowed.ok());
  CHECK(allowed->insecure_skip_tls_verify);
}

TEST_CASE("Kubeconfig: bad input is refused with a reason", "[kube][config]") {
  auto bad = [](const std::string& text) {
    return ResolveKubeconfig({{"/k", text}}, "", false).status();
  };
  CHECK(bad("clusters: [unclosed").code() == Code::kInvalidArgument);
  CHECK(bad("- just\n- a list\n").code() == Code::kInvalidArgument);
  CHECK(bad("").code() == Code::kInvalidArgument);  // no current-context
  CHECK(bad("current-context: c\nclusters: 5\n").code() == Code::kInvalidArgument);
  std::string base = "current-context: c\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\n";
  CHECK(bad(base).code() == Code::kInvalidArgument);  // cluster missing
  CHECK(bad(base + "clusters:\n- name: c\n  cluster: {}\n").code() == Code::kInvalidArgument);
  CHECK(bad(base + "clusters:\n- name: c\n  cluster: {server: \"ftp://x\"}\n").code() ==
        Code::kInvalidArgument);
  std::string with_cluster = base + "clusters:\n- name: c\n  cluster: {server: \"https://x\"}\n";
  CHECK(bad(with_cluster).code() == Code::kInvalidArgument);  // user missing
  CHECK(bad(with_cluster + "users:\n- name: u\n  user: {client-certificate-data: '!!!'}\n")
            .code() == Code::kInvalidArgument);
  CHECK(bad(with_cluster + "users:\n- name: u\n  user: {client-certificate-data: QQ==}\n")
            .code() == Code::kInvalidArgument);  // certificate without key
  CHECK(bad(with_cluster + "users:\n- name: u\n  user: {exec: {command: aws}}\n").code() ==
        Code::kInvalidArgument);
  CHECK(bad(with_cluster + "users:\n- name: u\n  user: {username: a, password: b}\n").code() ==
        Code::kInvalidArgument);
  CHECK(bad(with_cluster + "users:\n- name: u\n  user: {token: ok}\n").ok());
}

TEST_CASE("Config sources: flag, then $KUBECONFIG, then in-cluster, then home",
          "[kube][config]") {
  TempDir dir;
  std::string cfg = "current-context: c\nclusters:\n- name: c\n  cluster: {server: \"https://%s\"}\n"
                    "contexts:\n- name: c\n  context: {cluster: c}\n";
  auto write = [&](const std::string& name, const std::string& host) {
    std::string text = cfg;
    text.replace(text.find("%s"), 2, host);
    return dir.Write(name, text);
  };
  std::string flag = write("flag.yaml", "flag");
  std::string env1 = write("env1.yaml", "env1");
  write("home/.kube/config", "home");
  dir.Write("sa/token", "sa-token\n");
  dir.Write("sa/ca.crt", "SA-CA");
  dir.Write("sa/namespace", "certguard-system\n");

  auto all = Env({{"KUBECONFIG", dir.path() + "/missing.yaml:" + env1},
                  {"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                  {"KUBERNETES_SERVICE_PORT", "443"},
                  {"HOME", dir.path() + "/home"}});
  all.service_account_dir = dir.path() + "/sa";

  LoadOptions o = all;
  o.kubeconfig_flag = flag;
  auto c = LoadClientConfig(o);
  REQUIRE(c.ok());
  CHECK(c->server == "https://flag");

  c = LoadClientConfig(all);
  REQUIRE(c.ok());
  CHECK(c->server == "https://env1");  // the missing file is skipped

  auto no_env = Env({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                     {"KUBERNETES_SERVICE_PORT", "443"},
                     {"HOME", dir.path() + "/home"}});
  no_env.service_account_dir = dir.path() + "/sa";
  c = LoadClientConfig(no_env);
  REQUIRE(c.ok());
  CHECK(c->server == "https://10.96.0.1:443");
  CHECK(c->token_file == dir.path() + "/sa/token");
  CHECK(c->bearer_token == "sa-token");
  CHECK(c->ca_pem == "SA-CA");
  CHECK(c->default_namespace == "certguard-system");

  c = LoadClientConfig(Env({{"HOME", dir.path() + "/home"}}));
  REQUIRE(c.ok());
  CHECK(c->server == "https://home");

  CHECK(LoadClientConfig(Env({{"HOME", dir.path() + "/nowhere"}})).status().code() ==
        Code::kNotFound);
  CHECK(LoadClientConfig(Env({{"KUBECONFIG", dir.path() + "/missing.yaml"}})).status().code() ==
        Code::kNotFound);
  LoadOptions bad_flag = all;
  bad_flag.kubeconfig_flag = dir.path() + "/missing.yaml";
  CHECK(LoadClientConfig(bad_flag).status().code() == Code::kNotFound);
}

TEST_CASE("In-cluster config: IPv6 host and missing files", "[kube][config]") {
  TempDir dir;
  dir.Write("sa/token", "t");
  dir.Write("sa/ca.crt", "CA");
  auto o = Env({{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "443"}});
  o.service_account_dir = dir.path() + "/sa";
  auto c = certguard::kube::InClusterConfig(o);
  REQUIRE(c.ok());
  CHECK(c->server == "https://[fd00::1]:443");
  CHECK(c->default_namespace == "default");  // no namespace file
  o.service_account_dir = dir.path() + "/none";
  CHECK(certguard::kube::InClusterConfig(o).status().code() == Code::kInvalidArgument);
  auto unset = Env({});
  CHECK(certguard::kube::InClusterConfig(unset).status().code() == Code::kNotFound);
}

TEST_CASE("Token source re-reads a rotated token file", "[kube][config]") {
  TempDir dir;
  std::string path = dir.Write("token", "first\n");
  TokenSource ts(path, "fallback");
  CHECK(ts.Token() == "first");
  CHECK(ts.Token() == "first");
  // The kubelet swaps the file atomically (rename): a new inode.
  std::string tmp = dir.Write("token.tmp", "second");
  std::filesystem::rename(tmp, path);
  CHECK(ts.Token() == "second");
  // Rewritten in place with a different size.
  dir.Write("token", "third-token");
  CHECK(ts.Token() == "third-token");
  // Empty (mid-write) or missing: keep the last good token.
  dir.Write("token", "");
  CHECK(ts.Token() == "third-token");
  std::filesystem::remove(path);
  CHECK(ts.Token() == "third-token");
  dir.Write("token", "fourth");
  CHECK(ts.Token() == "fourth");
  TokenSource missing(dir.path() + "/nope", "fallback");
  CHECK(missing.Token() == "fallback");
  TokenSource fixed("static");
  CHECK(fixed.Token() == "static");
}
