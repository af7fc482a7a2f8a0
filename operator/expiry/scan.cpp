#include "expiry/scan.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <system_error>

#include <re2/re2.h>

#include "expiry/kubeconfig_certs.h"
#include "x509/types.h"

namespace certguard::expiry {

namespace fs = std::filesystem;

namespace {

enum class FileRole { kAny, kCertificate, kKubeconfig, kSkip };

FileRole RoleInDirectory(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".crt" || ext == ".pem" || ext == ".cert" || ext == ".der") return FileRole::kCertificate;
  if (ext == ".conf" || ext == ".kubeconfig") return FileRole::kKubeconfig;
  return FileRole::kSkip;
}

Result<std::string> ReadFile(const fs::path& p) {
  std::error_code ec;
  auto size = fs::file_size(p, ec);
  if (ec) return NotFound(ec.message());
  if (size > x509::kMaxInputBytes) {
    return InvalidArgument("larger than " + std::to_string(x509::kMaxInputBytes) + " bytes");
  }
  std::ifstream in(p, std::ios::binary);
  if (!in) return Status(Code::kForbidden, "cannot open: " + std::error_code(errno, std::generic_category()).message());
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Internal("read error");
  return content;
}

class Scanner {
 public:
  std::vector<Finding> findings;

  void Path(const fs::path& p) {
    std::error_code ec;
    auto status = fs::status(p, ec);
    if (ec || !fs::exists(status)) {
      Error(p.string(), "no such file or directory");
      return;
    }
    if (fs::is_directory(status)) {
      Directory(p);
    } else {
      // Named explicitly: read whatever its name, but a .conf must be a kubeconfig.
      FileRole role = RoleInDirectory(p) == FileRole::kKubeconfig ? FileRole::kKubeconfig
                                                                   : FileRole::kAny;
      File(p, p.string(), role, /*in_directory=*/false);
    }
  }

 private:
  std::set<fs::path> visited_;

  void Error(std::string source, std::string message) {
    findings.push_back(Finding{std::move(source), std::nullopt, std::move(message)});
  }

  bool FirstVisit(const fs::path& p) {
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(p, ec);
    return visited_.insert(ec ? p : canonical).second;
  }

  void Directory(const fs::path& dir) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied,
                                             ec), end;
         !ec && it != end; it.increment(ec)) {
      std::error_code type_ec;
      if (fs::is_regular_file(it->path(), type_ec)) files.push_back(it->path());
    }
    if (ec) Error(dir.string(), "reading directory: " + ec.message());
    std::sort(files.begin(), files.end());

    // kubelet keeps every rotated certificate; NAME-current.pem points at the live one.
    static const RE2 kRotated(R"((.*)-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}\.pem)");
    for (const auto& f : files) {
      std::string prefix;
      std::string name = f.filename().string();
      if (RE2::FullMatch(name, kRotated, &prefix) &&
          fs::exists(f.parent_path() / (prefix + "-current.pem"), ec)) {
        continue;
      }
      FileRole role = RoleInDirectory(f);
      if (role != FileRole::kSkip) File(f, f.string(), role, /*in_directory=*/true);
    }
  }

  void File(const fs::path& p, const std::string& source, FileRole role, bool in_directory) {
    if (!FirstVisit(p)) return;
    auto content = ReadFile(p);
    if (!content.ok()) {
      Error(source, content.status().message());
      return;
    }
    if (role != FileRole::kCertificate && LooksLikeKubeconfig(*content)) {
      Kubeconfig(p, *content);
      return;
    }
    if (role == FileRole::kKubeconfig) {
      if (!in_directory) Error(source, "not a kubeconfig");
      return;  // a .conf in a directory that is not a kubeconfig is none of ours
    }
    Certificates(source, *content, in_directory);
  }

  void Certificates(const std::string& source, std::string_view content, bool quiet_if_none) {
    FileCertificates read = ReadCertificates(content);
    for (auto& cert : read.certs) findings.push_back(Finding{source, FactsOf(cert), ""});
    for (auto& e : read.errors) Error(source, e);
    if (read.certs.empty() && read.errors.empty() && !quiet_if_none) {
      Error(source, "no certificate found");
    }
  }

  void Kubeconfig(const fs::path& p, std::string_view content) {
    auto entries = KubeconfigCertificates(content);
    if (!entries.ok()) {
      Error(p.string(), entries.status().message());
      return;
    }
    for (const auto& e : *entries) {
      if (e.path.empty()) {
        Certificates(p.string() + " (" + e.label + ")", e.data, false);
        continue;
      }
      fs::path ref = e.path;
      if (ref.is_relative()) ref = p.parent_path() / ref;
      std::error_code ec;
      if (!fs::exists(ref, ec)) {
        Error(ref.string() + " (" + e.label + " in " + p.string() + ")",
              e.field + ": no such file");
        continue;
      }
      File(ref, ref.string() + " (" + e.label + " in " + p.string() + ")",
           FileRole::kCertificate, /*in_directory=*/false);
    }
  }
};

}  // namespace

std::vector<std::string> DefaultNodePaths(const std::string& root) {
  fs::path r = root;
  std::vector<std::string> out;
  std::error_code ec;
  if (fs::is_directory(r / "etc/kubernetes/pki", ec)) out.push_back((r / "etc/kubernetes/pki").string());
  std::vector<std::string> confs;
  if (fs::is_directory(r / "etc/kubernetes", ec)) {
    for (fs::directory_iterator it(r / "etc/kubernetes", ec), end; !ec && it != end;
         it.increment(ec)) {
      if (it->path().extension() == ".conf" && fs::is_regular_file(it->path(), ec)) {
        confs.push_back(it->path().string());
      }
    }
  }
  std::sort(confs.begin(), confs.end());
  out.insert(out.end(), confs.begin(), confs.end());
  if (fs::is_directory(r / "var/lib/kubelet/pki", ec)) {
    out.push_back((r / "var/lib/kubelet/pki").string());
  }
  return out;
}

std::vector<Finding> ScanPaths(const std::vector<std::string>& paths) {
  Scanner scanner;
  for (const auto& p : paths) scanner.Path(p);
  return std::move(scanner.findings);
}

}  // namespace certguard::expiry
