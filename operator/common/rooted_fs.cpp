#include "common/rooted_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>

namespace certguard::common {

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

std::string ErrnoText(int err) {
  std::string text = std::strerror(err);
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z' && (text.size() < 2 || text[1] > 'Z')) {
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  }
  return text;
}

std::string FileKind(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFLNK: return "a symbolic link";
    case S_IFIFO: return "a FIFO";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFSOCK: return "a socket";
    default: return "of an unknown kind";
  }
}

namespace {

Status ErrnoStatus(int err, const std::string& context = "") {
  Code code = err == ENOENT ? Code::kNotFound
              : err == EACCES || err == EPERM ? Code::kForbidden
                                              : Code::kInvalidArgument;
  return Status(code, context.empty() ? ErrnoText(err) : context + ": " + ErrnoText(err));
}

// Files of these file systems are the kernel's, never a certificate: reading
// them has effects (/proc/kmsg consumes the kernel log) or blocks.
const char* PseudoFileSystem(long type) {
  switch (static_cast<unsigned long>(type)) {
    case PROC_SUPER_MAGIC: return "proc";
    case SYSFS_MAGIC: return "sysfs";
    case DEBUGFS_MAGIC: return "debugfs";
    case TRACEFS_MAGIC: return "tracefs";
    case SECURITYFS_MAGIC: return "securityfs";
    case CGROUP_SUPER_MAGIC: return "cgroup";
    case CGROUP2_SUPER_MAGIC: return "cgroup2";
    case BPF_FS_MAGIC: return "bpf";
    case EFIVARFS_MAGIC: return "efivarfs";
    case PSTOREFS_MAGIC: return "pstore";
    default: return nullptr;
  }
}

constexpr unsigned long long kResolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

int Openat2(int dir_fd, const char* path, int flags) {
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = static_cast<unsigned long long>(flags);
  how.resolve = kResolve;
  return static_cast<int>(::syscall(SYS_openat2, dir_fd, path, &how, sizeof how));
}

// O_PATH takes no other flag but these (openat2 says EINVAL otherwise).
int WithDefaults(int flags) {
  return (flags & O_PATH) ? (flags | O_CLOEXEC) : (flags | O_CLOEXEC | O_NOCTTY);
}

}  // namespace

Result<std::string> ReadDescriptor(int fd, const ReadLimits& limits) {
  const auto start = std::chrono::steady_clock::now();
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    size_t want = std::min(sizeof buf, limits.max_bytes + 1 - out.size());
    ssize_t n = ::read(fd, buf, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return InvalidArgument("reading would block");
      return ErrnoStatus(errno, "read");
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > limits.max_bytes) {
      return InvalidArgument("larger than the size budget of " + std::to_string(limits.max_bytes) +
                             " bytes");
    }
    if (std::chrono::steady_clock::now() - start > limits.max_time) {
      return Status(Code::kDeadlineExceeded,
                    "reading took over the time budget of " +
                        std::to_string(limits.max_time.count()) + " ms");
    }
  }
}

Result<std::string> ReadRegularFile(int path_fd, const ReadLimits& limits, const Reopen& reopen,
                                    const char* fd_dir) {
  struct stat st;
  if (::fstat(path_fd, &st) != 0) return ErrnoStatus(errno, "fstat");
  if (!S_ISREG(st.st_mode)) return InvalidArgument("not a regular file: " + FileKind(st.st_mode));
  struct statfs fs;
  if (::fstatfs(path_fd, &fs) != 0) return ErrnoStatus(errno, "fstatfs");
  if (const char* pseudo = PseudoFileSystem(static_cast<long>(fs.f_type))) {
    return InvalidArgument(std::string("not read: on the ") + pseudo + " pseudo file system");
  }
  if (st.st_size < 0 || static_cast<unsigned long long>(st.st_size) > limits.max_bytes) {
    return InvalidArgument(std::to_string(st.st_size) + " bytes, larger than the size budget of " +
                           std::to_string(limits.max_bytes) + " bytes");
  }
  // The same inode, now readable: nothing was looked up by name since the check.
  const std::string proc = std::string(fd_dir) + "/" + std::to_string(path_fd);
  UniqueFd fd(::open(proc.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    if (errno != ENOENT || !reopen) return ErrnoStatus(errno, "open");
    // No /proc: open by name again, and refuse if that reached another file.
    auto again = reopen();
    if (!again.ok()) return again.status();
    fd = std::move(*again);
  }
  struct stat now;
  if (::fstat(fd.get(), &now) != 0) return ErrnoStatus(errno, "fstat");
  if (now.st_dev != st.st_dev || now.st_ino != st.st_ino || !S_ISREG(now.st_mode)) {
    return InvalidArgument("replaced while it was being opened");
  }
  return ReadDescriptor(fd.get(), limits);
}

Result<std::vector<DirEntry>> ListDirectory(int dir_fd) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open directory");
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus(err, "open directory");
  }
  std::vector<DirEntry> out;
  int err = 0;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(dir);
    if (e == nullptr) {
      err = errno;
      break;
    }
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    DirEntry entry{e->d_name, 0};
    switch (e->d_type) {
      case DT_REG: entry.type = S_IFREG; break;
      case DT_DIR: entry.type = S_IFDIR; break;
      case DT_LNK: entry.type = S_IFLNK; break;
      case DT_FIFO: entry.type = S_IFIFO; break;
      case DT_CHR: entry.type = S_IFCHR; break;
      case DT_BLK: entry.type = S_IFBLK; break;
      case DT_SOCK: entry.type = S_IFSOCK; break;
      default: {
        struct stat st;
        if (::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
          entry.type = st.st_mode & S_IFMT;
        }
      }
    }
    out.push_back(std::move(entry));
  }
  ::closedir(dir);
  if (err != 0) return ErrnoStatus(err, "read directory");
  std::sort(out.begin(), out.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

Result<UniqueFd> OpenSubdirectory(int dir_fd, const std::string& name) {
  UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open directory");
  return fd;
}

Result<RootedFs> RootedFs::Open(const std::string& root, Resolver resolver) {
  UniqueFd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, root);
  bool openat2 = false;
  if (resolver == Resolver::kAuto) {
    // ENOSYS before Linux 5.6; EPERM or ENOSYS from a seccomp profile that predates it.
    UniqueFd probe(Openat2(fd.get(), ".", O_PATH | O_CLOEXEC));
    openat2 = static_cast<bool>(probe);
  }
  return RootedFs(std::move(fd), openat2);
}

