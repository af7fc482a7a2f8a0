// The in-cluster certificate inventory on the real control plane: `certguard
// run --controllers=...,expiry` exports one series per certificate of issued
// kubelet CSRs, TLS Secrets, selected Secrets and ConfigMaps and TrustBundle
// targets, and `certs check-expiration --kubeconfig` lists the same.
#include <catch2/catch.hpp>
#include <chrono>
#include <atomic>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "kube_support.h"
#include "rbac_support.h"
#include "support/certguard_process.h"
#include "support/cluster.h"
#include "support/http_get.h"
#include "support/pki.h"
#include "x509/pem.h"

namespace certguard::test {
namespace {

using namespace std::chrono_literals;
using certguard::testing::Cert;
using certguard::testing::CertBuilder;
using certguard::testing::HttpGet;
using certguard::testing::HttpReply;
using certguard::testing::JoinPem;

constexpr char kSelector[] = "certguard-test/expiry=yes";

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// A fresh namespace per test: the test plane runs no namespace controller, so
// names must not repeat across runs.
std::string FreshNamespace(const Cluster& cluster, const std::string& prefix) {
  std::random_device rd;
  std::string ns = prefix + "-" + std::to_string(rd() % 1000000);
  CommandResult r = cluster.Kubectl("create namespace " + ns);
  INFO(r.err);
  REQUIRE(r.ok());
  return ns;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  REQUIRE(out.good());
}

// `certguard run` with the expiry controller, metrics and health on free ports.
class Operator {
 public:
  Operator(const Cluster& cluster, const std::string& name, const std::string& controllers,
           std::vector<std::string> extra = {}, const std::string& kubeconfig = "",
           std::chrono::seconds ready_within = 30s) {
    std::vector<std::string> args = {"run",
                                     "--kubeconfig",
                                     kubeconfig.empty() ? cluster.admin_kubeconfig() : kubeconfig,
                                     "--controllers", controllers,
                                     "--leader-elect=false",
                                     "--metrics-bind-address", "127.0.0.1:0",
                                     "--health-bind-address", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    log_ = cluster.ScratchDir(name) + "/certguard.log";
    process_ = std::make_unique<CertguardProcess>(args, log_);
    REQUIRE(process_->WaitForLog("serving endpoints", 30s));
    std::smatch m;
    std::string log = process_->Log();
    REQUIRE(std::regex_search(log, m, std::regex("metrics_port=\"?(\\d+)")));
    metrics_port_ = std::stoi(m[1]);
    REQUIRE(std::regex_search(log, m, std::regex("health_port=\"?(\\d+)")));
    health_port_ = std::stoi(m[1]);
    // Ready once every watch has listed.
    bool ready =
        Eventually([&] { return HttpGet(health_port_, "/readyz").status == 200; }, ready_within);
    INFO(process_->Log());
    REQUIRE(ready);
  }
  ~Operator() {
    if (process_) process_->Stop();
  }

  // The certguard_certificate_expiry_days lines whose labels contain every one of `labels`.
  std::vector<std::string> Series(const std::vector<std::string>& labels) const {
    std::vector<std::string> out;
    HttpReply r = HttpGet(metrics_port_, "/metrics");
    std::istringstream in(r.body);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("certguard_certificate_expiry_days{", 0) != 0) continue;
      bool all = true;
      for (const auto& l : labels) all = all && line.find(l) != std::string::npos;
      if (all) out.push_back(line);
    }
    return out;
  }
  // Waits until exactly `n` series match.
  bool WaitForSeries(const std::vector<std::string>& labels, size_t n,
                     std::chrono::milliseconds limit = 30s) const {
    return Eventually([&] { return Series(labels).size() == n; }, limit);
  }
  std::string Log() const { return process_->Log(); }
  int Stop() { return process_->Stop(); }
  pid_t pid() const { return process_->pid(); }

 private:
  std::string log_;
  std::unique_ptr<CertguardProcess> process_;
  int metrics_port_ = 0;
  int health_port_ = 0;
};

std::string Label(const std::string& name, const std::string& value) {
  return name + "=\"" + value + "\"";
}

// The value of one series line: "name{...} 12.5" -> 12.5.
double ValueOf(const std::string& line) { return std::stod(line.substr(line.rfind(' ') + 1)); }

const Cert& TestCa() {
  static const Cert ca = CertBuilder().Cn("expiry-test-ca").Ca().Build();
  return ca;
}

using certguard::x509::pem::Base64;

}  // namespace

