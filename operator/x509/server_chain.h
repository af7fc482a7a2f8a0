// Does a server's TLS chain verify with a given CA? For `--check-server`: a
// kubeconfig's server checked with the kubeconfig's own CA, as its client would.
// I/O: one TCP connection and a TLS handshake, nothing sent after it.
// Thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace certguard::x509 {

struct ServerChainCheck {
  bool reached = false;   // the TLS handshake got the server's certificates
  bool verified = false;  // and they verify with the CA, for the URL's host
  std::string reason;     // why not: "connect: Connection refused", "unable to get local issuer certificate"
};

// `url` is https://HOST[:PORT][/...] (default port 443; an IPv6 host in
// brackets). Only the CAs in `ca_pem_or_der` are trusted, never the system's;
// the host is checked against the certificate's SANs (IP or DNS), as Go does.
// Connecting and the handshake each get `timeout`. No client certificate is sent.
ServerChainCheck CheckServerChain(std::string_view url, std::string_view ca_pem_or_der,
                                  std::chrono::milliseconds timeout);

}  // namespace certguard::x509
