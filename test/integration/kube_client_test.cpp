// The kube client layer against the real API server: pagination, typed
// errors, conflicts, patches and subresources, token rotation and TLS checks.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <unistd.h>

#include "integration/kube_support.h"
#include "kube/http.h"
#include "support/http_get.h"
#include "support/pki.h"
#include "support/wait.h"
#include "x509/pem.h"

namespace certguard::test {
namespace {

using namespace std::chrono_literals;
using kube::Json;
namespace res = kube::resources;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Json ConfigMap(const std::string& name, const Json& data, const Json& labels = Json::object()) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"labels", labels}}}, {"data", data}};
}

TEST_CASE("kube: ListAll pages through 1200 ConfigMaps", "[integration][kube]") {
  const Cluster& cluster = RequireCluster();
  auto client = AdminClient(cluster, true);
  const std::string ns = "kube-pagination";
  EnsureNamespace(*client, ns);

  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = w; i < 1200; i += 4) {
        Json labels = {{"half", i % 2 == 0 ? "even" : "odd"}};
        auto r = client->Create(res::kConfigMaps, ns,
                                ConfigMap("cm-" + std::to_string(i), {{"i", std::to_string(i)}},
                                          labels));
        if (!r.ok() && r.status().code() != Code::kAlreadyExists) failures++;
      }
    });
  }
  for (auto& t : writers) t.join();
  REQUIRE(failures == 0);
  auto created = std::chrono::steady_clock::now();

  kube::ListOptions all;
  all.label_selector = "half";
  auto list = kube::ListAll(*client, res::kConfigMaps, ns, all, 500);
  INFO(list.status().ToString());
  REQUIRE(list.ok());
  auto listed = std::chrono::steady_clock::now();
  CHECK(list->pages == 3);
  CHECK(list->items.size() == 1200);
  CHECK_FALSE(list->resource_version.empty());
  std::set<std::string> names;
  for (const auto& item : list->items) names.insert(item["metadata"]["name"].get<std::string>());
  CHECK(names.size() == 1200);
  CHECK(names.count("cm-0") == 1);
  CHECK(names.count("cm-1199") == 1);

  kube::ListOptions even;
  even.label_selector = "half=even";
  auto evens = kube::ListAll(*client, res::kConfigMaps, ns, even, 100);
  REQUIRE(evens.ok());
  CHECK(evens->items.size() == 600);
  // 600 items at most 100 a page; with a selector the server may return short pages.
  CHECK(evens->pages >= 6);

  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  WARN("created 1200 ConfigMaps in " << ms(created - start) << " ms (4 writers); listed 3 pages in "
                                     << ms(listed - created) << " ms");
}

TEST_CASE("kube: API errors arrive as typed Status codes", "[integration][kube]") {
  const Cluster& cluster = RequireCluster();
  auto client = AdminClient(cluster);
  const std::string ns = "kube-errors";
  EnsureNamespace(*client, ns);

  auto missing = client->Get(res::kConfigMaps, ns, "absent");
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(missing.status().message().find("not found") != std::string::npos);

  (void)client->Delete(res::kConfigMaps, ns, "dup");
  REQUIRE(client->Create(res::kConfigMaps, ns, ConfigMap("dup", {{"a", "1"}})).ok());
  CHECK(client->Create(res::kConfigMaps, ns, ConfigMap("dup", {{"a", "1"}})).status().code() ==
        Code::kAlreadyExists);

  auto cur = client->Get(res::kConfigMaps, ns, "dup");
  REQUIRE(cur.ok());
  Json stale = *cur;
  Json fresh = *cur;
  fresh["data"]["a"] = "2";
  REQUIRE(client->Update(res::kConfigMaps, ns, fresh).ok());
  stale["data"]["a"] = "3";
  CHECK(client->Update(res::kConfigMaps, ns, stale).status().code() == Code::kConflict);

  auto invalid = client->Create(res::kConfigMaps, ns, ConfigMap("Not_A_Valid_Name", {}));
  CHECK(invalid.status().code() == Code::kInvalidArgument);

  kube::DeleteOptions pre;
  pre.precondition_resource_version = "1";
  CHECK(client->Delete(res::kConfigMaps, ns, "dup", pre).code() == Code::kConflict);

  // A node may not read secrets: 403 from the Node authorizer and RBAC.
  auto node_kc = cluster.NodeIdentity("kube-errors-node");
  REQUIRE(node_kc.ok());
  auto node = KubeClientFor(KubeConfigFrom(*node_kc));
  auto forbidden = node->List(res::kSecrets, "kube-system", {});
  CHECK(forbidden.status().code() == Code::kForbidden);
  CHECK(forbidden.status().message().find("system:node:kube-errors-node") != std::string::npos);
}

