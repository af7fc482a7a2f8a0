// Writes a small seed corpus for the fuzz targets, minted now with the test
// PKI builders: fuzz_seeds DIR creates a folder per target (DIR/csr, DIR/bundle, ...).
#include <openssl/evp.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "support/der_builder.h"
#include "support/hostile_csrs.h"
#include "support/pki.h"
#include "support/protobuf_writer.h"
#include "x509/pem.h"

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

    // csr_parity: DER of kubelet requests (each key type) and of the hostile classes.
    Write(out / "csr_parity", "serving.der", kubelet.Der());
    Write(out / "csr_parity", "client.der",
          CsrBuilder().Subject({{"O", "system:nodes"}, {"CN", "system:node:worker-1"}}).Der());
    Write(out / "csr_parity", "serving-rsa.der", CsrBuilder(kubelet).Key(Key::Rsa(2048)).Der());
    Write(out / "csr_parity", "serving-ed25519.der", CsrBuilder(kubelet).Key(Key::Ed25519()).Der());
    Write(out / "csr_parity", "serving-p384.der", CsrBuilder(kubelet).Key(Key::Ec("P-384")).Der());
    Key parity_key = Key::Ec();
    Write(out / "csr_parity", "hand-built.der", GoodServingCsr(HostileTarget{}, parity_key));
    for (const auto& h : HostileCsrs(HostileTarget{}, parity_key)) {
      Write(out / "csr_parity", "hostile-" + h.name + ".der", h.der);
    }

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

    // watch: a chunking byte, then a watch stream (events, a bookmark, an error, blanks, CRLF).
    const std::string events =
        "{\"type\":\"ADDED\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\","
        "\"resourceVersion\":\"5\"}}}\n\r\n"
        "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"labels\":{\"x\":\"y\"}}}}\r\n"
        "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\n"
        "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n"
        "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\"}}\n";
    Write(out / "watch", "stream", std::string(1, '\x03') + events);
    Write(out / "watch", "partial", std::string(1, '\x20') + events + "{\"type\":\"ADD");
    Write(out / "watch", "bad", std::string(1, '\x07') + "{\"type\":\"NOPE\",\"object\":{}}\n[1]\n");

    // protobuf: a run-length byte, then a List body as kube-apiserver sends it.
    Pb meta;
    meta.Str(1, "csr-1").Str(5, "uid").Str(6, "7").Message(8, Pb().Varint(1, 1700000000))
        .Entry(11, "app", "a").Message(13, Pb().Str(1, "Node").Str(3, "n").Varint(6, 1))
        .Str(14, "f");
    Pb csr;
    csr.Message(1, meta)
        .Message(2, Pb().Str(1, kubelet.Pem()).Str(2, "system:node:worker-1").Str(4, "system:nodes")
                        .Str(5, "server auth").Message(6, Pb().Str(1, "k").Message(2, Pb().Str(1, "v")))
                        .Str(7, "kubernetes.io/kubelet-serving").Varint(8, 3600))
        .Message(3, Pb().Message(1, Pb().Str(1, "Approved").Str(6, "True").Message(4, Pb().Varint(1, 5)))
                        .Str(2, kubelet.Der()));
    Pb node;
    node.Message(1, Pb().Str(1, "worker-1"))
        .Message(3, Pb().Str(3, "Running")
                        .Message(4, Pb().Str(1, "Ready").Str(2, "True").Message(3, Pb().Varint(1, 9)))
                        .Message(5, Pb().Str(1, "InternalIP").Str(2, "10.0.0.11")));
    Write(out / "protobuf", "csrs", "\x07" + ProtobufListBody(Pb().Str(2, "42").Str(3, "c"), {csr, csr}));
    Write(out / "protobuf", "nodes", "\x40" + ProtobufListBody(Pb().Str(2, "9"), {node}, "NodeList"));
    Write(out / "protobuf", "empty", "\x01" + ProtobufListBody(Pb(), {}));

    // kubeconfig: one file, or two separated by a NUL (merged like $KUBECONFIG).
    const std::string kubeconfig =
        "apiVersion: v1\nkind: Config\ncurrent-context: admin\n"
        "clusters:\n- name: plane\n  cluster:\n    server: https://127.0.0.1:6443/\n"
        "    certificate-authority-data: " + Base64(ca.pem) + "\n"
        "users:\n- name: admin\n  user:\n    token: abc\n"
        "contexts:\n- name: admin\n  context: {cluster: plane, user: admin, namespace: ns}\n";
    Write(out / "kubeconfig", "token", kubeconfig);
    Write(out / "kubeconfig", "merged",
          "current-context: other\ncontexts:\n- name: other\n  context: {cluster: plane, user: u}\n"
          "users:\n- name: u\n  user: {tokenFile: token, client-certificate: c.crt}\n" +
              std::string(1, '\0') + kubeconfig);
    Write(out / "kubeconfig", "insecure",
          "clusters:\n- name: c\n  cluster: {server: 'http://x', insecure-skip-tls-verify: true}\n"
          "contexts:\n- name: c\n  context: {cluster: c, user: ''}\ncurrent-context: c\n");

    // trust_build: an options byte, then sources separated by 0xFF.
    const certguard::x509::Time y2000 = certguard::x509::Time{} + std::chrono::hours(24 * 10957);
    Cert old_ca = CertBuilder().Cn("old root").Ca().NotBefore(y2000).NotAfter(y2000 + std::chrono::hours(24 * 365)).Build();
    Write(out / "trust_build", "two-sources", std::string(1, '\0') + ca.pem + "\xff" + rsa.pem + ca.pem);
    Write(out / "trust_build", "ca-only-expired", "\x03" + ca.pem + old_ca.pem + "\xff" + leaf.pem);
    Write(out / "trust_build", "garbage", "\x04" + ca.pem + "\xff-----BEGIN CERTIFICATE-----\nAAAA\n");
  } catch (const std::exception& e) {
    std::cerr << "fuzz_seeds: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
