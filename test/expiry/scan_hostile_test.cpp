// ScanPaths over trees that try to crash, stall, exhaust or escape the scan.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <thread>

#include "expiry/scan.h"
#include "support/pki.h"
#include "support/temp_dir.h"

using namespace certguard::expiry;
using certguard::testing::Cert;
using certguard::testing::CertBuilder;
using certguard::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// source -> CN or "error: ..." with `root` cut from sources.
std::vector<std::string> Describe(const std::vector<Finding>& findings, const std::string& root = "") {
  std::vector<std::string> out;
  for (const auto& f : findings) {
    std::string source = f.source;
    if (!root.empty() && source.rfind(root, 0) == 0) source = source.substr(root.size());
    out.push_back(source + " = " + (f.cert ? f.cert->subject_cn : "error: " + f.error));
  }
  return out;
}

bool Has(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

// Runs a scan on its own thread; false when it has not finished after `limit`
// (the thread is then left behind: a hang is the failure being tested).
bool FinishesWithin(std::function<void()> scan, std::chrono::seconds limit) {
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  std::thread([scan = std::move(scan), done] {
    scan();
    done->set_value();
  }).detach();
  return finished.wait_for(limit) == std::future_status::ready;
}

// mkdirat one level at a time: the path outgrows PATH_MAX long before the depth does.
void MakeDeepTree(const std::string& top, int depth, const std::map<int, std::string>& certs) {
  int fd = ::open(top.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  for (int level = 1; level <= depth; ++level) {
    REQUIRE(::mkdirat(fd, "d", 0755) == 0);
    int next = ::openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ::close(fd);
    REQUIRE(next >= 0);
    fd = next;
    if (auto it = certs.find(level); it != certs.end()) {
      int f = ::openat(fd, "c.crt", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      REQUIRE(f >= 0);
      REQUIRE(::write(f, it->second.data(), it->second.size()) == static_cast<ssize_t>(it->second.size()));
      ::close(f);
    }
  }
  ::close(fd);
}

// Removes what MakeDeepTree made, deepest first, by descriptors.
void RemoveDeepTree(int dir_fd) {
  int sub = ::openat(dir_fd, "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sub < 0) return;
  RemoveDeepTree(sub);
  ::unlinkat(sub, "c.crt", 0);
  ::close(sub);
  ::unlinkat(dir_fd, "d", AT_REMOVEDIR);
}

}  // namespace

TEST_CASE("ScanPaths: read errors, FIFOs and devices are reported and the scan goes on",
          "[expiry][cli][hostile]") {
  TempDir dir;
  dir.Write("pki/good.crt", CertBuilder().Cn("good").Pem());
  const std::string pki = dir.path() + "/pki";
  fs::create_symlink("/proc/self/mem", pki + "/mem.crt");          // EIO on read
  fs::create_symlink("/proc/self/pagemap", pki + "/pagemap.pem");  // EINVAL on read
  fs::create_symlink("/proc/kmsg", pki + "/kmsg.crt");              // blocks on read
  fs::create_symlink("/dev/zero", pki + "/zero.crt");               // never ends
  REQUIRE(::mkfifo((pki + "/fifo.crt").c_str(), 0600) == 0);        // blocks on open
  fs::create_symlink("fifo.crt", pki + "/fifo-link.pem");
  dir.Write("pki/big.crt", std::string(1024 * 1024 + 1, 'A'));

  std::vector<Finding> findings;
  REQUIRE(FinishesWithin([&] { findings = ScanPaths({pki}); }, std::chrono::seconds(30)));
  auto d = Describe(findings, pki);
  CHECK(Has(d, "/big.crt = error: 1048577 bytes, larger than the size budget of 1048576 bytes"));
  CHECK(Has(d, "/fifo-link.pem = error: not a regular file: a FIFO"));
  CHECK(Has(d, "/fifo.crt = error: not a regular file: a FIFO"));
  CHECK(Has(d, "/good.crt = good"));
  CHECK(Has(d, "/mem.crt = error: not read: on the proc pseudo file system"));
  CHECK(Has(d, "/pagemap.pem = error: not read: on the proc pseudo file system"));
  CHECK(Has(d, "/zero.crt = error: not a regular file: a character device"));
  if (fs::exists("/proc/kmsg")) CHECK(Has(d, "/kmsg.crt = error: not read: on the proc pseudo file system"));

  // Named directly, the same.
  auto mem = ScanPaths({pki + "/mem.crt", "/proc/self/pagemap", pki + "/fifo.crt"});
  CHECK(Describe(mem) == std::vector<std::string>{
                             pki + "/mem.crt = error: not read: on the proc pseudo file system",
                             "/proc/self/pagemap = error: not read: on the proc pseudo file system",
                             pki + "/fifo.crt = error: not a regular file: a FIFO"});

  // A bigger budget reads the big file (and finds it is no certificate).
  ScanOptions options;
  options.max_file_bytes = 2 * 1024 * 1024;
  auto big = ScanPaths({pki + "/big.crt"}, options);
  REQUIRE(big.size() == 1);
  CHECK(big[0].error.rfind("neither PEM nor a DER certificate", 0) == 0);
}

TEST_CASE("ScanPaths: a file swapped with a FIFO by rename never stalls the scan", "[expiry][cli][hostile]") {
  TempDir dir;
  const std::string cert = CertBuilder().Cn("swapped").Pem();
  dir.Write("pki/a.crt", cert);
  const std::string target = dir.path() + "/pki/a.crt";
  const std::string spare = dir.path() + "/spare";
  REQUIRE(::mkfifo(spare.c_str(), 0600) == 0);

  std::atomic<bool> done{false};
  std::atomic<long> swaps{0};
  std::thread swapper([&] {
    // Each exchange flips a.crt between the regular file and the FIFO.
    while (!done.load()) {
      if (::renameat2(AT_FDCWD, target.c_str(), AT_FDCWD, spare.c_str(), RENAME_EXCHANGE) == 0) ++swaps;
    }
  });
  int certs = 0, errors = 0;
  const bool finished = FinishesWithin(
      [&] {
        for (int i = 0; i < 2000; ++i) {
          auto findings = ScanPaths({i % 2 == 0 ? dir.path() + "/pki" : target});
          for (const auto& f : findings) (f.cert ? certs : errors) += 1;
        }
      },
      std::chrono::seconds(120));
  done.store(true);
  swapper.join();
  REQUIRE(finished);
  CHECK(swaps.load() > 100);
  CHECK(certs > 0);  // both states were seen, and neither stopped the scan
  CHECK(errors > 0);
}

TEST_CASE("ScanPaths: directory depth is bounded and what is skipped is reported", "[expiry][cli][hostile]") {
  TempDir dir;
  const std::string top = dir.path() + "/deep";
  REQUIRE(fs::create_directory(top));
  MakeDeepTree(top, 2500, {{5, CertBuilder().Cn("level-5").Pem()}, {2100, CertBuilder().Cn("level-2100").Pem()}});

  auto findings = ScanPaths({top});
  std::string shallow_dir = "";
  for (int i = 0; i < 33; ++i) shallow_dir += "/d";
  CHECK(Describe(findings, top) ==
        std::vector<std::string>{
            "/d/d/d/d/d/c.crt = level-5",
            shallow_dir + " = error: directory not read: nested deeper than 32 levels (the depth budget)"});

  // A budget past the tree's depth reads it all: linear in the depth, no path is
  // built whole for the kernel (it is 5,000 characters, past PATH_MAX).
  ScanOptions options;
  options.max_depth = 2600;
  auto all = ScanPaths({top}, options);
  int found = 0;
  for (const auto& f : all) {
    if (f.cert) ++found;
    if (!f.cert) FAIL_CHECK(f.source.substr(0, 80) << ": " << f.error);
  }
  CHECK(found == 2);

  int fd = ::open(top.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  RemoveDeepTree(fd);
  ::close(fd);
}

TEST_CASE("ScanPaths --root: symlinks and kubeconfig paths are resolved under the root", "[expiry][cli][hostile]") {
  const bool walk = GENERATE(false, true);
  CAPTURE(walk);
  TempDir host;
  const std::string host_cert = host.Write("host.crt", CertBuilder().Cn("host-only").Pem());
  TempDir root;
  root.Write("etc/kubernetes/pki/ca.crt", CertBuilder().Cn("node-ca").Pem());
  const std::string pki = root.path() + "/etc/kubernetes/pki";
  fs::create_symlink(host_cert, pki + "/absolute.crt");
  fs::create_symlink("../../../../../../../../../.." + host_cert, pki + "/dotdot.crt");
  fs::create_symlink("/proc/self/root" + host_cert, pki + "/magic.crt");
  fs::create_symlink("/etc/kubernetes/pki/ca.crt", pki + "/ca-link.pem");
  root.Write("etc/kubernetes/kubelet.conf",
             "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    client-certificate: " +
                 host_cert + "\n");

  ScanOptions options;
  options.root = root.path();
  options.without_openat2 = walk;
  for (const auto& name : {"absolute.crt", "dotdot.crt", "magic.crt"}) {
    auto one = ScanPaths({std::string("/etc/kubernetes/pki/") + name}, options);
    REQUIRE(one.size() == 1);
    CHECK_FALSE(one[0].cert.has_value());
  }
  auto kubeconfig = ScanPaths({"/etc/kubernetes/kubelet.conf"}, options);
  CHECK(Describe(kubeconfig) ==
        std::vector<std::string>{host_cert + " (user u in /etc/kubernetes/kubelet.conf) = error: "
                                             "client-certificate: no such file"});
  // The directory: the node's CA (once), errors for the links that lead nowhere in the root.
  auto d = Describe(ScanPaths({"/etc/kubernetes/pki"}, options));
  // ca-link.pem comes first and names ca.crt inside the root, read once.
  CHECK(Has(d, "/etc/kubernetes/pki/ca-link.pem = node-ca"));
  CHECK_FALSE(Has(d, "/etc/kubernetes/pki/ca.crt = node-ca"));
  CHECK(Has(d, "/etc/kubernetes/pki/absolute.crt = error: symbolic link: no such file or directory"));
  CHECK(Has(d, "/etc/kubernetes/pki/dotdot.crt = error: symbolic link: no such file or directory"));
  CHECK(Has(d, "/etc/kubernetes/pki/magic.crt = error: symbolic link: no such file or directory"));
  for (const auto& line : d) CHECK(line.find("host-only") == std::string::npos);

  // What the links name, present inside the root, is what they read.
  root.Write(host_cert.substr(1), CertBuilder().Cn("in-root").Pem());
  auto inside = ScanPaths({"/etc/kubernetes/pki/absolute.crt", "/etc/kubernetes/kubelet.conf"}, options);
  CHECK(Describe(inside) == std::vector<std::string>{"/etc/kubernetes/pki/absolute.crt = in-root"});
  auto dotdot = ScanPaths({"/etc/kubernetes/pki/dotdot.crt"}, options);
  CHECK(Describe(dotdot) == std::vector<std::string>{"/etc/kubernetes/pki/dotdot.crt = in-root"});
}

TEST_CASE("ScanPaths reads every certificate of a .der chain", "[expiry][cli][hostile]") {
  TempDir dir;
  Cert ca = CertBuilder().Cn("chain-ca").Ca().Build();
  Cert leaf = CertBuilder().Cn("chain-leaf").IssuedBy(ca).Build();
  dir.Write("pki/chain.der", leaf.der + ca.der);
  dir.Write("pki/truncated.der", leaf.der + ca.der.substr(0, 40));
  auto d = Describe(ScanPaths({dir.path() + "/pki"}), dir.path() + "/pki");
  REQUIRE(d.size() == 4);
  CHECK(d[0] == "/chain.der = chain-leaf");
  CHECK(d[1] == "/chain.der = chain-ca");
  CHECK(d[2] == "/truncated.der = chain-leaf");
  CHECK(d[3].rfind("/truncated.der = error: DER certificate 2: not a DER certificate", 0) == 0);
}