TEST_CASE("expiry: TLS Secrets created, updated and deleted change the series",
          "[integration][expiry]") {
  const Cluster& cluster = RequireCluster();
  const std::string ns = FreshNamespace(cluster, "expiry-secrets");
  const std::string dir = cluster.ScratchDir("expiry-secrets");
  Operator op(cluster, "expiry-secrets-op", "expiry",
              {"--expiry-secret-selector", kSelector, "--expiry-configmap-selector", kSelector});

  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  Cert first = CertBuilder().Cn("web-first").IssuedBy(TestCa()).NotBefore(now - 24h)
                   .NotAfter(now + 24h * 30).Build();
  WriteFile(dir + "/first.crt", JoinPem({first.pem, TestCa().pem}));
  WriteFile(dir + "/first.key", first.key.PrivatePem());
  CommandResult created = cluster.Kubectl("-n " + ns + " create secret tls web --cert " + dir +
                                          "/first.crt --key " + dir + "/first.key");
  INFO(created.err);
  REQUIRE(created.ok());

  const std::vector<std::string> web = {Label("source_kind", "secret"), Label("namespace", ns),
                                        Label("name", "web")};
  // tls.crt holds the leaf and its CA: one series each.
  INFO(op.Log());
  REQUIRE(op.WaitForSeries(web, 2));
  auto leaf = op.Series({Label("namespace", ns), Label("subject_cn", "web-first")});
  REQUIRE(leaf.size() == 1);
  CHECK(leaf[0].find(Label("key", "tls.crt")) != std::string::npos);
  CHECK(leaf[0].find(Label("issuer_cn", "expiry-test-ca")) != std::string::npos);
  CHECK(leaf[0].find(Label("is_ca", "false")) != std::string::npos);
  CHECK(ValueOf(leaf[0]) > 29.9);
  CHECK(ValueOf(leaf[0]) <= 30.0);
  CHECK(op.Series({Label("namespace", ns), Label("subject_cn", "expiry-test-ca"),
                   Label("is_ca", "true")}).size() == 1);

  // Updated in place: the renewed certificate replaces the old series.
  Cert renewed = CertBuilder().Cn("web-renewed").IssuedBy(TestCa()).NotBefore(now - 1h)
                     .NotAfter(now + 24h * 90).Build();
  WriteFile(dir + "/renewed.crt", renewed.pem);
  WriteFile(dir + "/renewed.key", renewed.key.PrivatePem());
  CommandResult updated = cluster.Run(
      "set -o pipefail; kubectl -n " + ns + " create secret tls web --cert " + dir +
      "/renewed.crt --key " + dir + "/renewed.key --dry-run=client -o yaml | kubectl replace -f -");
  INFO(updated.err);
  REQUIRE(updated.ok());
  REQUIRE(op.WaitForSeries({Label("namespace", ns), Label("subject_cn", "web-renewed")}, 1));
  REQUIRE(op.WaitForSeries(web, 1));
  CHECK(op.Series({Label("namespace", ns), Label("subject_cn", "web-first")}).empty());
  CHECK(ValueOf(op.Series(web)[0]) > 89.9);

  // An Opaque Secret counts only with the selector's label; a ConfigMap too.
  WriteFile(dir + "/ca.crt", TestCa().pem);
  REQUIRE(cluster.Kubectl("-n " + ns + " create secret generic opaque --from-file=ca.crt=" + dir +
                          "/ca.crt").ok());
  REQUIRE(cluster.Kubectl("-n " + ns + " create configmap bundle --from-file=ca.crt=" + dir +
                          "/ca.crt").ok());
  const std::vector<std::string> opaque = {Label("namespace", ns), Label("name", "opaque")};
  const std::vector<std::string> cm = {Label("source_kind", "configmap"), Label("namespace", ns),
                                       Label("name", "bundle")};
  REQUIRE(cluster.Kubectl("-n " + ns + " label secret opaque " + kSelector).ok());
  REQUIRE(cluster.Kubectl("-n " + ns + " label configmap bundle " + kSelector).ok());
  REQUIRE(op.WaitForSeries(opaque, 1));
  REQUIRE(op.WaitForSeries(cm, 1));
  // The label removed: out of the selection, out of the metrics.
  REQUIRE(cluster.Kubectl("-n " + ns + " label secret opaque certguard-test/expiry-").ok());
  REQUIRE(op.WaitForSeries(opaque, 0));

  // Deleted: the series go.
  REQUIRE(cluster.Kubectl("-n " + ns + " delete secret web").ok());
  REQUIRE(cluster.Kubectl("-n " + ns + " delete configmap bundle").ok());
  REQUIRE(op.WaitForSeries(web, 0));
  REQUIRE(op.WaitForSeries(cm, 0));
  CHECK(op.Stop() == 0);
}

