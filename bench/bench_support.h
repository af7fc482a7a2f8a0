// What the benchmarks that drive a real control plane share: running a shell
// command, quoting for it, a free loopback port, a process's memory and CPU
// time, polling, their command lines (NAME=VALUE pairs, bounded numbers, the
// flags every comparison takes) and writing their results.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace certguard::bench {

// A benchmark that cannot measure what it set out to stops with this; main()
// prints it and exits non-zero rather than reporting a number.
struct BenchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void Fail(const std::string& why) { throw BenchError(why); }

// main() of a benchmark: run(argc, argv), or "NAME: why" on stderr and exit
// status 2 when it Fails.
inline int RunMain(const char* name, int (*run)(int, char**), int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const BenchError& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return 2;
  }
}

// Standard output of `sh -c cmd`; *rc gets its exit status (-1 if it did not exit).
inline std::string Shell(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) Fail("cannot run: " + cmd);
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int status = pclose(p);
  *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// The value of label `key` in one line of Prometheus text ("" when absent).
inline std::string PromLabel(const std::string& line, const std::string& key) {
  auto at = line.find("," + key + "=\"");
  if (at == std::string::npos) at = line.find("{" + key + "=\"");
  if (at == std::string::npos) return std::string();
  at += key.size() + 3;
  return line.substr(at, line.find('"', at) - at);
}

// `s` as one single-quoted shell word.
inline std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// A loopback port the kernel just handed out (free until someone else binds it).
inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    Fail("no free port");
  }
  int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

// Resident and peak resident memory of a process, from /proc/PID/status.
struct Memory {
  double rss_mib = 0, hwm_mib = 0;
};

inline Memory MemoryOf(pid_t pid) {
  Memory m;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) m.rss_mib = std::atof(line.c_str() + 6) / 1024;
    if (line.rfind("VmHWM:", 0) == 0) m.hwm_mib = std::atof(line.c_str() + 6) / 1024;
  }
  return m;
}

// CPU time and scheduling of a whole process: utime + stime of its thread
// group from /proc/PID/stat (threads that already ended included), its
// threads now, and context switches summed over its live threads
// (/proc/PID/task/*/status). cpu_seconds < 0 once the process is gone.
struct CpuUse {
  double cpu_seconds = -1;
  int threads = 0;
  long long voluntary_switches = 0, involuntary_switches = 0;
};

inline CpuUse CpuUseOf(pid_t pid) {
  CpuUse u;
  const std::string proc = "/proc/" + std::to_string(pid);
  std::ifstream stat(proc + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces: fields count from after its ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos) return u;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int field = 3; field <= 15 && fields >> f; ++field) {
    if (field == 14) utime = std::stoull(f);
    if (field == 15) stime = std::stoull(f);
  }
  u.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(proc + "/task", ec)) {
    ++u.threads;
    std::ifstream st(task.path() / "status");
    for (std::string line; std::getline(st, line);) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0) {
        u.voluntary_switches += std::atoll(line.c_str() + 24);
      } else if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
        u.involuntary_switches += std::atoll(line.c_str() + 27);
      }
    }
  }
  return u;
}

// True as soon as `cond` holds, polled every `every`; false if it still does
// not after `limit`. Benchmarks time what they wait for themselves, so the
// poll interval bounds their resolution.
inline bool WaitUntil(const std::function<bool()>& cond, std::chrono::seconds limit,
                      std::chrono::milliseconds every) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(every);
  }
  return cond();
}

// A control plane that a benchmark starts for itself with the scripts of
// test/cluster/ (in SCRIPTS, ending in '/'): up.sh in a new directory
// /tmp/NAME-XXXXXX when made (Fail if it does not come up), down.sh when destroyed.
class OwnPlane {
 public:
  OwnPlane(std::string scripts, const std::string& name) : scripts_(std::move(scripts)) {
    std::string tmpl = "/tmp/" + name + "-XXXXXX";
    if (!mkdtemp(tmpl.data())) Fail("mkdtemp failed");
    dir_ = tmpl;
    std::printf("starting a control plane in %s\n", dir_.c_str());
    int rc = 0;
    std::string log = Shell(scripts_ + "up.sh " + Quote(dir_) + " 2>&1", &rc);
    if (rc != 0) Fail("test/cluster/up.sh failed:\n" + log);
  }
  ~OwnPlane() {
    int ignored = 0;
    Shell(scripts_ + "down.sh " + Quote(dir_) + " >/dev/null 2>&1", &ignored);
  }
  OwnPlane(const OwnPlane&) = delete;
  OwnPlane& operator=(const OwnPlane&) = delete;
  const std::string& dir() const { return dir_; }

 private:
  std::string scripts_;
  std::string dir_;
};

