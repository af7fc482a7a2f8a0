#include "support/certguard_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "support/wait.h"

namespace certguard::test {

std::string CertguardBinary() {
  if (const char* bin = std::getenv("CERTGUARD_BIN"); bin != nullptr && *bin != '\0') return bin;
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "certguard";
  return (self.parent_path().parent_path() / "operator" / "certguard").string();
}

CertguardProcess::CertguardProcess(std::vector<std::string> args, std::string log_path)
    : CertguardProcess(CertguardBinary(), std::move(args), std::move(log_path)) {}

CertguardProcess::CertguardProcess(const std::string& binary, std::vector<std::string> args,
                                   std::string log_path)
    : log_path_(std::move(log_path)) {
  std::string bin = binary;
  std::vector<std::string> argv_s;
  argv_s.push_back(bin);
  for (auto& a : args) argv_s.push_back(std::move(a));
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
}

CertguardProcess::~CertguardProcess() {
  if (running()) Kill();
}

bool CertguardProcess::running() {
  if (pid_ <= 0 || reaped_) return false;
  pid_t r = waitpid(pid_, &status_, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    return false;
  }
  return r == 0;
}

int CertguardProcess::Wait(std::chrono::seconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > end) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!reaped_) return -1;
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
}

int CertguardProcess::Stop(std::chrono::seconds grace) {
  if (!running()) return reaped_ && WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  kill(pid_, SIGTERM);
  int code = Wait(grace);
  if (running()) {
    Kill();
    return -1;
  }
  return code;
}

void CertguardProcess::Kill() {
  if (!running()) return;
  kill(pid_, SIGKILL);
  if (waitpid(pid_, &status_, 0) == pid_) reaped_ = true;
}

std::string CertguardProcess::Log() const {
  std::ifstream in(log_path_);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool CertguardProcess::WaitForLog(const std::string& text, std::chrono::milliseconds timeout) {
  return Eventually(
      [&] { return Log().find(text) != std::string::npos || !running(); }, timeout) &&
         Log().find(text) != std::string::npos;
}

bool Eventually(const std::function<bool()>& fn, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + testing::Scaled(timeout);
  while (true) {
    if (fn()) return true;
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

int PortFromLog(const std::string& log, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(log, m, std::regex(name + "=\"?(\\d+)"))) return 0;
  return std::stoi(m[1]);
}

}  // namespace certguard::test