TEST_CASE("expiry: the first list of large Secrets is never held whole",
          "[integration][expiry][memory]") {
  // 1,500 labelled Secrets of 100 KiB (146 MiB): the watch caches keep only
  // metadata and take the list one page at a time, so certguard's peak stays
  // under the size of what it listed (holding the list whole, it peaked near
  // four times that). Bench: certguard_bench_expiry.
  const Cluster& cluster = RequireCluster();
  const std::string ns = FreshNamespace(cluster, "expiry-memory");
  const std::string label = "certguard-test/expiry-memory";
  const std::string value = ns;  // only this run's Secrets
  auto admin = AdminClient(cluster, /*fast=*/true);
  constexpr int kSecrets = 1500;
  constexpr size_t kPadding = 75 * 1024;  // 100 KiB once in base64
  const std::string crt = Base64(CertBuilder().Cn("expiry-memory").IssuedBy(TestCa()).Pem());
  std::atomic<int> next{0}, failed{0};
  size_t bytes_one = 0;
  auto create = [&](unsigned seed) {
    std::mt19937 gen(seed);
    std::string pad(kPadding, '\0');
    for (int i; (i = next++) < kSecrets;) {
      for (auto& c : pad) c = static_cast<char>(gen());
      nlohmann::json secret = {
          {"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata",
           {{"name", "s-" + std::to_string(i)}, {"namespace", ns}, {"labels", {{label, value}}}}},
          {"data", {{"ca.crt", crt}, {"padding", Base64(pad)}}}};
      if (i == 0) bytes_one = secret.dump().size();
      if (!admin->Create(kube::resources::kSecrets, ns, secret).ok()) ++failed;
    }
  };
  {
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; ++t) threads.emplace_back(create, t + 1);
    for (auto& t : threads) t.join();
  }
  REQUIRE(failed == 0);
  const double listed_mib = double(bytes_one) * kSecrets / (1024 * 1024);
  REQUIRE(listed_mib > 140);

  Operator op(cluster, "expiry-memory-op", "expiry",
              {"--expiry-tls-secrets=false", "--expiry-csrs=false", "--expiry-trust-bundles=false",
               "--expiry-secret-selector", label + "=" + value},
              /*kubeconfig=*/"",
              // Listing 146 MiB through the API server takes a sanitized build
              // on two busy cores well over the usual 30 s; memory is the point here.
              /*ready_within=*/180s);
  INFO(op.Log());
  REQUIRE(op.WaitForSeries({Label("namespace", ns)}, kSecrets, 120s));
  const double peak = PeakMib(op.pid());
  INFO("peak " << peak << " MiB for " << listed_mib << " MiB of Secrets listed");
  CheckPeakBelow(peak, listed_mib);
  CHECK(op.Stop() == 0);

  // The test plane runs no namespace controller: the Secrets go one by one.
  next = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i; (i = next++) < kSecrets;) {
        (void)admin->Delete(kube::resources::kSecrets, ns, "s-" + std::to_string(i));
      }
    });
  }
  for (auto& t : threads) t.join();
}