TEST_CASE("kube: concurrent read-modify-write retried on conflict loses nothing",
          "[integration][kube]") {
  const Cluster& cluster = RequireCluster();
  auto client = AdminClient(cluster, true);
  const std::string ns = "kube-conflicts";
  EnsureNamespace(*client, ns);
  (void)client->Delete(res::kConfigMaps, ns, "counter");
  REQUIRE(client->Create(res::kConfigMaps, ns, ConfigMap("counter", {{"n", "0"}})).ok());

  std::atomic<int> conflicts{0}, failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        Status s = kube::RetryOnConflict(
            [&]() -> Status {
              auto cur = client->Get(res::kConfigMaps, ns, "counter");
              if (!cur.ok()) return cur.status();
              Json next = *cur;
              next["data"]["n"] = std::to_string(std::stoi(next["data"]["n"].get<std::string>()) + 1);
              auto r = client->Update(res::kConfigMaps, ns, next);
              if (r.status().code() == Code::kConflict) conflicts++;
              return r.status();
            },
            50);
        if (!s.ok()) failures++;
      }
    });
  }
  for (auto& t : writers) t.join();
  CHECK(failures == 0);
  auto final = client->Get(res::kConfigMaps, ns, "counter");
  REQUIRE(final.ok());
  CHECK((*final)["data"]["n"] == "40");
  WARN("40 increments from 4 writers met " << conflicts.load() << " conflicts, all retried");
}

TEST_CASE("kube: merge patch and server-side apply and the approval subresource",
          "[integration][kube]") {
  const Cluster& cluster = RequireCluster();
  auto client = AdminClient(cluster);
  const std::string ns = "kube-writes";
  EnsureNamespace(*client, ns);
  (void)client->Delete(res::kConfigMaps, ns, "applied");

  Json intent = ConfigMap("applied", {{"k", "v1"}});
  intent["metadata"]["namespace"] = ns;
  auto applied = kube::Apply(*client, res::kConfigMaps, ns, intent, "certguard-test");
  INFO(applied.status().ToString());
  REQUIRE(applied.ok());
  CHECK((*applied)["data"]["k"] == "v1");
  CHECK((*applied)["metadata"]["managedFields"][0]["manager"] == "certguard-test");
  intent["data"]["k"] = "v2";
  REQUIRE(kube::Apply(*client, res::kConfigMaps, ns, intent, "certguard-test").ok());

  auto patched = client->Patch(res::kConfigMaps, ns, "applied", kube::PatchType::kMerge,
                               R"({"data":{"extra":"x"}})");
  REQUIRE(patched.ok());
  CHECK((*patched)["data"]["k"] == "v2");
  CHECK((*patched)["data"]["extra"] == "x");

  // A CSR approved through /approval, as the CSR controller will do.
  const std::string name = "kube-writes-csr";
  (void)client->Delete(res::kCertificateSigningRequests, "", name);
  std::string pem = certguard::testing::CsrBuilder().Cn("kube-writes").Pem();
  const std::string b64 = certguard::testing::Base64(pem);  // []byte fields are base64 in JSON
  Json csr = {{"apiVersion", "certificates.k8s.io/v1"},
              {"kind", "CertificateSigningRequest"},
              {"metadata", {{"name", name}}},
              {"spec",
               {{"request", b64},
                {"signerName", "example.com/test"},
                {"usages", {"digital signature", "client auth"}}}}};
  auto made = client->Create(res::kCertificateSigningRequests, "", csr);
  INFO(made.status().ToString());
  REQUIRE(made.ok());
  Json approve = *made;
  approve["status"]["conditions"] = Json::array({{{"type", "Approved"}, {"status", "True"},
                                                  {"reason", "KubeIntegrationTest"},
                                                  {"message", "approved by the kube test"}}});
  auto approved = client->Update(res::kCertificateSigningRequests, "", approve, "approval");
  INFO(approved.status().ToString());
  REQUIRE(approved.ok());
  CHECK((*approved)["status"]["conditions"][0]["type"] == "Approved");
  // Stale resourceVersion on the subresource: a conflict, as for the object.
  CHECK(client->Update(res::kCertificateSigningRequests, "", approve, "approval").status().code() ==
        Code::kConflict);
}

