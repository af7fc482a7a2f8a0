#include "expiry/scan.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

#include <re2/re2.h>

#include "common/rooted_fs.h"
#include "expiry/kubeconfig_certs.h"
#include "x509/read.h"

namespace certguard::expiry {

namespace fs = std::filesystem;
using common::RootedFs;
using common::UniqueFd;

namespace {

// kSniff: a kubeconfig if it is one (OKD's /etc/kubernetes/kubeconfig has no
// extension), else none of ours and skipped quietly.
enum class FileRole { kAny, kCertificate, kKubeconfig, kSniff, kSkip };

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

FileRole RoleInDirectory(const std::string& name) {
  const std::string ext = Lower(fs::path(name).extension().string());
  if (ext == ".crt" || ext == ".pem" || ext == ".cert" || ext == ".der") return FileRole::kCertificate;
  if (ext == ".conf" || ext == ".kubeconfig") return FileRole::kKubeconfig;
  if (ext.empty() || Lower(name).find("kubeconfig") != std::string::npos) return FileRole::kSniff;
  return FileRole::kSkip;
}

std::string Join(const std::string& dir, const std::string& name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

// A path relative to the kubeconfig that names it, lexically, as kubectl does.
std::string Beside(const std::string& file, const std::string& ref) {
  if (!ref.empty() && ref[0] == '/') return ref;
  return (fs::path(file).parent_path() / ref).string();
}

class Scanner {
 public:
  Scanner(RootedFs fs, const ScanOptions& options) : fs_(std::move(fs)), options_(options) {
    limits_.max_bytes = options.max_file_bytes;
    limits_.max_time = options.file_time_budget;
  }

  std::vector<Finding> findings;
  std::vector<ScannedKubeconfig> kubeconfigs;

  void Path(const std::string& display) {
    if (Stopped(display)) return;
    std::string resolve = display;
    if (options_.root == "/" && (display.empty() || display[0] != '/')) {
      // Relative to the working directory, as the user typed it.
      std::error_code ec;
      resolve = fs::absolute(display, ec).string();
    }
    auto fd = fs_.OpenPath(resolve, O_PATH);
    if (!fd.ok()) {
      Error(display, fd.status().message());
      return;
    }
    struct stat st;
    if (::fstat(fd->get(), &st) != 0) {
      Error(display, common::ErrnoText(errno));
      return;
    }
    if (S_ISDIR(st.st_mode)) {
      std::string d = display, r = resolve;
      Directory(fd->get(), d, r, 0);
      return;
    }
    // Named explicitly: read whatever its name, but a .conf must be a kubeconfig.
    FileRole role = RoleInDirectory(fs::path(display).filename().string()) == FileRole::kKubeconfig
                        ? FileRole::kKubeconfig
                        : FileRole::kAny;
    File(fd->get(), [&] { return fs_.OpenPath(resolve, O_RDONLY | O_NONBLOCK); }, display, resolve,
         role, /*in_directory=*/false);
  }

 private:
  RootedFs fs_;
  ScanOptions options_;
  common::ReadLimits limits_;
  std::set<std::pair<dev_t, ino_t>> visited_;
  bool stopped_ = false;
  std::string kubeconfig_;  // the kubeconfig being read, whose findings these are

  void Error(std::string source, std::string message) {
    findings.push_back(Finding{std::move(source), std::nullopt, std::move(message), kubeconfig_});
  }

  // Checked before each input: a cancelled scan ends quietly, one over its
  // deadline says where it stopped.
  bool Stopped(const std::string& next) {
    if (stopped_) return true;
    if (options_.cancelled && options_.cancelled()) {
      stopped_ = true;
    } else if (std::chrono::steady_clock::now() > options_.deadline) {
      stopped_ = true;
      Error(next, "not read: the scan went over its time budget; this and what follows were skipped");
    }
    return stopped_;
  }

  // `display` and `resolve` grow by one component per level and are cut back
  // on return: one string each, whatever the depth.
  void Directory(int dir_fd, std::string& display, std::string& resolve, int depth) {
    auto entries = common::ListDirectory(dir_fd);
    if (!entries.ok()) {
      Error(display, "reading directory: " + entries.status().message());
      return;
    }
    // kubelet keeps every rotated certificate; NAME-current.pem points at the live one.
    static const RE2 kRotated(R"((.*)-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}\.pem)");
    auto listed = [&](const std::string& name) {
      return std::binary_search(entries->begin(), entries->end(), common::DirEntry{name, 0},
                                [](const auto& a, const auto& b) { return a.name < b.name; });
    };
    const size_t display_size = display.size(), resolve_size = resolve.size();
    for (const common::DirEntry& e : *entries) {
      display = Join(display, e.name);
      resolve = Join(resolve, e.name);
      if (Stopped(display)) return;
      Entry(dir_fd, e, display, resolve, depth, listed, kRotated);
      display.resize(display_size);
      resolve.resize(resolve_size);
    }
  }

  template <typename Listed>
  void Entry(int dir_fd, const common::DirEntry& e, std::string& display, std::string& resolve,
             int depth, const Listed& listed, const RE2& rotated) {
    if (S_ISDIR(e.type)) {
      if (depth + 1 > options_.max_depth) {
        Error(display, "directory not read: nested deeper than " + std::to_string(options_.max_depth) +
                           " levels (the depth budget)");
        return;
      }
      auto sub = common::OpenSubdirectory(dir_fd, e.name);
      if (!sub.ok()) {
        Error(display, sub.status().message());
        return;
      }
      Directory(sub->get(), display, resolve, depth + 1);
      return;
    }
    FileRole role = RoleInDirectory(e.name);
    if (role == FileRole::kSkip || e.type == 0) return;
    if (role == FileRole::kSniff && !S_ISREG(e.type) && !S_ISLNK(e.type)) return;
    std::string prefix;
    if (RE2::FullMatch(e.name, rotated, &prefix) && listed(prefix + "-current.pem")) return;

    if (S_ISREG(e.type)) {
      auto fd = RootedFs::OpenAt(dir_fd, e.name, O_PATH);
      if (!fd.ok()) {
        Error(display, fd.status().message());
        return;
      }
      File(fd->get(), [&] { return RootedFs::OpenAt(dir_fd, e.name, O_RDONLY | O_NONBLOCK); }, display,
           resolve, role, /*in_directory=*/true);
      return;
    }
    if (S_ISLNK(e.type)) {
      // Followed under the root, whatever it points at.
      auto fd = fs_.OpenPath(resolve, O_PATH);
      if (!fd.ok()) {
        Error(display, "symbolic link: " + fd.status().message());
        return;
      }
      struct stat st;
      if (::fstat(fd->get(), &st) == 0 && S_ISDIR(st.st_mode)) return;  // never walked: no loops
      if (role == FileRole::kSniff && !S_ISREG(st.st_mode)) return;
      File(fd->get(), [&] { return fs_.OpenPath(resolve, O_RDONLY | O_NONBLOCK); }, display, resolve,
           role, /*in_directory=*/true);
      return;
    }
    Error(display, "not a regular file: " + common::FileKind(e.type));
  }

  void File(int path_fd, const common::Reopen& reopen, const std::string& source,
            const std::string& resolve, FileRole role, bool in_directory) {
    struct stat st;
    if (::fstat(path_fd, &st) == 0 && S_ISREG(st.st_mode) &&
        !visited_.insert({st.st_dev, st.st_ino}).second) {
      return;  // read already, under another name
    }
    if (role == FileRole::kSniff && static_cast<size_t>(st.st_size) > options_.max_file_bytes) {
      return;  // a large file without an extension is no kubeconfig
    }
    auto content = common::ReadRegularFile(path_fd, limits_, reopen);
    if (!content.ok()) {
      Error(source, content.status().message());
      return;
    }
    if (role != FileRole::kCertificate && LooksLikeKubeconfig(*content)) {
      Kubeconfig(source, resolve, *content);
      return;
    }
    if (role == FileRole::kKubeconfig || role == FileRole::kSniff) {
      if (!in_directory) Error(source, "not a kubeconfig");
      return;  // a .conf in a directory that is not a kubeconfig is none of ours
    }
    Certificates(source, *content, in_directory);
  }

  void Certificates(const std::string& source, std::string_view content, bool quiet_if_none) {
    x509::FileCertificates read = x509::ReadCertificates(content);
    for (auto& cert : read.certs) findings.push_back(Finding{source, FactsOf(cert), "", kubeconfig_});
    for (auto& e : read.errors) Error(source, e);
    if (read.certs.empty() && read.errors.empty() && !quiet_if_none) {
      Error(source, "no certificate found");
    }
  }

  void Kubeconfig(const std::string& display, const std::string& resolve, std::string_view content) {
    kubeconfig_ = display;
    Trust(display, resolve, content);
    KubeconfigFindings(display, resolve, content);
    kubeconfig_.clear();
  }

  // Whom each cluster entry trusts. A certificate-authority file is read again
  // here even when its certificates were listed already.
  void Trust(const std::string& display, const std::string& resolve, std::string_view content) {
    ScannedKubeconfig scanned{display, {}};
    auto clusters = KubeconfigClusters(content);
    if (!clusters.ok()) {
      scanned.clusters.push_back(ClusterTrust{"(unreadable)", "", "", "", clusters.status().message()});
      kubeconfigs.push_back(std::move(scanned));
      return;
    }
    for (auto& c : *clusters) {
      ClusterTrust t{c.name, c.server, "", std::move(c.ca_data), c.ca_error, c.insecure};
      if (t.ca_error.empty() && !t.ca.empty()) t.ca_source = "certificate-authority-data";
      if (t.ca_error.empty() && t.ca.empty() && !c.ca_path.empty()) {
        t.ca_source = "certificate-authority " + c.ca_path;
        const std::string ref = Beside(resolve, c.ca_path);
        auto fd = fs_.OpenPath(ref, O_PATH);
        if (!fd.ok()) {
          t.ca_error = "certificate-authority " + c.ca_path + ": " +
                       (fd.status().code() == Code::kNotFound ? "no such file" : fd.status().message());
        } else if (auto read = common::ReadRegularFile(
                       fd->get(), limits_, [&] { return fs_.OpenPath(ref, O_RDONLY | O_NONBLOCK); });
                   !read.ok()) {
          t.ca_error = "certificate-authority " + c.ca_path + ": " + read.status().message();
        } else {
          t.ca = std::move(*read);
        }
      }
      scanned.clusters.push_back(std::move(t));
    }
    kubeconfigs.push_back(std::move(scanned));
  }

  void KubeconfigFindings(const std::string& display, const std::string& resolve,
                          std::string_view content) {
    auto entries = KubeconfigCertificates(content);
    if (!entries.ok()) {
      Error(display, entries.status().message());
      return;
    }
    for (const auto& e : *entries) {
      if (e.path.empty()) {
        Certificates(display + " (" + e.label + ")", e.data, false);
        continue;
      }
      // An absolute reference is a path on the node: under the root too.
      const std::string ref_display = Beside(display, e.path);
      const std::string ref_resolve = Beside(resolve, e.path);
      const std::string source = ref_display + " (" + e.label + " in " + display + ")";
      if (Stopped(source)) return;
      auto fd = fs_.OpenPath(ref_resolve, O_PATH);
      if (!fd.ok()) {
        Error(source, e.field + ": " +
                          (fd.status().code() == Code::kNotFound ? "no such file" : fd.status().message()));
        continue;
      }
      File(fd->get(), [&] { return fs_.OpenPath(ref_resolve, O_RDONLY | O_NONBLOCK); }, source,
           ref_resolve, FileRole::kCertificate, /*in_directory=*/false);
    }
  }
};

}  // namespace

std::vector<std::string> DefaultNodePaths(const std::string& root) {
  auto fs = RootedFs::Open(root);
  if (!fs.ok()) return {};
  auto kind = [&](const std::string& path) -> mode_t {
    auto fd = fs->OpenPath(path, O_PATH);
    struct stat st;
    if (!fd.ok() || ::fstat(fd->get(), &st) != 0) return 0;
    return st.st_mode & S_IFMT;
  };
  std::vector<std::string> out;
  if (kind("/etc/kubernetes/pki") == S_IFDIR) out.push_back("/etc/kubernetes/pki");
  if (auto dir = fs->OpenPath("/etc/kubernetes", O_PATH | O_DIRECTORY); dir.ok()) {
    if (auto entries = common::ListDirectory(dir->get()); entries.ok()) {
      for (const auto& e : *entries) {  // sorted
        const std::string path = "/etc/kubernetes/" + e.name;
        const std::string ext = fs::path(e.name).extension().string();
        const bool kubeconfig = ext == ".conf" || ext == ".kubeconfig" || e.name.rfind("kubeconfig", 0) == 0;
        if (kubeconfig && kind(path) == S_IFREG) out.push_back(path);
      }
    }
  }
  if (kind("/var/lib/kubelet/kubeconfig") == S_IFREG) out.push_back("/var/lib/kubelet/kubeconfig");
  if (kind("/var/lib/kubelet/pki") == S_IFDIR) out.push_back("/var/lib/kubelet/pki");
  return out;
}

std::vector<Finding> ScanPaths(const std::vector<std::string>& paths, const ScanOptions& options) {
  return Scan(paths, options).findings;
}

ScanResult Scan(const std::vector<std::string>& paths, const ScanOptions& options) {
  auto fs = RootedFs::Open(options.root, options.without_openat2 ? RootedFs::Resolver::kWalk
                                                                 : RootedFs::Resolver::kAuto);
  if (!fs.ok()) {
    return {{Finding{options.root, std::nullopt, "the root: " + fs.status().message()}}, {}};
  }
  Scanner scanner(std::move(*fs), options);
  for (const auto& p : paths) scanner.Path(p);
  return {std::move(scanner.findings), std::move(scanner.kubeconfigs)};
}

}  // namespace certguard::expiry
