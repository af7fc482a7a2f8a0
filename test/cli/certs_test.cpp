#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "cli/app.h"
#include "cli/cli_support.h"
#include "support/pki.h"
#include "support/temp_dir.h"
#include "x509/pem.h"

using namespace std::chrono;
using certguard::testing::CertBuilder;
using certguard::testing::Key;
using certguard::testing::TempDir;

namespace {

certguard::testing::CliRun Cli(const std::vector<std::string>& args) {
  return certguard::testing::RunCli({"certs", "check-expiration"}, args);
}

// One certificate that expires in 10 days, one CA in 3 years, a key and a broken file.
// `later` moves both expiries on: a test that prints the table twice and
// compares gives them 12 hours, so that the residual times ("10d", "3y") do
// not turn over between the two runs.
struct Files {
  TempDir dir;
  explicit Files(hours later = hours{0}) {
    auto now = floor<seconds>(system_clock::now());
    auto ca = CertBuilder().Cn("ca").Ca().NotBefore(now - days{1}).NotAfter(now + days{1095} + later).Build();
    auto leaf = CertBuilder().Cn("leaf").IssuedBy(ca).Serial("ABCD")
                    .NotBefore(now - days{1}).NotAfter(now + days{10} + later).Build();
    dir.Write("pki/ca.crt", ca.pem);
    dir.Write("pki/leaf.pem", leaf.pem + leaf.key.PrivatePem());
    dir.Write("pki/broken.crt", "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n");
  }
  std::string pki() const { return dir.path() + "/pki"; }
};

}  // namespace

TEST_CASE("certs check-expiration prints the table, errors on stderr, exit 0", "[cli]") {
  Files f;
  auto r = Cli({"--path", f.pki()});
  CHECK(r.code == 0);
  CHECK(r.out.rfind("CERTIFICATE ", 0) == 0);
  CHECK(r.out.find("leaf ") != std::string::npos);
  CHECK(r.out.find("\nCERTIFICATE AUTHORITY ") != std::string::npos);
  CHECK(r.err.find("broken.crt: certificate 1: ") != std::string::npos);
  CHECK(r.out.find("PRIVATE") == std::string::npos);
}

TEST_CASE("certs check-expiration -o json is one array with errors as elements", "[cli]") {
  Files f;
  auto r = Cli({"--path", f.pki(), "-o", "json"});
  CHECK(r.code == 0);
  auto json = nlohmann::json::parse(r.out);
  REQUIRE(json.size() == 3);
  CHECK(json[0]["source"].get<std::string>().find("broken.crt") != std::string::npos);
  CHECK(json[0].contains("error"));
  CHECK(json[2]["serial"] == "ABCD");
  CHECK(json[2]["daysLeft"].get<double>() == Approx(10).margin(0.01));
  CHECK(json[2]["isCA"] == false);
  CHECK(r.out.find("PRIVATE") == std::string::npos);
}

TEST_CASE("certs check-expiration --fail-within exits 1 inside the window", "[cli]") {
  Files f;
  CHECK(Cli({"--path", f.pki(), "--fail-within", "30d"}).code == 1);
  CHECK(Cli({"--path", f.pki(), "--fail-within", "10d1h"}).code == 1);
  CHECK(Cli({"--path", f.pki(), "--fail-within", "9d23h"}).code == 0);
  CHECK(Cli({"--path", f.pki(), "--fail-within", "12h", "-o", "json"}).code == 0);
  // The window also covers CAs.
  CHECK(Cli({"--path", f.dir.path() + "/pki/ca.crt", "--fail-within", "1096d"}).code == 1);
}

TEST_CASE("certs check-expiration: bad arguments exit 2", "[cli]") {
  Files f;
  auto bad_window = Cli({"--path", f.pki(), "--fail-within", "a month"});
  CHECK(bad_window.code == 2);
  CHECK(bad_window.err.find("--fail-within") != std::string::npos);
  CHECK(bad_window.out.empty());
  CHECK(Cli({"--path", f.pki(), "-o", "yaml"}).code == 2);
  CHECK(Cli({"--path", f.dir.path() + "/nope"}).code == 2);
  CHECK(Cli({"--kubeconfig", "/nonexistent/kubeconfig"}).code == 2);  // unreadable kubeconfig
  CHECK(Cli({"--kubeconfig", "/nonexistent/kubeconfig", "--secret-selector", "a;b"}).code == 2);
  // --in-cluster with no cluster to be found ($KUBECONFIG names only missing files): exit 2.
  const char* saved = std::getenv("KUBECONFIG");
  std::string saved_value = saved ? saved : "";
  ::setenv("KUBECONFIG", "/nonexistent/a:/nonexistent/b", 1);
  auto none = Cli({"--in-cluster"});
  if (saved) ::setenv("KUBECONFIG", saved_value.c_str(), 1); else ::unsetenv("KUBECONFIG");
  CHECK(none.code == 2);
  CHECK(none.err.find("KUBECONFIG") != std::string::npos);
}