TEST_CASE("kube: a replaced service-account token file is used at once", "[integration][kube]") {
  const Cluster& cluster = RequireCluster();
  auto admin = AdminClient(cluster);
  const std::string ns = "kube-token";
  EnsureNamespace(*admin, ns);
  auto token_for = [&](const std::string& sa) {
    const kube::Resource service_accounts{"", "v1", "serviceaccounts", "ServiceAccount", true};
    auto made = admin->Create(service_accounts, ns, {{"metadata", {{"name", sa}}}});
    REQUIRE((made.ok() || made.status().code() == Code::kAlreadyExists));
    kube::HttpRequest req;
    req.method = "POST";
    req.path = "/api/v1/namespaces/" + ns + "/serviceaccounts/" + sa + "/token";
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600}})";
    auto resp = admin->Call(req);
    REQUIRE(resp.ok());
    INFO(resp->body);
    REQUIRE(resp->status == 201);
    return Json::parse(resp->body)["status"]["token"].get<std::string>();
  };
  std::string token_a = token_for("sa-a"), token_b = token_for("sa-b");

  std::string work = cluster.ScratchDir("kube-token");
  std::string token_file = work + "/token";
  { std::ofstream(token_file) << token_a; }
  kube::ClientConfig cfg = KubeConfigFrom(cluster.admin_kubeconfig());
  cfg.client_cert_pem.clear();
  cfg.client_key_pem.clear();
  cfg.token_file = token_file;
  auto client = KubeClientFor(cfg);

  auto as_a = client->List(res::kSecrets, "kube-system", {});
  REQUIRE(as_a.status().code() == Code::kForbidden);
  CHECK(as_a.status().message().find("system:serviceaccount:kube-token:sa-a") != std::string::npos);

  // The kubelet replaces the file atomically.
  { std::ofstream(token_file + ".new") << token_b << "\n"; }
  std::filesystem::rename(token_file + ".new", token_file);
  auto as_b = client->List(res::kSecrets, "kube-system", {});
  REQUIRE(as_b.status().code() == Code::kForbidden);
  CHECK(as_b.status().message().find("system:serviceaccount:kube-token:sa-b") != std::string::npos);

  // A token the server rejects is a 401, not a crash or a hang.
  { std::ofstream(token_file + ".new") << "not-a-token"; }
  std::filesystem::rename(token_file + ".new", token_file);
  CHECK(client->List(res::kSecrets, "kube-system", {}).status().code() == Code::kUnauthorized);
}

