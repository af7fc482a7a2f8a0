#include "x509/server_chain.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <openssl/ssl.h>

#include "x509/openssl_util.h"
#include "x509/parse.h"

namespace certguard::x509 {

namespace {

using SslCtxPtr = std::unique_ptr<SSL_CTX, ossl::Deleter<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, ossl::Deleter<SSL_free>>;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// A write to a socket the server closed raises SIGPIPE, which would end the
// process: blocked on this thread for the check, and a pending one consumed.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlocked() {
    sigset_t pending;
    if (!sigismember(&old_, SIGPIPE) && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
      const timespec zero{0, 0};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
};

struct Target {
  std::string host;
  std::string port = "443";
  bool ip = false;
};

bool ParseUrl(std::string_view url, Target* t, std::string* why) {
  constexpr std::string_view kScheme = "https://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    *why = "server " + std::string(url) + ": not an https URL";
    return false;
  }
  std::string_view rest = url.substr(kScheme.size());
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (rest.find('@') != std::string_view::npos) {
    *why = "server URL with user information";
    return false;
  }
  std::string_view host = rest, port;
  if (!rest.empty() && rest[0] == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      *why = "server URL: unterminated IPv6 address";
      return false;
    }
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        *why = "server URL: junk after the IPv6 address";
        return false;
      }
      port = after.substr(1);
    }
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) {
    *why = "server URL without a host";
    return false;
  }
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) {
      *why = "server URL: bad port";
      return false;
    }
    t->port = std::string(port);
  }
  t->host = std::string(host);
  unsigned char buf[16];
  t->ip = inet_pton(AF_INET, t->host.c_str(), buf) == 1 || inet_pton(AF_INET6, t->host.c_str(), buf) == 1;
  return true;
}

// A connected blocking socket with send and receive timeouts, or -1 and why.
int Connect(const Target& t, std::chrono::milliseconds timeout, std::string* why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = t.ip ? AI_NUMERICHOST : 0;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(t.host.c_str(), t.port.c_str(), &hints, &res); rc != 0) {
    *why = "resolve " + t.host + ": " + gai_strerror(rc);
    return -1;
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(res, &::freeaddrinfo);
  *why = "connect: no address";
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    Fd s{::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol)};
    if (s.fd < 0) {
      *why = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    int rc = ::connect(s.fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{s.fd, POLLOUT, 0};
      rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
      if (rc == 0) {
        *why = "connect: timed out";
        continue;
      }
      int err = 0;
      socklen_t len = sizeof(err);
      if (rc < 0 || ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      rc = err == 0 ? 0 : -1;
      errno = err;
    }
    if (rc != 0) {
      *why = std::string("connect: ") + std::strerror(errno);
      continue;
    }
    const int flags = ::fcntl(s.fd, F_GETFL);
    ::fcntl(s.fd, F_SETFL, flags & ~O_NONBLOCK);
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    ::setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    const int fd = s.fd;
    s.fd = -1;
    return fd;
  }
  return -1;
}

}  // namespace

ServerChainCheck CheckServerChain(std::string_view url, std::string_view ca_pem_or_der,
                                  std::chrono::milliseconds timeout) {
  ServerChainCheck out;
  Target target;
  if (!ParseUrl(url, &target, &out.reason)) return out;

  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) {
    out.reason = "TLS: " + ossl::TakeError();
    return out;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // A new context's store is empty: only the kubeconfig's CAs are trusted.
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
  Bundle cas = ParseBundle(ca_pem_or_der);
  for (const auto& c : cas.certificates) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(c.der.data());
    ossl::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(c.der.size())));
    if (x) X509_STORE_add_cert(store, x.get());
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);

  SigpipeBlocked no_sigpipe;
  Fd sock{Connect(target, timeout, &out.reason)};
  if (sock.fd < 0) return out;
  SslPtr ssl(SSL_new(ctx.get()));
  if (!ssl) {
    out.reason = "TLS: " + ossl::TakeError();
    return out;
  }
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
  if (target.ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, target.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl.get(), target.host.c_str());
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    X509_VERIFY_PARAM_set1_host(param, target.host.c_str(), target.host.size());
  }
  SSL_set_fd(ssl.get(), sock.fd);
  ERR_clear_error();
  const int rc = SSL_connect(ssl.get());
  const long verify = SSL_get_verify_result(ssl.get());
  X509* peer = SSL_get0_peer_certificate(ssl.get());
  if (rc == 1) {
    out.reached = out.verified = true;  // nothing more to say: closed without a close_notify
    return out;
  }
  if (verify != X509_V_OK) {
    // The handshake stopped at the certificate check: the server was reached.
    out.reached = true;
    out.reason = X509_verify_cert_error_string(verify);
    if (cas.certificates.empty()) out.reason += " (the kubeconfig holds no readable CA)";
    return out;
  }
  out.reached = peer != nullptr;
  out.reason = "TLS handshake: " + ossl::TakeError(errno != 0 ? std::strerror(errno) : "failed");
  return out;
}

}  // namespace certguard::x509
