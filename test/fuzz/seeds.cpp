// Writes a small seed corpus for the fuzz targets, minted now with the test
// PKI builders: fuzz_seeds DIR creates DIR/csr, DIR/bundle and DIR/ip.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "support/pki.h"

namespace fs = std::filesystem;
using namespace certguard::testing;

namespace {

void Write(const fs::path& dir, const std::string& name, const std::string& data) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << data;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_seeds DIR\n";
    return 2;
  }
  fs::path out = argv[1];
  try {
    CsrBuilder kubelet = CsrBuilder()
                             .Subject({{"O", "system:nodes"}, {"CN", "system:node:worker-1"}})
                             .Dns("worker-1")
                             .Ip("10.0.0.11")
                             .Ip("fd00::11");
    Write(out / "csr", "kubelet.pem", kubelet.Pem());
    Write(out / "csr", "kubelet.der", kubelet.Der());
    Write(out / "csr", "rsa.pem", CsrBuilder().Cn("rsa").Key(Key::Rsa(1024)).Email("a@b").Pem());
    Write(out / "csr", "ed25519.der",
          CsrBuilder().Cn("ed").Key(Key::Ed25519()).Uri("spiffe://x/y").Der());
    Write(out / "csr", "extensions.der",
          CsrBuilder()
              .Subject({{"C", "DE"}, {"O", "a"}, {"OU", "b"}, {"CN", "c"}})
              .KeyUsage("critical,digitalSignature")
              .ExtKeyUsage("clientAuth")
              .Extension("basicConstraints", "CA:TRUE")
              .IpBytes("\x01\x02\x03")
              .Der());
    Write(out / "csr", "tampered.pem", CsrBuilder().Cn("t").TamperSignature().Pem());

    Cert ca = CertBuilder().Cn("root").Ca().Build();
    Cert leaf = CertBuilder().Cn("leaf").Dns("a.example").Ip("192.0.2.1").IssuedBy(ca).Build();
    Cert rsa = CertBuilder().Cn("rsa").Key(Key::Rsa(1024)).Serial("00FF").Build();
    Write(out / "bundle", "chain.pem", "# chain\nsubject=CN = leaf\n" + leaf.pem + "\n" + ca.pem);
    Write(out / "bundle", "leaf.der", leaf.der);
    Write(out / "bundle", "two.der", ca.der + rsa.der);
    Write(out / "bundle", "mixed.pem", ca.pem + Key::Ec().PrivatePem().substr(0, 40) + rsa.pem);

    std::vector<std::string> ips = {"10.0.0.0/8", "fd00::/64",       "::ffff:10.0.0.0/104",
                                    "192.0.2.1",  "2001:db8::1:0:1", "0.0.0.0/0"};
    for (size_t i = 0; i < ips.size(); ++i) Write(out / "ip", std::to_string(i), ips[i]);

    // csr_evaluate: a selector byte (signer, requester, policies), then the request.
    Write(out / "csr_evaluate", "serving.pem", "\x01" + kubelet.Pem());
    Write(out / "csr_evaluate", "serving-relaxed.der", "\x13" + kubelet.Der());
    CsrBuilder client =
        CsrBuilder().Subject({{"O", "system:nodes"}, {"CN", "system:node:worker-1"}});
    Write(out / "csr_evaluate", "client.der", std::string(1, '\0') + client.Der());
    Write(out / "csr_evaluate", "bootstrap.der", "\x24" + client.Der());
    Write(out / "csr_evaluate", "tampered.der", "\x02" + client.TamperSignature().Der());
  } catch (const std::exception& e) {
    std::cerr << "fuzz_seeds: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