TEST_CASE("kube: TLS accepts the API server IP SAN and refuses a wrong CA or host name",
          "[integration][kube]") {
  const Cluster& cluster = RequireCluster();
  std::string work = cluster.ScratchDir("kube-tls");
  kube::ClientConfig good = KubeConfigFrom(cluster.admin_kubeconfig());
  REQUIRE(good.server.rfind("https://127.0.0.1:", 0) == 0);
  kube::HttpRequest version;
  version.path = "/version";

  // The real API server, reached by IP, certificate with IP:127.0.0.1.
  auto ok = KubeClientFor(good)->Call(version);
  INFO(ok.status().ToString());
  REQUIRE(ok.ok());
  CHECK(ok->status == 200);

  // Another CA: the handshake fails.
  auto made = cluster.Run(
      "cd " + ShellQuote(work) +
      " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
      " -keyout other.key -out other.crt -subj /CN=other-ca -days 1 2>/dev/null");
  REQUIRE(made.ok());
  kube::ClientConfig wrong_ca = good;
  wrong_ca.ca_pem = ReadAll(work + "/other.crt");
  auto refused = KubeClientFor(wrong_ca)->Call(version);
  CHECK(refused.status().code() == Code::kUnavailable);
  CHECK(refused.status().message().find("handshake") != std::string::npos);

  // A server with a certificate from the cluster CA, once for another name
  // and once for 127.0.0.1: only the second is accepted.
  auto serve = [&](const std::string& san, int port) {
    auto r = cluster.Run(
        "cd " + ShellQuote(work) + " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
        " -nodes -keyout s.key -out s.csr -subj /CN=test 2>/dev/null && printf 'subjectAltName=" +
        san + "\\n' > ext && openssl x509 -req -in s.csr -CA \"$CLUSTER_CA\" -CAkey \"$CLUSTER_CA_KEY\""
        " -CAcreateserial -days 1 -extfile ext -out s.crt 2>/dev/null && (setsid openssl s_server"
        " -accept 127.0.0.1:" + std::to_string(port) + " -cert s.crt -key s.key -www -quiet"
        " </dev/null >s_server.log 2>&1 & echo $!)");
    REQUIRE(r.ok());
    // Listening, not a fixed sleep: on a loaded machine (sanitized runs side by side)
    // s_server can take well over half a second to bind.
    REQUIRE(testing::WaitFor([&] {
      int fd = testing::OpenIdleConnection(port);
      if (fd < 0) return false;
      ::close(fd);
      return true;
    }, 10s, 20ms));
    return r.out.substr(0, r.out.find('\n'));
  };
  int port = 20000 + static_cast<int>(getpid() % 20000);
  for (const auto& [san, accept] :
       std::vector<std::pair<std::string, bool>>{{"DNS:wrong.example", false}, {"IP:127.0.0.1", true}}) {
    std::string pid = serve(san, port);
    kube::ClientConfig c = good;
    c.server = "https://127.0.0.1:" + std::to_string(port);
    auto r = KubeClientFor(c)->Call(version);
    RunShell("kill " + pid);
    std::this_thread::sleep_for(200ms);
    INFO(san << ": " << r.status().ToString());
    if (accept) {
      REQUIRE(r.ok());
      CHECK(r->status == 200);
    } else {
      CHECK(r.status().code() == Code::kUnavailable);
      CHECK(r.status().message().find("handshake") != std::string::npos);
    }
    ++port;
  }
}

TEST_CASE("kube: with OpenSSL's default bundle deferred, a client without a cluster CA still "
          "trusts the system's bundle, and one with it only the cluster CA",
          "[integration][kube]") {
  // Each test runs in its own process: the environment set here ends with it.
  const Cluster& cluster = RequireCluster();
  std::string work = cluster.ScratchDir("kube-system-trust");
  kube::ClientConfig with_ca = KubeConfigFrom(cluster.admin_kubeconfig());
  kube::ClientConfig no_ca = with_ca;
  no_ca.ca_pem.clear();
  kube::HttpRequest version;
  version.path = "/version";
  auto made = cluster.Run(
      "cd " + ShellQuote(work) +
      " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
      " -keyout other.key -out other.crt -subj /CN=other-ca -days 1 2>/dev/null");
  REQUIRE(made.ok());
  const std::string cluster_ca = cluster.Env("CLUSTER_CA");
  REQUIRE_FALSE(cluster_ca.empty());

  // The system's bundle, as OpenSSL finds it, holds another CA: refused.
  REQUIRE(setenv("SSL_CERT_FILE", (work + "/other.crt").c_str(), 1) == 0);
  auto refused = KubeClientFor(no_ca)->Call(version);
  CHECK(refused.status().code() == Code::kUnavailable);
  CHECK(refused.status().message().find("handshake") != std::string::npos);

  // The system's bundle holds the cluster CA, then OpenSSL's default is deferred
  // (as main does): the client without a CA loads that bundle itself.
  REQUIRE(setenv("SSL_CERT_FILE", cluster_ca.c_str(), 1) == 0);
  kube::DeferSystemTrust();
  CHECK(std::string(std::getenv("SSL_CERT_FILE")) == "/dev/null");
  auto trusted = KubeClientFor(no_ca)->Call(version);
  INFO(trusted.status().ToString());
  REQUIRE(trusted.ok());
  CHECK(trusted->status == 200);
  // With the cluster CA: trusted as before.
  auto ok = KubeClientFor(with_ca)->Call(version);
  INFO(ok.status().ToString());
  REQUIRE(ok.ok());
  CHECK(ok->status == 200);
}

}  // namespace
}  // namespace certguard::test