Result<UniqueFd> RootedFs::OpenPath(const std::string& path, int flags) const {
  if (!openat2_) return Walk(path, flags);
  UniqueFd fd(Openat2(root_.get(), path.empty() ? "." : path.c_str(), WithDefaults(flags)));
  if (!fd) {
    // openat2 tells an escape by EXDEV; RESOLVE_IN_ROOT keeps ".." inside, so
    // it comes only from a magic link, refused as ELOOP.
    return ErrnoStatus(errno);
  }
  return fd;
}

// Resolves like openat2(RESOLVE_IN_ROOT): each component opened with O_PATH |
// O_NOFOLLOW; a symlink's text is expanded here, an absolute one from the root,
// and ".." never climbs above it. A magic link is then only text: confined too.
Result<UniqueFd> RootedFs::Walk(const std::string& path, int flags) const {
  auto split = [](const std::string& p) {
    std::deque<std::string> parts;
    size_t at = 0;
    while (at <= p.size()) {
      size_t slash = p.find('/', at);
      if (slash == std::string::npos) slash = p.size();
      if (slash > at) parts.push_back(p.substr(at, slash - at));
      at = slash + 1;
    }
    return parts;
  };
  std::deque<std::string> todo = split(path);
  std::vector<UniqueFd> dirs;  // below the root; empty: at the root
  int links = 0;
  while (!todo.empty()) {
    std::string name = std::move(todo.front());
    todo.pop_front();
    if (name == ".") continue;
    if (name == "..") {
      if (!dirs.empty()) dirs.pop_back();
      continue;
    }
    const int cur = dirs.empty() ? root_.get() : dirs.back().get();
    UniqueFd fd(::openat(cur, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return ErrnoStatus(errno);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno);
    if (S_ISLNK(st.st_mode)) {
      if (++links > 40) return ErrnoStatus(ELOOP);
      char target[4096];
      ssize_t n = ::readlinkat(fd.get(), "", target, sizeof target);
      if (n < 0) return ErrnoStatus(errno);
      if (static_cast<size_t>(n) >= sizeof target) return ErrnoStatus(ENAMETOOLONG);
      std::string text(target, static_cast<size_t>(n));
      if (!text.empty() && text[0] == '/') dirs.clear();
      auto parts = split(text);
      todo.insert(todo.begin(), parts.begin(), parts.end());
      continue;
    }
    if (todo.empty()) {
      if (flags & O_PATH) return fd;
      // Not a symlink a moment ago; O_NOFOLLOW refuses one swapped in since.
      UniqueFd opened(::openat(cur, name.c_str(), WithDefaults(flags) | O_NOFOLLOW));
      if (!opened) return ErrnoStatus(errno);
      return opened;
    }
    if (!S_ISDIR(st.st_mode)) return ErrnoStatus(ENOTDIR);
    dirs.push_back(std::move(fd));
  }
  // The path named a directory reached by "." or "..", or the root itself.
  const int cur = dirs.empty() ? root_.get() : dirs.back().get();
  UniqueFd fd(::openat(cur, ".", WithDefaults(flags)));
  if (!fd) return ErrnoStatus(errno);
  return fd;
}

Result<std::string> RootedFs::ReadFile(const std::string& path, const ReadLimits& limits) const {
  auto fd = OpenPath(path, O_PATH);
  if (!fd.ok()) return fd.status();
  return ReadRegularFile(fd->get(), limits,
                         [&]() { return OpenPath(path, O_RDONLY | O_NONBLOCK); });
}

Result<UniqueFd> RootedFs::OpenAt(int dir_fd, const std::string& name, int flags) {
  UniqueFd fd(::openat(dir_fd, name.c_str(), WithDefaults(flags) | O_NOFOLLOW));
  if (!fd) return ErrnoStatus(errno);
  return fd;
}

}  // namespace certguard::common
