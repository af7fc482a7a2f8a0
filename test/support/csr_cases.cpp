#include "support/csr_cases.h"

#include "support/pki.h"

namespace certguard::testing::csr_cases {

std::string KubeletServing(const std::string& node) {
  return CsrBuilder()
      .Subject({{"O", "system:nodes"}, {"CN", "system:node:" + node}})
      .Dns(node)
      .Ip("10.0.0.11")
      .Ip("fd00:0:0:0:0:0:0:11")
      .Key(Key::Ec("P-256"))
      .Pem();
}

Attributes EverySubjectAttributeList() {
  return {{"C", "DE"},
          {"ST", "Berlin"},
          {"L", "Mitte"},
          {"O", "b"},
          {"O", "a"},
          {"OU", "ops"},
          {"CN", "x"},
          {"1.2.3.4.5", "custom"}};
}

std::string EverySubjectAttribute() {
  return CsrBuilder().Subject(EverySubjectAttributeList()).Pem();
}

std::string EverySanType() {
  return CsrBuilder()
      .Cn("x")
      .Dns("a.example")
      .Email("ops@example.com")
      .Uri("spiffe://cluster/ns/default/sa/x")
      .Dns("b.example")
      .Ip("192.168.1.1")
      .Ip("2001:DB8::1")
      .Pem();
}

std::string OtherNameAndRid() {
  return CsrBuilder()
      .Cn("x")
      .Extension("subjectAltName", "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:a@b,RID:1.2.3.4")
      .Pem();
}

std::string OtherExtensions() {
  CsrBuilder b;
  b.Cn("x").Dns("x");
  b.KeyUsage("critical,digitalSignature").ExtKeyUsage("clientAuth");
  b.Extension("basicConstraints", "critical,CA:TRUE");
  return b.Pem();
}

}  // namespace certguard::testing::csr_cases
