#include "common/rooted_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "support/temp_dir.h"

using namespace certguard::common;
using certguard::testing::TempDir;
namespace fs = std::filesystem;

namespace {

UniqueFd OpenOrFail(const std::string& path, int flags) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
  REQUIRE(fd);
  return fd;
}

const Reopen kNoReopen;

std::string Read(RootedFs& rfs, const std::string& path) {
  auto content = rfs.ReadFile(path, ReadLimits{});
  return content.ok() ? *content : "error: " + content.status().message();
}

}  // namespace

TEST_CASE("ReadDescriptor turns read errors into statuses", "[common][rooted_fs]") {
  // Reading /proc/self/mem at offset 0 fails with EIO: the read that aborted check-expiration.
  UniqueFd mem = OpenOrFail("/proc/self/mem", O_RDONLY);
  auto r = ReadDescriptor(mem.get(), ReadLimits{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "read: input/output error");

  TempDir dir;
  UniqueFd d = OpenOrFail(dir.path(), O_RDONLY | O_DIRECTORY);
  auto isdir = ReadDescriptor(d.get(), ReadLimits{});
  REQUIRE_FALSE(isdir.ok());
  CHECK(isdir.status().message() == "read: is a directory");
}

TEST_CASE("ReadDescriptor keeps to its budgets and never waits", "[common][rooted_fs]") {
  int p[2];
  REQUIRE(::pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
  UniqueFd rd(p[0]), wr(p[1]);
  auto empty = ReadDescriptor(rd.get(), ReadLimits{});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.status().message() == "reading would block");

  std::string data(100, 'x');
  REQUIRE(::write(wr.get(), data.data(), data.size()) == 100);
  wr = UniqueFd();
  ReadLimits small;
  small.max_bytes = 99;
  auto big = ReadDescriptor(rd.get(), small);
  REQUIRE_FALSE(big.ok());
  CHECK(big.status().message() == "larger than the size budget of 99 bytes");
}

TEST_CASE("ReadRegularFile opens nothing but a regular file", "[common][rooted_fs]") {
  TempDir dir;
  const std::string fifo = dir.path() + "/fifo.crt";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string file = dir.Write("a.crt", "hello");

  // A FIFO with no writer: an open for reading would block; O_PATH does not.
  UniqueFd f = OpenOrFail(fifo, O_PATH);
  auto r = ReadRegularFile(f.get(), ReadLimits{}, kNoReopen);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "not a regular file: a FIFO");

  UniqueFd null = OpenOrFail("/dev/null", O_PATH);
  CHECK(ReadRegularFile(null.get(), ReadLimits{}, kNoReopen).status().message() ==
        "not a regular file: a character device");
  UniqueFd d = OpenOrFail(dir.path(), O_PATH);
  CHECK(ReadRegularFile(d.get(), ReadLimits{}, kNoReopen).status().message() ==
        "not a regular file: a directory");

  // The kernel's files are regular to stat but never certificates: /proc/kmsg would block.
  for (const char* proc : {"/proc/self/status", "/proc/self/mem", "/proc/kmsg"}) {
    UniqueFd p(::open(proc, O_PATH | O_CLOEXEC));
    if (!p) continue;  // /proc/kmsg is absent in some containers
    CHECK(ReadRegularFile(p.get(), ReadLimits{}, kNoReopen).status().message() ==
          "not read: on the proc pseudo file system");
  }

  UniqueFd ok = OpenOrFail(file, O_PATH);
  auto content = ReadRegularFile(ok.get(), ReadLimits{}, kNoReopen);
  REQUIRE(content.ok());
  CHECK(*content == "hello");
  ReadLimits tiny;
  tiny.max_bytes = 4;
  CHECK(ReadRegularFile(ok.get(), tiny, kNoReopen).status().message() ==
        "5 bytes, larger than the size budget of 4 bytes");
}