// A command run by `bash -c "exec COMMAND"` in its own process group, its
// output appended to a log; Stop() (also the destructor) ends the group:
// SIGTERM, then SIGKILL after 10 s.
class Child {
 public:
  Child(const std::string& command, const std::string& log_path) {
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      FILE* log = std::fopen(log_path.c_str(), "a");
      if (log) {
        dup2(fileno(log), 1);
        dup2(fileno(log), 2);
      }
      execl("/bin/bash", "bash", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~Child() { Stop(); }
  pid_t pid() const { return pid_; }
  // Exit code once it ended by itself, else nullopt.
  std::optional<int> Ended() {
    if (reaped_) return code_;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return code_;
    }
    return std::nullopt;
  }
  void Stop() {
    if (pid_ <= 0 || Ended()) return;
    kill(-pid_, SIGTERM);
    for (int i = 0; i < 100 && !Ended(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!Ended()) {
      kill(-pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      reaped_ = true;
      code_ = -1;
    }
  }
  // Resident set size in MiB ("VmRSS"), or -1 once gone.
  double RssMiB() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int code_ = -1;
};

inline std::string Tail(const std::string& path, size_t bytes = 1500) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

// A command-line mistake: "PROGRAM: message" on stderr and exit 2, as a usage error.
[[noreturn]] inline void Die(const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, message.c_str());
  std::exit(2);
}

// The value of `result` (a Result), else Die with its status.
template <typename R>
auto OrDie(R result) {
  if (!result.ok()) Die(result.status().ToString());
  return std::move(result).value();
}

// DIR/bench-logs, created: where a benchmark on the plane of DIR keeps its logs.
inline std::string LogsDir(const std::string& dir) {
  std::string logs = dir + "/bench-logs";
  std::filesystem::create_directories(logs);
  return logs;
}

// "NAME=VALUE" split at the first '='; the name must not be empty.
inline std::pair<std::string, std::string> SplitPair(const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) Die("expected NAME=VALUE, got " + text);
  return {text.substr(0, eq), text.substr(eq + 1)};
}

// The whole of `text` as an integer in [min, max], else Die naming `flag`.
inline int Number(const std::string& flag, const std::string& text, int min, int max) {
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < min || v > max) {
    Die(flag + " wants an integer from " + std::to_string(min) + " to " + std::to_string(max) +
        ", got " + text);
  }
  return static_cast<int>(v);
}

inline double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The address of the benches' node `i`: 10.64.0.0/10, one per node.
inline std::string NodeIp(int i) {
  return "10." + std::to_string(64 + i / 65536) + "." + std::to_string((i / 256) % 256) + "." +
         std::to_string(i % 256);
}

// "Approved", "Denied", "Failed" or "" (pending), from a CSR's conditions.
inline std::string DecisionOf(const nlohmann::json& csr) {
  const nlohmann::json status = csr.value("status", nlohmann::json::object());
  for (const auto& c : status.value("conditions", nlohmann::json::array())) {
    std::string type = c.value("type", "");
    if (c.value("status", "") == "True" &&
        (type == "Approved" || type == "Denied" || type == "Failed")) {
      return type;
    }
  }
  return "";
}

// A result's number `key` for a table cell, "-" when there is none.
inline std::string Fmt(const nlohmann::json& r, const char* key, const char* fmt = "%.1f") {
  if (!r.contains(key) || !r[key].is_number()) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, r[key].get<double>());
  return buf;
}

// What a benchmark comparing certguard with its peers reads from its command
// line besides its own flags.
struct CompareArgs {
  std::string cluster_dir;
  int timeout_seconds = 600;
  std::string out;
  std::vector<std::pair<std::string, std::string>> contenders;   // name, command
  std::vector<std::pair<std::string, std::string>> unavailable;  // name, why
  std::vector<std::pair<std::string, std::string>> meta;         // written as they are
};

// A benchmark's own flags, each with what to do with its value.
using FlagHandlers = std::map<std::string, std::function<void(const std::string& value)>>;

// A handler that stores its flag's value as an integer in [min, max] (else Die).
inline std::function<void(const std::string&)> IntFlag(const std::string& flag, int& into, int min,
                                                       int max) {
  return [&into, flag, min, max](const std::string& v) { into = Number(flag, v, min, max); };
}

// Reads `--cluster DIR` (required), `--timeout SECONDS`, `--out FILE`, and the
// repeatable `--unavailable NAME=WHY`, `--meta KEY=VALUE` and `contender_flag
// NAME=COMMAND` into `args`, and the flags of `own` through their handlers.
// Every flag takes one value; Die on another flag or a missing value.
inline void ParseCompareArgs(int argc, char** argv, const std::string& contender_flag,
                             CompareArgs& args, const FlagHandlers& own) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto handler = own.find(a);
    const bool common = a == "--cluster" || a == "--timeout" || a == "--out" ||
                        a == "--unavailable" || a == "--meta" || a == contender_flag;
    if (!common && handler == own.end()) Die("unknown argument " + a);
    if (i + 1 >= argc) Die(a + " needs a value");
    const std::string value = argv[++i];
    if (a == "--cluster") args.cluster_dir = value;
    else if (a == "--timeout") args.timeout_seconds = Number(a, value, 1, 86400);
    else if (a == "--out") args.out = value;
    else if (a == "--unavailable") args.unavailable.push_back(SplitPair(value));
    else if (a == "--meta") args.meta.push_back(SplitPair(value));
    else if (a == contender_flag) args.contenders.push_back(SplitPair(value));
    else handler->second(value);
  }
  if (args.cluster_dir.empty()) Die("--cluster DIR is required");
}

// The results array as a comparison starts it: one entry for each contender
// that could not run, with why.
inline nlohmann::json UnavailableResults(const CompareArgs& args) {
  nlohmann::json results = nlohmann::json::array();
  for (const auto& [name, why] : args.unavailable) {
    results.push_back({{"name", name}, {"status", "unavailable"}, {"reason", why}});
  }
  return results;
}

// The --meta pairs as a JSON object.
inline nlohmann::json MetaOf(const CompareArgs& args) {
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [k, v] : args.meta) meta[k] = v;
  return meta;
}

// Prints "  name: reason" for each result that has a reason.
inline void PrintReasons(const nlohmann::json& results) {
  for (const auto& r : results) {
    if (r.contains("reason")) {
      std::printf("  %s: %s\n", r["name"].get<std::string>().c_str(),
                  r["reason"].get<std::string>().c_str());
    }
  }
}

// Writes `out` as indented JSON to `path` (its directory created) and says so.
inline void WriteResults(const std::string& path, const nlohmann::json& out) {
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::ofstream(path) << out.dump(2) << "\n";
  std::printf("wrote %s\n", path.c_str());
}

}  // namespace certguard::bench