TEST_CASE("expiry: a kubelet CSR issued by kube-controller-manager, and its renewal",
          "[integration][expiry]") {
  const Cluster& cluster = RequireCluster();
  const std::string dir = cluster.ScratchDir("expiry-csr");
  std::random_device rd;
  const std::string node = "expiry-node-" + std::to_string(rd() % 1000000);
  auto kubeconfig = cluster.NodeIdentity(node, {"InternalIP=10.77.0.9"});
  INFO(kubeconfig.status().ToString());
  REQUIRE(kubeconfig.ok());
  Operator op(cluster, "expiry-csr-op", "expiry");

  // As the kubelet: a client certificate request; an admin approves it; kcm signs it.
  auto request = [&](const std::string& out) {
    CommandResult created = cluster.Run("test/cluster/kubelet-csr.sh create --kubeconfig " +
                                        ShellQuote(*kubeconfig) + " --node " + node +
                                        " --type client --out " + ShellQuote(dir + "/" + out));
    INFO(created.err);
    REQUIRE(created.ok());
    std::string csr = Trim(created.out);
    REQUIRE(cluster.Kubectl("certificate approve " + csr).ok());
    CommandResult issued = cluster.Run("test/cluster/kubelet-csr.sh wait --timeout 60 --kubeconfig " +
                                       ShellQuote(*kubeconfig) + " --name " + csr + " --out " +
                                       ShellQuote(dir + "/" + out));
    INFO(issued.out + issued.err);
    REQUIRE(Trim(issued.out) == "issued");
    return csr;
  };
  const std::string first = request("first");
  const std::vector<std::string> of_node = {Label("source_kind", "csr"), Label("node", node)};
  INFO(op.Log());
  REQUIRE(op.WaitForSeries(of_node, 1));
  auto series = op.Series(of_node);
  CHECK(series[0].find(Label("name", first)) != std::string::npos);
  CHECK(series[0].find(Label("key", "status.certificate")) != std::string::npos);
  CHECK(series[0].find(Label("subject_cn", "system:node:" + node)) != std::string::npos);
  CHECK(ValueOf(series[0]) > 0);

  // A renewal: the node's newer certificate supersedes the first one. kcm's
  // certificates carry notBefore to the second, so wait for a new second.
  std::this_thread::sleep_for(1100ms);
  const std::string second = request("second");
  REQUIRE(Eventually([&] {
    auto s = op.Series(of_node);
    return s.size() == 1 && s[0].find(Label("name", second)) != std::string::npos;
  }, 30s));
  // The superseded CSR deleted later changes nothing; the current one deleted
  // brings the older back (it is still a valid certificate of the node).
  REQUIRE(cluster.Kubectl("delete csr " + second).ok());
  REQUIRE(Eventually([&] {
    auto s = op.Series(of_node);
    return s.size() == 1 && s[0].find(Label("name", first)) != std::string::npos;
  }, 30s));
  REQUIRE(cluster.Kubectl("delete csr " + first).ok());
  REQUIRE(op.WaitForSeries(of_node, 0));
  CHECK(op.Stop() == 0);
}

TEST_CASE("expiry: a TrustBundle with several certificates gives one series each",
          "[integration][expiry]") {
  const Cluster& cluster = RequireCluster();
  const std::string ns = FreshNamespace(cluster, "expiry-bundle");
  const std::string dir = cluster.ScratchDir("expiry-bundle");
  // The CRD (idempotent; other tests apply it too, client- or server-side).
  CommandResult crd;
  bool established = Eventually([&] {
    crd = cluster.Kubectl("apply --server-side --force-conflicts -f crds/certguard.io_trustbundles.yaml");
    if (!crd.ok()) return false;
    crd = cluster.Kubectl("wait --for condition=established --timeout=10s crd/trustbundles.certguard.io");
    return crd.ok();
  }, 60s);
  INFO(crd.out + crd.err);
  REQUIRE(established);

  std::random_device rd;
  const std::string bundle = "expiry-bundle-" + std::to_string(rd() % 1000000);
  std::vector<std::string> pems;
  for (int i = 0; i < 3; ++i) {
    pems.push_back(CertBuilder().Cn(bundle + "-ca-" + std::to_string(i)).Ca().Build().pem);
  }
  nlohmann::json tb = {
      {"apiVersion", "certguard.io/v1alpha1"},
      {"kind", "TrustBundle"},
      {"metadata", {{"name", bundle}}},
      {"spec",
       {{"sources", {{{"inline", JoinPem(pems)}}}},
        {"target", {{"configMap", {{"name", "cas"}, {"key", "ca.crt"}}}}},
        {"namespaces", {ns}}}}};
  WriteFile(dir + "/bundle.json", tb.dump());
  Operator op(cluster, "expiry-bundle-op", "trust,expiry");
  CommandResult applied = cluster.Kubectl("apply -f " + dir + "/bundle.json");
  INFO(applied.err);
  REQUIRE(applied.ok());

  const std::vector<std::string> of_bundle = {Label("source_kind", "trustbundle"),
                                              Label("name", bundle)};
  INFO(op.Log());
  REQUIRE(op.WaitForSeries(of_bundle, 3));
  std::set<std::string> cns;
  for (const auto& line : op.Series(of_bundle)) {
    std::smatch m;
    REQUIRE(std::regex_search(line, m, std::regex("subject_cn=\"([^\"]+)\"")));
    cns.insert(m[1]);
    CHECK(line.find(Label("key", "ca.crt")) != std::string::npos);
    CHECK(line.find(Label("is_ca", "true")) != std::string::npos);
  }
  CHECK(cns == std::set<std::string>{bundle + "-ca-0", bundle + "-ca-1", bundle + "-ca-2"});

  // `certs check-expiration --kubeconfig` lists the same certificates.
  CommandResult listed = cluster.Run(ShellQuote(CertguardBinary()) +
                                     " certs check-expiration -o json --kubeconfig " +
                                     ShellQuote(cluster.admin_kubeconfig()));
  INFO(listed.err);
  REQUIRE(listed.ok());
  auto doc = nlohmann::json::parse(listed.out, nullptr, false);
  REQUIRE(doc.is_array());
  int found = 0;
  for (const auto& e : doc) {
    if (e.value("source", "") == "trustbundle " + bundle + " ca.crt") {
      ++found;
      CHECK(e.value("isCA", false));
      CHECK(e.value("daysLeft", 0.0) > 0);
    }
  }
  CHECK(found == 3);

  // Deleting the bundle's target removes the series (the bundle has no other).
  REQUIRE(cluster.Kubectl("delete trustbundle " + bundle).ok());
  REQUIRE(cluster.Kubectl("-n " + ns + " delete configmap cas --ignore-not-found").ok());
  REQUIRE(op.WaitForSeries(of_bundle, 0));
  CHECK(op.Stop() == 0);
}

