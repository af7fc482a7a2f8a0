#include "support/csr_oracle.h"

#include <openssl/objects.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <vector>

namespace certguard::testing {
namespace {

bool Executable(const std::string& path) {
  return !path.empty() && ::access(path.c_str(), X_OK) == 0;
}

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;  // libFuzzer's timeout alarm interrupts I/O
    if (n <= 0) throw std::runtime_error("csr-oracle: write failed (process gone?)");
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// "CN" -> "2.5.4.3"; a dotted OID stays itself.
std::string Dotted(const std::string& name) {
  ASN1_OBJECT* obj = OBJ_txt2obj(name.c_str(), 0);
  if (obj == nullptr) return name;
  char buf[128];
  int n = OBJ_obj2txt(buf, sizeof(buf), obj, 1);
  ASN1_OBJECT_free(obj);
  return n > 0 && n < static_cast<int>(sizeof(buf)) ? std::string(buf, static_cast<size_t>(n))
                                                    : name;
}

std::vector<std::string> Strings(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& v : j) out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

std::string List(const std::vector<std::string>& v) {
  std::string out = "[";
  for (const auto& s : v) out += (out.size() > 1 ? ", " : "") + s;
  return out + "]";
}

const char* AlgName(x509::KeyAlgorithm a) {
  switch (a) {
    case x509::KeyAlgorithm::kRsa:
      return "RSA";
    case x509::KeyAlgorithm::kEcdsa:
      return "ECDSA";
    case x509::KeyAlgorithm::kEd25519:
      return "Ed25519";
    default:
      return "unknown";
  }
}

}  // namespace

std::string FindCsrOracle() {
  if (const char* env = std::getenv("CERTGUARD_CSR_ORACLE"); env != nullptr && *env != '\0') {
    return Executable(env) ? env : "";
  }
  if (const char* tools = std::getenv("CERTGUARD_TOOLS"); tools != nullptr && *tools != '\0') {
    std::string p = std::string(tools) + "/csr-oracle";
    if (Executable(p)) return p;
  }
#ifdef CERTGUARD_SOURCE_DIR
  std::string cmd =
      std::string("bash '") + CERTGUARD_SOURCE_DIR + "/hack/tools/csr-oracle/build.sh'";
  if (FILE* f = ::popen(cmd.c_str(), "r"); f != nullptr) {
    char buf[4096];
    std::string out;
    while (size_t n = std::fread(buf, 1, sizeof(buf), f)) out.append(buf, n);
    const int rc = ::pclose(f);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    if (rc == 0 && Executable(out)) return out;
  }
#endif
  return "";
}

CsrOracle::CsrOracle(const std::string& path) {
  int in[2], out[2];
  if (::pipe(in) != 0) return;
  if (::pipe(out) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::close(in[0]);
    ::close(in[1]);
    ::close(out[0]);
    ::close(out[1]);
    ::execl(path.c_str(), path.c_str(), "-stream", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  if (pid < 0) {
    ::close(in[1]);
    ::close(out[0]);
    return;
  }
  ::signal(SIGPIPE, SIG_IGN);  // a dead oracle is an error from write, not a signal
  pid_ = pid;
  to_ = in[1];
  from_ = out[0];
}

CsrOracle::~CsrOracle() {
  if (to_ >= 0) ::close(to_);
  if (from_ >= 0) ::close(from_);
  if (pid_ > 0) {
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

nlohmann::json CsrOracle::Parse(std::string_view csr) {
  if (!running()) throw std::runtime_error("csr-oracle: not running");
  const auto n = static_cast<uint32_t>(csr.size());
  const char header[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                          static_cast<char>(n >> 8), static_cast<char>(n)};
  WriteAll(to_, std::string_view(header, 4));
  WriteAll(to_, csr);
  size_t nl;
  while ((nl = buffer_.find('\n')) == std::string::npos) {
    char buf[4096];
    ssize_t got = ::read(from_, buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw std::runtime_error("csr-oracle: no answer (process gone?)");
    buffer_.append(buf, static_cast<size_t>(got));
  }
  std::string line = buffer_.substr(0, nl);
  buffer_.erase(0, nl + 1);
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw std::runtime_error("csr-oracle: bad answer " + line);
  return j;
}

std::string CompareWithOracle(const x509::CsrInfo& ours, const nlohmann::json& go) {
  std::string diff;
  auto differ = [&](const std::string& what, const std::string& a, const std::string& b) {
    if (a != b) diff += what + ": certguard " + a + ", Go " + b + "; ";
  };
  if (!go.value("ok", false)) {
    const std::string error = go.value("error", std::string("?"));
    if (!ours.sans.uris.empty() && error.rfind("x509: cannot parse URI", 0) == 0) return "";
    return "Go refuses what certguard accepts: " + error;
  }

  std::vector<std::string> our_subject, go_subject;
  for (const auto& [type, value] : ours.subject.attributes)
    our_subject.push_back(Dotted(type) + "=" + value);
  for (const auto& a : go["subject"]) {
    go_subject.push_back(
        a["type"].get<std::string>() + "=" +
        (a["value"].is_string() ? a["value"].get<std::string>() : "<not a string>"));
  }
  differ("subject", List(our_subject), List(go_subject));
  auto cns = ours.subject.Values("CN");
  differ("CN (Go keeps the last)", cns.empty() ? "" : cns.back(), go.value("cn", ""));
  differ("O", List(ours.subject.Values("O")), List(Strings(go["o"])));

  differ("DNS SANs", List(ours.sans.dns), List(Strings(go["dns"])));
  std::vector<std::string> ips;
  for (const auto& ip : ours.sans.ips) ips.push_back(ip.ToString());
  differ("IP SANs", List(ips), List(Strings(go["ips"])));
  differ("email SANs", List(ours.sans.emails), List(Strings(go["emails"])));
  // Go prints a URI re-escaped by net/url (` as %60, a lower-cased scheme): only the
  // count is compared. certguard's policy refuses every URI SAN (SANTypeNotAllowed).
  differ("URI SAN count", std::to_string(ours.sans.uris.size()),
         std::to_string(Strings(go["uris"]).size()));

  std::vector<std::string> exts;
  if (!ours.sans.empty()) exts.push_back("2.5.29.17");
  for (const auto& e : ours.other_extensions) exts.push_back(Dotted(e));
  std::vector<std::string> go_exts = Strings(go["extensions"]);
  std::sort(exts.begin(), exts.end());
  std::sort(go_exts.begin(), go_exts.end());
  differ("extensions", List(exts), List(go_exts));

  const auto& key = go["key"];
  differ("key algorithm", AlgName(ours.key.algorithm), key.value("alg", ""));
  differ("key bits", std::to_string(ours.key.bits), std::to_string(key.value("bits", -1)));
  differ("curve", ours.key.curve, key.value("curve", ""));
  differ("signature", ours.signature_valid ? "valid" : "invalid",
         go.value("signatureOK", false) ? "valid" : "invalid");
  return diff;
}

}  // namespace certguard::testing