TEST_CASE("certs check-expiration never dies on a file: read errors, FIFOs, budgets", "[cli]") {
  Files f;
  std::filesystem::create_symlink("/proc/self/mem", f.pki() + "/mem.crt");
  std::filesystem::create_symlink("/proc/self/pagemap", f.pki() + "/pagemap.crt");
  REQUIRE(::mkfifo((f.pki() + "/fifo.crt").c_str(), 0600) == 0);
  f.dir.Write("pki/a/b/c/deep.crt", CertBuilder().Cn("deep").Pem());
  auto r = Cli({"--path", f.pki(), "-o", "json"});
  CHECK(r.code == 0);
  auto json = nlohmann::json::parse(r.out);
  auto error_of = [&](const std::string& name) -> std::string {
    for (const auto& item : json) {
      if (item["source"] == f.pki() + "/" + name && item.contains("error")) return item["error"];
    }
    return "";
  };
  CHECK(error_of("mem.crt") == "not read: on the proc pseudo file system");
  CHECK(error_of("pagemap.crt") == "not read: on the proc pseudo file system");
  CHECK(error_of("fifo.crt") == "not a regular file: a FIFO");
  auto has_cert = [](const nlohmann::json& items, const std::string& source) {
    for (const auto& item : items) {
      if (item["source"] == source && item.contains("notAfter")) return true;
    }
    return false;
  };
  CHECK(has_cert(json, f.pki() + "/a/b/c/deep.crt"));

  // The budgets are flags.
  auto shallow = Cli({"--path", f.pki(), "-o", "json", "--max-depth", "2", "--max-file-size", "100"});
  CHECK(shallow.code == 0);
  CHECK_FALSE(has_cert(nlohmann::json::parse(shallow.out), f.pki() + "/a/b/c/deep.crt"));
  CHECK(shallow.out.find("nested deeper than 2 levels") != std::string::npos);
  CHECK(shallow.out.find("larger than the size budget of 100 bytes") != std::string::npos);
  CHECK(Cli({"--path", f.pki(), "--max-depth", "0"}).code == 2);
  CHECK(Cli({"--path", f.pki(), "--max-file-size", "lots"}).code == 2);
  CHECK(Cli({"--path", f.pki(), "--max-file-size", "2MiB"}).code == 0);
}

namespace {

// The OKD 4.15 api-int outage: loadbalancer-serving-ca rotated (old + new CA in
// the reference bundle), the node kubeconfigs (no extension) kept the old CA.
struct ApiIntOutage {
  TempDir dir;
  sys_seconds now = floor<seconds>(system_clock::now());
  certguard::testing::Cert old_ca = CertBuilder().Cn("kube-apiserver-lb-signer").Ca()
                                        .NotBefore(now - days{400}).NotAfter(now + days{3250}).Build();
  certguard::testing::Cert new_ca = CertBuilder().Cn("kube-apiserver-lb-signer-new").Ca()
                                        .NotBefore(now - days{1}).NotAfter(now + days{3650}).Build();
  certguard::testing::Cert client = CertBuilder().Cn("system:node:worker-1").IssuedBy(old_ca)
                                        .NotBefore(now - days{1}).NotAfter(now + days{300}).Build();
  ApiIntOutage() {
    dir.Write("bundle/ca-bundle.crt", old_ca.pem + new_ca.pem);
    dir.Write("node/etc/kubernetes/kubeconfig", Kubeconfig(old_ca.pem));
    dir.Write("node/var/lib/kubelet/kubeconfig", Kubeconfig(old_ca.pem));
  }
  std::string Kubeconfig(const std::string& ca_pem) const {
    return "apiVersion: v1\nkind: Config\nclusters:\n- name: api-int\n  cluster:\n"
           "    server: https://api-int.example:6443\n    certificate-authority-data: " +
           certguard::testing::Base64(ca_pem) + "\nusers:\n- name: kubelet\n  user:\n    client-certificate-data: " +
           certguard::testing::Base64(client.pem) + "\n";
  }
  std::string bundle() const { return dir.path() + "/bundle/ca-bundle.crt"; }
  std::string etc() const { return dir.path() + "/node/etc/kubernetes"; }
  std::string kubelet() const { return dir.path() + "/node/var/lib/kubelet/kubeconfig"; }
};

}  // namespace