TEST_CASE("expiry: certs check-expiration --kubeconfig lists the cluster's certificates",
          "[integration][expiry]") {
  const Cluster& cluster = RequireCluster();
  const std::string ns = FreshNamespace(cluster, "expiry-check");
  const std::string dir = cluster.ScratchDir("expiry-check");
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  Cert soon = CertBuilder().Cn("expiring-soon").IssuedBy(TestCa()).NotBefore(now - 24h)
                  .NotAfter(now + 24h * 5).Build();
  WriteFile(dir + "/soon.crt", soon.pem);
  WriteFile(dir + "/soon.key", soon.key.PrivatePem());
  REQUIRE(cluster.Kubectl("-n " + ns + " create secret tls soon --cert " + dir + "/soon.crt --key " +
                          dir + "/soon.key").ok());
  WriteFile(dir + "/ca.crt", TestCa().pem);
  REQUIRE(cluster.Kubectl("-n " + ns + " create configmap picked --from-file=ca.crt=" + dir +
                          "/ca.crt").ok());
  REQUIRE(cluster.Kubectl("-n " + ns + " label configmap picked " + std::string(kSelector)).ok());

  const std::string cmd = ShellQuote(CertguardBinary()) + " certs check-expiration --kubeconfig " +
                          ShellQuote(cluster.admin_kubeconfig());
  CommandResult json_out = cluster.Run(cmd + " -o json --configmap-selector " + kSelector);
  INFO(json_out.err);
  REQUIRE(json_out.ok());
  auto doc = nlohmann::json::parse(json_out.out, nullptr, false);
  REQUIRE(doc.is_array());
  std::map<std::string, nlohmann::json> by_source;
  for (const auto& e : doc) by_source[e.value("source", "")] = e;
  REQUIRE(by_source.count("secret " + ns + "/soon tls.crt") == 1);
  const auto& s = by_source["secret " + ns + "/soon tls.crt"];
  CHECK(s.value("subject", "") == "CN=expiring-soon");
  CHECK(s.value("issuer", "") == "CN=expiry-test-ca");
  CHECK(s.value("daysLeft", 0.0) > 4.9);
  CHECK(s.value("daysLeft", 0.0) <= 5.0);
  CHECK(s.value("isCA", true) == false);
  REQUIRE(by_source.count("configmap " + ns + "/picked ca.crt") == 1);
  CHECK(by_source["configmap " + ns + "/picked ca.crt"].value("isCA", false));
  // The private key is never printed.
  CHECK(json_out.out.find("PRIVATE KEY") == std::string::npos);
  // Without the selector the ConfigMap is not read.
  CommandResult plain = cluster.Run(cmd + " -o json");
  REQUIRE(plain.ok());
  CHECK(plain.out.find(ns + "/picked") == std::string::npos);

  // The table, and --fail-within over the cluster's certificates.
  CommandResult table = cluster.Run(cmd);
  REQUIRE(table.ok());
  CHECK(table.out.find("secret " + ns + "/soon tls.crt") != std::string::npos);
  CHECK(table.out.find("CERTIFICATE AUTHORITY") != std::string::npos);
  CHECK(cluster.Run(cmd + " --fail-within 7d").exit_code == 1);

  // The inventory filters of `run`, without --expiry-: a namespace filtered out
  // is not in the table, the others are.
  const std::string kept = FreshNamespace(cluster, "expiry-check");
  REQUIRE(cluster.Kubectl("-n " + kept + " create secret tls soon --cert " + dir +
                          "/soon.crt --key " + dir + "/soon.key").ok());
  REQUIRE(cluster.Kubectl("label namespace " + ns + " certguard-test/check-skip=yes").ok());
  for (const std::string& filter :
       std::vector<std::string>{
           " --exclude-namespaces " + ns,
           " --exclude-namespace-selector certguard-test/check-skip=yes",
           " --include-namespaces 'expiry-check-*,kube-system' --exclude-namespaces " + ns}) {
    INFO(filter);
    CommandResult filtered = cluster.Run(cmd + filter);
    INFO(filtered.err);
    REQUIRE(filtered.ok());
    CHECK(filtered.out.find("secret " + ns + "/") == std::string::npos);
    CHECK(filtered.out.find("secret " + kept + "/soon tls.crt") != std::string::npos);
  }

  // --leaf-only: a chain Secret shows its leaf only (without it, leaf and CA).
  Cert chain_leaf = CertBuilder().Cn("chain-leaf").IssuedBy(TestCa()).NotBefore(now - 24h)
                        .NotAfter(now + 24h * 30).Build();
  WriteFile(dir + "/chain.crt", JoinPem({chain_leaf.pem, TestCa().pem}));
  WriteFile(dir + "/chain.key", chain_leaf.key.PrivatePem());
  REQUIRE(cluster.Kubectl("-n " + kept + " create secret tls chain --cert " + dir +
                          "/chain.crt --key " + dir + "/chain.key").ok());
  const std::string chain_source = "secret " + kept + "/chain tls.crt";
  auto rows_of_chain = [&](const std::string& text) {
    int n = 0;
    for (size_t at = text.find(chain_source); at != std::string::npos;
         at = text.find(chain_source, at + 1)) {
      ++n;
    }
    return n;
  };
  CommandResult whole = cluster.Run(cmd + " --include-namespaces " + kept);
  INFO(whole.err);
  REQUIRE(whole.ok());
  CHECK(rows_of_chain(whole.out) == 2);
  CommandResult leaf_only = cluster.Run(cmd + " --include-namespaces " + kept + " --leaf-only");
  INFO(leaf_only.err);
  REQUIRE(leaf_only.ok());
  CHECK(rows_of_chain(leaf_only.out) == 1);
  CHECK(leaf_only.out.find("chain-leaf") != std::string::npos);
  // A bad filter is a usage error, named as given.
  CommandResult bad = cluster.Run(cmd + " --include-namespaces Kube-System");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--include-namespaces: \"Kube-System\"") != std::string::npos);

  // --in-cluster finds the cluster as `run` does: here through $KUBECONFIG (the admin's).
  CommandResult found = cluster.Run(ShellQuote(CertguardBinary()) +
                                    " certs check-expiration --in-cluster -o json");
  INFO(found.err);
  REQUIRE(found.ok());
  CHECK(found.out.find("secret " + ns + "/soon tls.crt") != std::string::npos);

  // A kubeconfig that cannot be read: exit 2.
  CHECK(cluster.Run(ShellQuote(CertguardBinary()) +
                    " certs check-expiration --kubeconfig /nonexistent/kubeconfig").exit_code == 2);
}

