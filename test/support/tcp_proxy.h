// A TCP proxy a test controls, to cut the network between certguard and the
// API server without touching either:
//
//   TcpProxy proxy("127.0.0.1", apiserver_port);   // listens on 127.0.0.1:proxy.port()
//   ... point a kubeconfig at https://127.0.0.1:proxy.port() ...
//   proxy.SetBlocked(true);   // new connections are closed at once
//   proxy.CutAll();           // open ones are torn down (both directions)
//   proxy.SetBlocked(false);  // the network is back
//
// TLS passes through untouched (the bytes are copied), so the API server's
// certificate must name 127.0.0.1, as the test plane's does.
#pragma once

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace certguard::test {

class TcpProxy {
 public:
  TcpProxy(std::string target_host, int target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  void SetBlocked(bool blocked) { blocked_ = blocked; }
  // Shuts down every open connection: both peers see the connection reset or closed.
  void CutAll();
  size_t accepted() const { return accepted_; }
  size_t refused() const { return refused_; }

 private:
  void AcceptLoop();
  void Pipe(int client, int upstream);

  std::string host_;
  int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> blocked_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> accepted_{0};
  std::atomic<size_t> refused_{0};
  std::mutex mu_;
  std::set<int> open_;  // both sockets of every live connection
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace certguard::test