TEST_CASE("certs check-expiration --trust-bundle: the api-int outage is a trust gap, exit 1", "[cli]") {
  ApiIntOutage o;
  // A directory (the extensionless kubeconfig is found) and a single file.
  auto r = Cli({"--path", o.etc(), "--path", o.kubelet(), "--trust-bundle", o.bundle(), "-o", "json"});
  CHECK(r.code == 0);
  auto json = nlohmann::json::parse(r.out);
  int kubeconfig_entries = 0;
  for (const auto& e : json) {
    const std::string source = e["source"];
    REQUIRE(e.contains("trust_gap"));
    CHECK(e["trust_gap"] == nlohmann::json::array({"CN=kube-apiserver-lb-signer-new"}));
    CHECK((source.find("/etc/kubernetes/kubeconfig (") != std::string::npos ||
           source.find("/var/lib/kubelet/kubeconfig (") != std::string::npos));
    ++kubeconfig_entries;
  }
  CHECK(kubeconfig_entries == 4);  // cluster CA and user certificate of each
  CHECK(Cli({"--path", o.etc(), "--path", o.kubelet(), "--trust-bundle", o.bundle(),
             "--fail-on-trust-gap"}).code == 1);

  auto table = Cli({"--path", o.kubelet(), "--trust-bundle", o.bundle()});
  CHECK(table.code == 0);
  CHECK(table.out.find("TRUST GAP") != std::string::npos);
  CHECK(table.out.find("CN=kube-apiserver-lb-signer-new") != std::string::npos);
  CHECK(table.err.find("kubeconfig: trust gap: lacks [CN=kube-apiserver-lb-signer-new]") != std::string::npos);
}

TEST_CASE("certs check-expiration --trust-bundle: the fixed kubeconfig has no gap", "[cli]") {
  ApiIntOutage o;
  o.dir.Write("node/var/lib/kubelet/kubeconfig", o.Kubeconfig(o.old_ca.pem + o.new_ca.pem));
  auto r = Cli({"--path", o.kubelet(), "--trust-bundle", o.bundle(), "-o", "json", "--fail-on-trust-gap"});
  CHECK(r.code == 0);
  auto json = nlohmann::json::parse(r.out);
  REQUIRE(json.size() == 3);  // two CAs and the client certificate
  for (const auto& e : json) CHECK(e["trust_gap"] == nlohmann::json::array());
  auto table = Cli({"--path", o.kubelet(), "--trust-bundle", o.bundle()});
  CHECK(table.out.find("TRUST GAP") != std::string::npos);
  CHECK(table.err.find("trust gap") == std::string::npos);
}

TEST_CASE("certs check-expiration --trust-bundle: a certificate-authority file and garbage CA data", "[cli]") {
  ApiIntOutage o;
  o.dir.Write("node/etc/kubernetes/ca.crt", o.old_ca.pem);
  o.dir.Write("node/etc/kubernetes/kubelet.conf",
              "apiVersion: v1\nkind: Config\nclusters:\n- name: k\n  cluster:\n    server: https://x:6443\n"
              "    certificate-authority: ca.crt\nusers:\n- name: u\n  user:\n    token: t\n");
  auto r = Cli({"--path", o.etc() + "/kubelet.conf", "--trust-bundle", o.bundle(), "-o", "json"});
  auto json = nlohmann::json::parse(r.out);
  REQUIRE(json.size() == 1);
  CHECK(json[0]["trust_gap"] == nlohmann::json::array({"CN=kube-apiserver-lb-signer-new"}));
  // Garbage in certificate-authority-data: an error entry with the gap, no crash.
  o.dir.Write("node/var/lib/kubelet/kubeconfig",
              "apiVersion: v1\nkind: Config\nclusters:\n- name: k\n  cluster:\n    server: https://x:6443\n"
              "    certificate-authority-data: " + certguard::testing::Base64("garbage") + "\n");
  r = Cli({"--path", o.kubelet(), "--trust-bundle", o.bundle(), "-o", "json", "--fail-on-trust-gap"});
  CHECK(r.code == 1);
  json = nlohmann::json::parse(r.out);
  REQUIRE(json.size() == 1);
  for (const auto& e : json) {
    CHECK(e.contains("error"));
    CHECK(e["trust_gap"].size() == 2);
    CHECK(e["trust_gap_reasons"][0].get<std::string>().find("certificate-authority-data: ") != std::string::npos);
  }
}