TEST_CASE("expiry: runs under the RBAC of deploy/, and reads webhook caBundles when asked",
          "[integration][expiry]") {
  const Cluster& cluster = RequireCluster();
  const std::string ns = FreshNamespace(cluster, "expiry-rbac");
  const std::string dir = cluster.ScratchDir("expiry-rbac");
  const std::string sa = DeployedServiceAccountKubeconfig(cluster, dir);

  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  Cert cert = CertBuilder().Cn("rbac-web").IssuedBy(TestCa()).NotAfter(now + 24h * 60).Build();
  WriteFile(dir + "/web.crt", cert.pem);
  WriteFile(dir + "/web.key", cert.key.PrivatePem());
  REQUIRE(cluster.Kubectl("-n " + ns + " create secret tls web --cert " + dir + "/web.crt --key " +
                          dir + "/web.key").ok());
  {
    // The default sources need no more than the shipped ClusterRole (ready, no 403).
    Operator op(cluster, "expiry-rbac-op", "expiry",
                {"--expiry-secret-selector", kSelector, "--expiry-configmap-selector", kSelector}, sa);
    INFO(op.Log());
    REQUIRE(op.WaitForSeries({Label("namespace", ns), Label("subject_cn", "rbac-web")}, 1));
    CHECK(op.Log().find("Forbidden") == std::string::npos);
    CHECK(op.Stop() == 0);
  }
  {
    // Webhooks are not in the shipped ClusterRole (expiry.webhooks=false): refused, logged.
    std::vector<std::string> args = {"run", "--kubeconfig", sa, "--controllers", "expiry",
                                     "--leader-elect=false", "--metrics-bind-address", "0",
                                     "--health-bind-address", "0", "--expiry-webhooks"};
    CertguardProcess refused(args, dir + "/refused.log");
    CHECK(refused.WaitForLog("Forbidden", 30s));
    CHECK(refused.Stop() == 0);
  }

  // With the admin's rights: a webhook configuration's caBundle, one series per webhook.
  std::random_device rd;
  const std::string hooks = "expiry-hooks-" + std::to_string(rd() % 1000000);
  Cert other = CertBuilder().Cn(hooks + "-ca").Ca().Build();
  auto webhook = [&](const std::string& name, const std::string& pem) {
    return nlohmann::json{
        {"name", name},
        {"clientConfig", {{"url", "https://127.0.0.1:1/never"},
                          {"caBundle", Base64(pem)}}},
        {"rules", {{{"apiGroups", {"certguard-test.example.com"}}, {"apiVersions", {"v1"}},
                    {"operations", {"CREATE"}}, {"resources", {"widgets"}}}}},
        {"failurePolicy", "Ignore"},
        {"sideEffects", "None"},
        {"admissionReviewVersions", {"v1"}}};
  };
  nlohmann::json config = {
      {"apiVersion", "admissionregistration.k8s.io/v1"},
      {"kind", "ValidatingWebhookConfiguration"},
      {"metadata", {{"name", hooks}}},
      {"webhooks", {webhook("a.certguard-test.example.com", TestCa().pem),
                    webhook("b.certguard-test.example.com", JoinPem({TestCa().pem, other.pem}))}}};
  WriteFile(dir + "/hooks.json", config.dump());
  Operator op(cluster, "expiry-webhooks-op", "expiry", {"--expiry-webhooks"});
  REQUIRE(cluster.Kubectl("apply -f " + dir + "/hooks.json").ok());
  const std::vector<std::string> of_hooks = {Label("source_kind", "validatingwebhook"),
                                             Label("name", hooks)};
  INFO(op.Log());
  REQUIRE(op.WaitForSeries(of_hooks, 3));
  CHECK(op.Series({Label("name", hooks), Label("key", "b.certguard-test.example.com")}).size() == 2);
  REQUIRE(cluster.Kubectl("delete validatingwebhookconfiguration " + hooks).ok());
  REQUIRE(op.WaitForSeries(of_hooks, 0));
  CHECK(op.Stop() == 0);
}

