// Runs the certguard binary as a child process for integration tests:
//
//   CertguardProcess cg({"run", "--kubeconfig", kc, "--leader-elect=false"}, log_path);
//   REQUIRE(cg.WaitForLog("csr controller started", std::chrono::seconds(30)));
//   cg.Stop();     // SIGTERM, then waits (SIGKILL after 20 s); the exit code
//   cg.Kill();     // SIGKILL at once, as a crash would
//
// The destructor kills a process still running. The binary is $CERTGUARD_BIN or
// operator/certguard next to the test binary's folder (build/test -> build/operator),
// unless one is named (a peer run by a benchmark).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace certguard::test {

std::string CertguardBinary();

class CertguardProcess {
 public:
  // Starts `certguard ARGS...` with stdout and stderr appended to `log_path`.
  CertguardProcess(std::vector<std::string> args, std::string log_path);
  // The same for another binary.
  CertguardProcess(const std::string& binary, std::vector<std::string> args, std::string log_path);
  ~CertguardProcess();
  CertguardProcess(const CertguardProcess&) = delete;
  CertguardProcess& operator=(const CertguardProcess&) = delete;

  bool running();
  pid_t pid() const { return pid_; }
  // SIGTERM and wait; the exit code, or -1 when it had to be killed or died of a signal.
  int Stop(std::chrono::seconds grace = std::chrono::seconds(20));
  // SIGKILL and reap.
  void Kill();
  // Waits for the process to end by itself; its exit code, -1 on timeout or signal.
  int Wait(std::chrono::seconds timeout);

  std::string Log() const;
  // Polls the log for `text`; false on timeout or when the process ended first.
  bool WaitForLog(const std::string& text, std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  std::string log_path_;
};

// The port a certguard process logged as `name` ("metrics_port=8080" or
// metrics_port="8080"); 0 when it has not logged it (yet).
int PortFromLog(const std::string& log, const std::string& name);

// Polls `fn` every 200 ms until it returns true or `timeout` (times testing::TimeScale()) passes.
bool Eventually(const std::function<bool()>& fn, std::chrono::milliseconds timeout);

}  // namespace certguard::test
