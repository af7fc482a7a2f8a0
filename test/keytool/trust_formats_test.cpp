// The truststores of trust/formats.h read by Java's own keytool: the format's
// reference reader. keytool (Debian openjdk-17-jre-headless) must be on PATH:
// without it these tests fail, they do not pass empty.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "support/pki.h"
#include "support/temp_dir.h"
#include "trust/formats.h"
#include "x509/parse.h"

using namespace certguard::trust;
using certguard::testing::CertBuilder;
using certguard::testing::TempDir;
using certguard::x509::CertificateInfo;

namespace {

struct Run {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

Run Shell(const std::string& command) {
  Run r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) r.output.append(buf, n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

void RequireKeytool() {
  Run which = Shell("command -v keytool");
  INFO("keytool is not on PATH: install Debian's openjdk-17-jre-headless (hack/install-deps.sh)");
  REQUIRE(which.exit_code == 0);
}

// `keytool -list` of a store; no -storepass when `password` is not given, so
// keytool lists without checking integrity (its stdin is empty).
Run List(const std::string& path, const std::string& type, const std::string* password) {
  // English messages whatever the machine's locale; UTF-8 for a non-ASCII password.
  std::string cmd =
      "LC_ALL=C.UTF-8 keytool -J-Duser.language=en -J-Duser.country=US -list -v"
      " -keystore " +
      Quote(path) + " -storetype " + type;
  if (password != nullptr) cmd += " -storepass " + Quote(*password);
  return Shell(cmd + " </dev/null");
}

std::vector<CertificateInfo> Cas() {
  std::vector<CertificateInfo> out;
  for (const char* cn : {"alpha root", "bravo root", "charlie root"}) {
    auto info = certguard::x509::ParseCertificate(CertBuilder().Cn(cn).O("Example").Ca().Der());
    REQUIRE(info.ok());
    out.push_back(*info);
  }
  return out;
}

std::vector<std::string> Aliases(const std::vector<CertificateInfo>& certs) {
  // The aliases through the encoder's own function, checked against keytool's listing.
  std::vector<AliasInput> inputs;
  for (const auto& c : certs) {
    std::string hex;
    for (char ch : c.sha256_fingerprint) {
      if (ch != ':') hex += static_cast<char>(ch >= 'A' && ch <= 'F' ? ch - 'A' + 'a' : ch);
    }
    inputs.push_back({hex, c.subject});
  }
  return TruststoreAliases(inputs);
}

// keytool lists every certificate once, as a trusted entry under its alias,
// with its own SHA-256 fingerprint.
void CheckListing(const Run& run, const std::vector<CertificateInfo>& certs) {
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK(run.output.find("Your keystore contains " + std::to_string(certs.size()) + " entries") !=
        std::string::npos);
  auto aliases = Aliases(certs);
  for (size_t i = 0; i < certs.size(); ++i) {
    CHECK(run.output.find("Alias name: " + aliases[i] + "\n") != std::string::npos);
    CHECK(run.output.find("SHA256: " + certs[i].sha256_fingerprint + "\n") != std::string::npos);
  }
  size_t trusted = 0;
  for (size_t pos = 0;
       (pos = run.output.find("Entry type: trustedCertEntry", pos)) != std::string::npos; ++pos) {
    ++trusted;
  }
  CHECK(trusted == certs.size());
}

}  // namespace

TEST_CASE("keytool reads the JKS truststore with its password", "[keytool]") {
  RequireKeytool();
  TempDir dir;
  auto certs = Cas();
  const std::string pass = "changeit";
  auto jks = EncodeJks(certs, pass, certguard::x509::Time(std::chrono::seconds(1700000000)));
  REQUIRE(jks.ok());
  std::string path = dir.Write("trust.jks", *jks);
  CheckListing(List(path, "JKS", &pass), certs);
  CHECK(List(path, "JKS", &pass).output.find("Creation date: Nov 14, 2023") != std::string::npos);

  // The integrity digest is checked: a wrong password or a changed byte fails.
  const std::string wrong = "changeme";
  Run bad = List(path, "JKS", &wrong);
  CHECK(bad.exit_code != 0);
  CHECK(bad.output.find("password was incorrect") != std::string::npos);
  std::string tampered = *jks;
  tampered[tampered.size() - 30] ^= 0x01;  // inside the last certificate
  Run bad_bytes = List(dir.Write("tampered.jks", tampered), "JKS", &pass);
  CHECK(bad_bytes.exit_code != 0);
}

TEST_CASE("keytool reads the JKS truststore with a non-ASCII password", "[keytool]") {
  RequireKeytool();
  TempDir dir;
  auto certs = Cas();
  const std::string pass = "p\xC3\xA4ss-\xF0\x9F\x94\x91";  // a surrogate pair in Java
  auto jks = EncodeJks(certs, pass);
  REQUIRE(jks.ok());
  CheckListing(List(dir.Write("trust.jks", *jks), "JKS", &pass), certs);
}

TEST_CASE("keytool reads the PKCS#12 truststore with its password", "[keytool]") {
  RequireKeytool();
  TempDir dir;
  auto certs = Cas();
  const std::string pass = "changeit";
  auto p12 = EncodePkcs12Truststore(certs, pass);
  REQUIRE(p12.ok());
  std::string path = dir.Write("trust.p12", *p12);
  CheckListing(List(path, "PKCS12", &pass), certs);

  const std::string wrong = "changeme";
  Run bad = List(path, "PKCS12", &wrong);
  CHECK(bad.exit_code != 0);
  CHECK(bad.output.find("password was incorrect") != std::string::npos);
}

TEST_CASE("keytool reads the PKCS#12 truststore with an empty password", "[keytool]") {
  RequireKeytool();
  TempDir dir;
  auto certs = Cas();
  auto p12 = EncodePkcs12Truststore(certs, "");
  REQUIRE(p12.ok());
  CheckListing(List(dir.Write("trust.p12", *p12), "PKCS12", nullptr), certs);
}