TEST_CASE("ReadRegularFile without /proc reopens by name and refuses another file", "[common][rooted_fs]") {
  TempDir dir;
  const std::string a = dir.Write("a.crt", "file a");
  const std::string b = dir.Write("b.crt", "file b");
  UniqueFd fa = OpenOrFail(a, O_PATH);
  const char* no_proc = "/nonexistent-proc-fd-dir";
  auto same = ReadRegularFile(fa.get(), ReadLimits{}, [&]() -> certguard::Result<UniqueFd> {
    return UniqueFd(::open(a.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  }, no_proc);
  REQUIRE(same.ok());
  CHECK(*same == "file a");
  // The name now leads elsewhere (a rename between the two opens): refused.
  auto other = ReadRegularFile(fa.get(), ReadLimits{}, [&]() -> certguard::Result<UniqueFd> {
    return UniqueFd(::open(b.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  }, no_proc);
  REQUIRE_FALSE(other.ok());
  CHECK(other.status().message() == "replaced while it was being opened");
}

TEST_CASE("RootedFs resolves every path and symlink under the root", "[common][rooted_fs]") {
  const bool walk = GENERATE(false, true);
  CAPTURE(walk);
  TempDir outside;
  const std::string host = outside.Write("host.crt", "host");
  TempDir root;
  // The same path inside the root holds another file: what a confined read finds.
  root.Write(host.substr(1), "inside");
  root.Write("etc/kubernetes/pki/ca.crt", "ca");
  const std::string pki = root.path() + "/etc/kubernetes/pki";
  fs::create_symlink(host, pki + "/absolute.crt");
  fs::create_symlink("../../../../../../../../.." + host, pki + "/dotdot.crt");
  fs::create_symlink("/etc/kubernetes/pki/ca.crt", pki + "/ca-link.crt");
  fs::create_symlink("/proc/self/root" + host, pki + "/magic.crt");
  fs::create_symlink("loop.crt", pki + "/loop.crt");

  auto opened = RootedFs::Open(root.path(), walk ? RootedFs::Resolver::kWalk : RootedFs::Resolver::kAuto);
  REQUIRE(opened.ok());
  RootedFs& rfs = *opened;
  CHECK(rfs.uses_openat2() == !walk);

  CHECK(Read(rfs, "/etc/kubernetes/pki/ca.crt") == "ca");
  CHECK(Read(rfs, "etc/kubernetes/pki/ca.crt") == "ca");
  CHECK(Read(rfs, "/etc/kubernetes/pki/absolute.crt") == "inside");
  CHECK(Read(rfs, "/etc/kubernetes/pki/dotdot.crt") == "inside");
  CHECK(Read(rfs, "/etc/kubernetes/pki/ca-link.crt") == "ca");
  CHECK(Read(rfs, "/../../.." + host) == "inside");
  CHECK(Read(rfs, host) == "inside");
  // No /proc under the root, and a magic link is never followed anyway.
  CHECK(Read(rfs, "/etc/kubernetes/pki/magic.crt").rfind("error: ", 0) == 0);
  CHECK(Read(rfs, "/etc/kubernetes/pki/loop.crt") == "error: too many levels of symbolic links");
  CHECK(Read(rfs, "/etc/kubernetes/pki/missing.crt") == "error: no such file or directory");
  CHECK(Read(rfs, "/etc/kubernetes/pki/ca.crt/x") == "error: not a directory");

  // Without the inside copy, nothing is read at all: the host's file never is.
  fs::remove(root.path() + host);
  for (const char* link : {"absolute.crt", "dotdot.crt", "magic.crt"}) {
    CHECK(Read(rfs, std::string("/etc/kubernetes/pki/") + link) == "error: no such file or directory");
  }
}

TEST_CASE("RootedFs refuses magic links even at /", "[common][rooted_fs]") {
  TempDir dir;
  const std::string file = dir.Write("f.crt", "x");
  auto rfs = RootedFs::Open("/");
  REQUIRE(rfs.ok());
  if (!rfs->uses_openat2()) return;  // the walk reads a magic link as text: confined all the same
  CHECK(Read(*rfs, "/proc/self/root" + file) == "error: too many levels of symbolic links");
  CHECK(Read(*rfs, file) == "x");
}

TEST_CASE("ListDirectory sorts entries and tells their kinds", "[common][rooted_fs]") {
  TempDir dir;
  dir.Write("b.crt", "b");
  dir.Write("a/x", "x");
  fs::create_symlink("b.crt", dir.path() + "/c");
  REQUIRE(::mkfifo((dir.path() + "/d").c_str(), 0600) == 0);
  UniqueFd d = OpenOrFail(dir.path(), O_PATH | O_DIRECTORY);
  auto entries = ListDirectory(d.get());
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 4);
  CHECK((*entries)[0].name == "a");
  CHECK((*entries)[0].type == S_IFDIR);
  CHECK((*entries)[1].type == S_IFREG);
  CHECK((*entries)[2].type == S_IFLNK);
  CHECK((*entries)[3].type == S_IFIFO);
  CHECK(OpenSubdirectory(d.get(), "c").status().message() == "open directory: not a directory");
  CHECK(OpenSubdirectory(d.get(), "a").ok());
}