TEST_CASE("certs check-expiration: without --trust-bundle no trust gap, and the flags' refusals", "[cli]") {
  ApiIntOutage o;
  auto r = Cli({"--path", o.kubelet(), "-o", "json"});
  CHECK(r.code == 0);
  for (const auto& e : nlohmann::json::parse(r.out)) CHECK_FALSE(e.contains("trust_gap"));
  CHECK(Cli({"--path", o.kubelet()}).out.find("TRUST GAP") == std::string::npos);
  auto refused = Cli({"--path", o.kubelet(), "--fail-on-trust-gap"});
  CHECK(refused.code == 2);
  CHECK(refused.err.find("--fail-on-trust-gap needs --trust-bundle") != std::string::npos);
  CHECK(Cli({"--path", o.kubelet(), "--trust-bundle", o.dir.path() + "/missing.crt"}).code == 2);
  // A bundle without a certificate is an error line; nothing to lack.
  o.dir.Write("empty.crt", "nothing here\n");
  auto empty = Cli({"--path", o.kubelet(), "--trust-bundle", o.dir.path() + "/empty.crt",
                    "--fail-on-trust-gap"});
  CHECK(empty.code == 0);
  CHECK(empty.err.find("certguard: trust bundle: " + o.dir.path() + "/empty.crt: neither PEM nor") != std::string::npos);
}

TEST_CASE("certs check-expiration --trust-path compares only the kubeconfigs named", "[cli]") {
  ApiIntOutage o;
  // A control plane's localhost kubeconfig trusts another CA: out of scope, no trust_gap.
  o.dir.Write("node/etc/kubernetes/static-pod-resources/kubeconfig",
              o.Kubeconfig(CertBuilder().Cn("localhost-serving-signer").Ca().Pem()));
  auto r = Cli({"--path", o.etc(), "--trust-bundle", o.bundle(), "--trust-path", o.etc() + "/kubeconfig",
                "-o", "json"});
  auto json = nlohmann::json::parse(r.out);
  int compared = 0, left = 0;
  for (const auto& e : json) {
    const std::string source = e["source"];
    if (source.find("static-pod-resources") != std::string::npos) {
      CHECK_FALSE(e.contains("trust_gap"));
      ++left;
    } else {
      CHECK(e["trust_gap"].size() == 1);
      ++compared;
    }
  }
  CHECK(compared == 2);
  CHECK(left == 2);
  // Without --trust-path it is compared too, and lacks both CAs.
  r = Cli({"--path", o.etc(), "--trust-bundle", o.bundle(), "-o", "json"});
  for (const auto& e : nlohmann::json::parse(r.out)) {
    if (e["source"].get<std::string>().find("static-pod-resources") != std::string::npos) {
      CHECK(e["trust_gap"].size() == 2);
    }
  }
}

TEST_CASE("certs check-expiration takes the inventory filters of run, without --expiry-",
          "[cli]") {
  Files f(hours{12});
  // Accepted (they act on the cluster's inventory only): the files' table is unchanged.
  auto plain = Cli({"--path", f.pki()});
  auto filtered = Cli({"--path", f.pki(), "--include-namespaces", "team-*,apps",
                       "--exclude-namespaces", "kube-system", "--include-namespace-selector",
                       "tier in (web,api)", "--exclude-namespace-selector", "scratch",
                       "--leaf-only", "--csr-signers", "all"});
  CHECK(filtered.code == 0);
  CHECK(filtered.out == plain.out);
  CHECK(Cli({"--path", f.pki(), "--csr-signers", "kubelet"}).code == 0);
  // run's names are not this command's.
  for (const char* run_only : {"--expiry-leaf-only", "--expiry-include-namespaces=a",
                               "--secret-label-keys=team"}) {
    INFO(run_only);
    auto r = Cli({"--path", f.pki(), run_only});
    CHECK(r.code == 2);
    CHECK(r.out.empty());
  }
}

TEST_CASE("certs check-expiration refuses bad inventory filters, naming the flag as given",
          "[cli]") {
  Files f;
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"--include-namespaces", "Apps"}, "--include-namespaces: \"Apps\" is not a namespace"},
           {{"--exclude-namespaces", "a/b"}, "--exclude-namespaces: \"a/b\" is not a namespace"},
           {{"--exclude-namespaces", "ok,te*m/x"}, "--exclude-namespaces: \"te*m/x\" is not a"},
           {{"--include-namespace-selector", "team in (a"}, "--include-namespace-selector: "},
           {{"--exclude-namespace-selector", "x=$(id)"}, "--exclude-namespace-selector: "},
           {{"--csr-signers", "some"}, "--csr-signers: \"some\" is neither kubelet nor all"},
           {{"--csr-signers", ""}, "--csr-signers: \"\" is neither kubelet nor all"},
           // The selectors it had already are named as given too.
           {{"--secret-selector", "a;b"}, "--secret-selector: \"a;b\" is not a label selector"},
       }) {
    std::vector<std::string> args = {"--path", f.pki()};
    args.insert(args.end(), c.args.begin(), c.args.end());
    INFO(c.args[0] << " " << c.args[1]);
    auto r = Cli(args);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find("certguard: " + c.message) != std::string::npos);
    CHECK(r.err.find("--expiry-") == std::string::npos);
  }
}
