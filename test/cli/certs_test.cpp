#include <sys/stat.h>

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

using namespace std::chrono;
using certguard::testing::CertBuilder;
using certguard::testing::Key;
using certguard::testing::TempDir;

namespace {

certguard::testing::CliRun Cli(const std::vector<std::string>& args) {
  return certguard::testing::RunCli({"certs", "check-expiration"}, args);
}

// One certificate that expires in 10 days, one CA in 3 years, a key and a broken file.
struct Files {
  TempDir dir;
  Files() {
    auto now = floor<seconds>(system_clock::now());
    auto ca = CertBuilder().Cn("ca").Ca().NotBefore(now - days{1}).NotAfter(now + days{1095}).Build();
    auto leaf = CertBuilder().Cn("leaf").IssuedBy(ca).Serial("ABCD")
                    .NotBefore(now - days{1}).NotAfter(now + days{10}).Build();
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