// Namespace filters (by name and by label selector), leaf-only, Secret label
// passthrough and the opt-in for other signers' CSRs, on the real plane.
TEST_CASE("expiry: filters for big clusters", "[integration][expiry][filter]") {
  const Cluster& cluster = RequireCluster();
  auto admin = AdminClient(cluster, /*fast=*/true);
  const std::string in = FreshNamespace(cluster, "expf");
  const std::string out = FreshNamespace(cluster, "expf");
  const std::string unlabelled = FreshNamespace(cluster, "expf");
  const std::string elsewhere = FreshNamespace(cluster, "expiry-other");
  const std::string on = "certguard-test/expiry-filter=on";
  for (const auto& ns : {in, out, elsewhere}) {
    REQUIRE(cluster.Kubectl("label namespace " + ns + " " + on).ok());
  }
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  Cert leaf = CertBuilder().Cn("filter-leaf").IssuedBy(TestCa()).NotBefore(now - 1h)
                  .NotAfter(now + 24h * 20).Build();
  auto secret = [&](const std::string& ns) {
    nlohmann::json s = {
        {"apiVersion", "v1"},
        {"kind", "Secret"},
        {"type", "kubernetes.io/tls"},
        {"metadata",
         {{"name", "web"},
          {"namespace", ns},
          {"labels", {{"app.kubernetes.io/name", "shop"}, {"team", "payments"}}}}},
        {"data",
         {{"tls.crt", Base64(JoinPem({leaf.pem, TestCa().pem}))},
          {"tls.key", Base64(leaf.key.PrivatePem())}}}};
    auto r = admin->Create(kube::resources::kSecrets, ns, s);
    INFO(r.status().ToString());
    REQUIRE(r.ok());
  };
  for (const auto& ns : {in, out, unlabelled, elsewhere}) secret(ns);

  // An issued CSR of a signer of our own: approved, then its certificate set
  // through the status subresource as a signer would.
  const std::string csr_name = "expf-user-" + in.substr(in.rfind('-') + 1);
  nlohmann::json csr = {
      {"apiVersion", "certificates.k8s.io/v1"},
      {"kind", "CertificateSigningRequest"},
      {"metadata", {{"name", csr_name}}},
      {"spec",
       {{"signerName", "certguard-test.io/users"},
        {"request", Base64(certguard::testing::CsrBuilder().Cn("filter-user").Pem())},
        {"usages", {"digital signature", "client auth"}}}}};
  {
    auto created = admin->Create(kube::resources::kCertificateSigningRequests, "", csr);
    INFO(created.status().ToString());
    REQUIRE(created.ok());
    REQUIRE(cluster.Kubectl("certificate approve " + csr_name).ok());
    auto approved = admin->Get(kube::resources::kCertificateSigningRequests, "", csr_name);
    REQUIRE(approved.ok());
    Cert user = CertBuilder().Cn("filter-user").IssuedBy(TestCa()).NotAfter(now + 24h * 7).Build();
    (*approved)["status"]["certificate"] = Base64(user.pem);
    auto issued = admin->Update(kube::resources::kCertificateSigningRequests, "", *approved, "status");
    INFO(issued.status().ToString());
    REQUIRE(issued.ok());
  }

  // Without the opt-in, only the kubelet signers' CSRs count: once ready
  // (everything listed), the user CSR is not there.
  {
    Operator plain(cluster, "expiry-filter-plain", "expiry");
    INFO(plain.Log());
    CHECK(plain.Series({Label("name", csr_name)}).empty());
    // And without the filters every namespace's chain shows whole (leaf and CA).
    REQUIRE(plain.WaitForSeries({Label("namespace", unlabelled), Label("name", "web")}, 2));
    CHECK(plain.Series({Label("namespace", in)})[0].find("secret_label_") == std::string::npos);
    CHECK(plain.Stop() == 0);
  }

  Operator op(cluster, "expiry-filter-op", "expiry",
              {"--expiry-include-namespaces", "expf-*", "--expiry-exclude-namespaces", out,
               "--expiry-include-namespace-selector", on,
               "--expiry-exclude-namespace-selector", "certguard-test/expiry-skip=yes",
               "--expiry-leaf-only", "--expiry-secret-label-keys", "app.kubernetes.io/name,team",
               "--expiry-csr-signers", "all"});
  INFO(op.Log());
  // Included: one series (leaf-only), the Secret's labels on it.
  REQUIRE(op.WaitForSeries({Label("namespace", in), Label("name", "web")}, 1));
  auto web = op.Series({Label("namespace", in), Label("name", "web")});
  CHECK(web[0].find(Label("subject_cn", "filter-leaf")) != std::string::npos);
  CHECK(web[0].find(Label("secret_label_app_kubernetes_io_name", "shop")) != std::string::npos);
  CHECK(web[0].find(Label("secret_label_team", "payments")) != std::string::npos);
  // Excluded by name, by the include selector (no label), by the include names.
  CHECK(op.Series({Label("namespace", out)}).empty());
  CHECK(op.Series({Label("namespace", unlabelled)}).empty());
  CHECK(op.Series({Label("namespace", elsewhere)}).empty());
  // The user CSR counts with the opt-in; a non-Secret series has empty label columns.
  REQUIRE(op.WaitForSeries({Label("source_kind", "csr"), Label("name", csr_name)}, 1));
  auto user = op.Series({Label("name", csr_name)});
  CHECK(user[0].find(Label("subject_cn", "filter-user")) != std::string::npos);
  CHECK(user[0].find(Label("secret_label_team", "")) != std::string::npos);

  // A namespace whose labels come to match is read at once; one that comes to
  // match the exclude selector goes.
  REQUIRE(cluster.Kubectl("label namespace " + unlabelled + " " + on).ok());
  REQUIRE(op.WaitForSeries({Label("namespace", unlabelled), Label("name", "web")}, 1));
  REQUIRE(cluster.Kubectl("label namespace " + in + " certguard-test/expiry-skip=yes").ok());
  REQUIRE(op.WaitForSeries({Label("namespace", in)}, 0));
  // A change to a Secret of an excluded namespace stays out.
  REQUIRE(cluster.Kubectl("-n " + in + " label secret web team=other --overwrite").ok());
  REQUIRE(cluster.Kubectl("-n " + unlabelled + " label secret web team=other --overwrite").ok());
  REQUIRE(op.WaitForSeries({Label("namespace", unlabelled), Label("secret_label_team", "other")}, 1));
  CHECK(op.Series({Label("namespace", in)}).empty());
  CHECK(op.Stop() == 0);
  cluster.Kubectl("delete csr " + csr_name);
}

}  // namespace certguard::test
