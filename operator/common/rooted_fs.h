// Reads files of a tree that someone else controls (a node's file system, mounted
// at the node agent's --root) so that no file can crash, stall or escape the reader:
//   - every path resolves under the root: openat2(RESOLVE_IN_ROOT |
//     RESOLVE_NO_MAGICLINKS), or, where the kernel has no openat2, a walk one
//     component at a time that expands symlinks itself; an absolute symlink or
//     ".." stops at the root, and magic links (/proc/PID/root, /proc/self/fd/N)
//     are refused;
//   - a file is first opened with O_PATH, which opens no device, FIFO or socket,
//     and its descriptor is checked: only a regular file outside the kernel's
//     pseudo file systems (proc, sysfs...) is then reopened for reading, with
//     O_NONBLOCK, and read within a size and a time budget;
//   - every failure is a Status with the errno text; nothing throws.
// Thread-compatible: a RootedFs may be used from one thread at a time.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace certguard::common {

// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// strerror's text, lower-cased like Go's: "input/output error".
std::string ErrnoText(int err);

// "a FIFO", "a character device", "a directory", ... for messages.
std::string FileKind(mode_t mode);

struct ReadLimits {
  size_t max_bytes = 1024 * 1024;
  std::chrono::milliseconds max_time{10000};  // checked between reads
};

// Reads an open descriptor to its end, within the limits. The errno text of a
// failed read ("input/output error" from /proc/self/mem), "would block" for
// EAGAIN, or over the size or time budget: InvalidArgument.
Result<std::string> ReadDescriptor(int fd, const ReadLimits& limits);

// Reads the file an O_PATH descriptor names, opening nothing but a regular file:
// refuses another kind ("not a regular file: a FIFO"), a file on a pseudo file
// system ("on the proc pseudo file system") and one over the size budget before
// it is opened for reading. The file is reopened through /proc/self/fd; without
// /proc, through `reopen`, and then refused if that opened another file.
// (`fd_dir` is /proc/self/fd but in tests.)
using Reopen = std::function<Result<UniqueFd>()>;
Result<std::string> ReadRegularFile(int path_fd, const ReadLimits& limits, const Reopen& reopen,
                                    const char* fd_dir = "/proc/self/fd");

// One directory entry: a name and its type as fstatat(AT_SYMLINK_NOFOLLOW) sees it.
struct DirEntry {
  std::string name;
  mode_t type = 0;  // S_IFREG, S_IFDIR, S_IFLNK, ...; 0 when it vanished
};

// The entries of an open directory but "." and "..", sorted by name.
Result<std::vector<DirEntry>> ListDirectory(int dir_fd);

// Opens `name` in `dir_fd` as a directory, never following a symlink.
Result<UniqueFd> OpenSubdirectory(int dir_fd, const std::string& name);

class RootedFs {
 public:
  enum class Resolver { kAuto, kWalk };  // kWalk: without openat2, as on Linux < 5.6

  // `root` is opened as it is named (it may itself be /proc/1/root); "/" is the
  // whole file system. NotFound or InvalidArgument when it is not a directory.
  static Result<RootedFs> Open(const std::string& root, Resolver resolver = Resolver::kAuto);

  // `path` read as if the root were "/" (absolute or not), following symlinks
  // under the root. `flags`: O_PATH, or O_RDONLY | O_NONBLOCK ...; O_CLOEXEC and
  // O_NOCTTY are added. Errors carry the errno text: "no such file or directory",
  // "too many levels of symbolic links" for a magic link.
  Result<UniqueFd> OpenPath(const std::string& path, int flags) const;

  // ReadRegularFile of `path` under the root.
  Result<std::string> ReadFile(const std::string& path, const ReadLimits& limits) const;

  // openat of `name` in an open directory, never following a symlink.
  static Result<UniqueFd> OpenAt(int dir_fd, const std::string& name, int flags);

  bool uses_openat2() const { return openat2_; }

 private:
  RootedFs(UniqueFd root, bool openat2) : root_(std::move(root)), openat2_(openat2) {}
  Result<UniqueFd> Walk(const std::string& path, int flags) const;

  UniqueFd root_;
  bool openat2_ = false;
};

}  // namespace certguard::common
