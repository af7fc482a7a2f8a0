#include "expiry/trust_gap.h"

#include <catch2/catch.hpp>
#include <chrono>

#include "support/pki.h"
#include "x509/parse.h"

using namespace certguard::expiry;
using namespace std::chrono;
using certguard::testing::Cert;
using certguard::testing::CertBuilder;

namespace {

const certguard::x509::Time kNow = floor<seconds>(system_clock::now());

Cert Ca(const std::string& cn, int valid_days = 3650) {
  return CertBuilder().Cn(cn).Ca().NotBefore(kNow - days{1}).NotAfter(kNow + days{valid_days}).Build();
}

std::vector<certguard::x509::CertificateInfo> Reference(const std::vector<const Cert*>& cas) {
  std::vector<certguard::x509::CertificateInfo> out;
  for (const Cert* c : cas) out.push_back(*certguard::x509::ParseCertificate(c->pem));
  return out;
}

ClusterTrust Data(const std::string& pem) {
  return ClusterTrust{"api-int", "https://api-int.example:6443", "certificate-authority-data", pem, "", false};
}

}  // namespace

TEST_CASE("ComputeTrustGap: the bundle's CA present in the kubeconfig is no gap", "[expiry][kubeconfig-trust]") {
  Cert ca = Ca("kube-apiserver-lb-signer");
  TrustGap gap = ComputeTrustGap({Data(ca.pem)}, Reference({&ca}), kNow);
  CHECK(gap.missing.empty());
  CHECK(gap.reasons.empty());
}

TEST_CASE("ComputeTrustGap: a rotated CA the kubeconfig lacks is a gap named by its subject", "[expiry][kubeconfig-trust]") {
  Cert old_ca = Ca("kube-apiserver-lb-signer");
  Cert new_ca = CertBuilder().Cn("kube-apiserver-lb-signer").O("openshift").Ca()
                    .NotBefore(kNow - days{1}).NotAfter(kNow + days{3650}).Build();
  // The OKD 4.15 outage: the bundle holds old and new, the node kubeconfig only the old.
  TrustGap gap = ComputeTrustGap({Data(old_ca.pem)}, Reference({&old_ca, &new_ca}), kNow);
  REQUIRE(gap.missing.size() == 1);
  CHECK(gap.missing[0] == "CN=kube-apiserver-lb-signer,O=openshift");
  CHECK(gap.reasons.empty());
  // Fixed: the kubeconfig holds the whole bundle.
  CHECK(ComputeTrustGap({Data(old_ca.pem + new_ca.pem)}, Reference({&old_ca, &new_ca}), kNow)
            .missing.empty());
}

TEST_CASE("ComputeTrustGap: same subject with another key is a gap, the same key re-issued is not", "[expiry][kubeconfig-trust]") {
  Cert ca = Ca("kubernetes");
  Cert other_key = Ca("kubernetes");  // a new key: a different CA, whatever its name
  CHECK(ComputeTrustGap({Data(other_key.pem)}, Reference({&ca}), kNow).missing ==
        std::vector<std::string>{"CN=kubernetes"});
  Cert reissued = CertBuilder().Cn("kubernetes").Ca().Key(ca.key).Serial("42")
                      .NotBefore(kNow - days{1}).NotAfter(kNow + days{30}).Build();
  CHECK(ComputeTrustGap({Data(reissued.pem)}, Reference({&ca}), kNow).missing.empty());
  // Unless the copy the kubeconfig holds has expired.
  Cert expired = CertBuilder().Cn("kubernetes").Ca().Key(ca.key).Serial("43")
                     .NotBefore(kNow - days{30}).NotAfter(kNow - days{1}).Build();
  CHECK(ComputeTrustGap({Data(expired.pem)}, Reference({&ca}), kNow).missing.size() == 1);
}

TEST_CASE("ComputeTrustGap: garbage CA data is a reason and lacks every CA, no crash", "[expiry][kubeconfig-trust]") {
  Cert ca = Ca("kubernetes");
  for (const std::string& garbage :
       {std::string("not a certificate"), std::string("\x30\x82\xff\xff garbage", 12),
        std::string("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"), std::string()}) {
    TrustGap gap = ComputeTrustGap({Data(garbage)}, Reference({&ca}), kNow);
    CHECK(gap.missing == std::vector<std::string>{"CN=kubernetes"});
    REQUIRE(gap.reasons.size() == 1);
    CHECK(gap.reasons[0].rfind("cluster api-int: certificate-authority-data: ", 0) == 0);
  }
  // Not base64 (found while reading the kubeconfig).
  ClusterTrust bad{"api-int", "", "", "", "certificate-authority-data is not base64", false};
  TrustGap gap = ComputeTrustGap({bad}, Reference({&ca}), kNow);
  CHECK(gap.missing.size() == 1);
  CHECK(gap.reasons == std::vector<std::string>{"cluster api-int: certificate-authority-data is not base64"});
}

TEST_CASE("ComputeTrustGap: a good CA beside a bad block still counts", "[expiry][kubeconfig-trust]") {
  Cert ca = Ca("kubernetes");
  TrustGap gap = ComputeTrustGap(
      {Data(ca.pem + "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n")}, Reference({&ca}), kNow);
  CHECK(gap.missing.empty());
  CHECK(gap.reasons.size() == 1);
}

TEST_CASE("ComputeTrustGap: a certificate-authority file is named in reasons", "[expiry][kubeconfig-trust]") {
  Cert ca = Ca("kubernetes");
  Cert other = Ca("other");
  ClusterTrust file{"local", "https://localhost:6443", "certificate-authority /etc/kubernetes/ca.crt", ca.pem, "", false};
  CHECK(ComputeTrustGap({file}, Reference({&ca}), kNow).missing.empty());
  CHECK(ComputeTrustGap({file}, Reference({&ca, &other}), kNow).missing == std::vector<std::string>{"CN=other"});
  ClusterTrust unreadable{"local", "", "certificate-authority /etc/kubernetes/ca.crt", "",
                          "certificate-authority /etc/kubernetes/ca.crt: no such file", false};
  TrustGap gap = ComputeTrustGap({unreadable}, Reference({&ca}), kNow);
  CHECK(gap.missing.size() == 1);
  CHECK(gap.reasons == std::vector<std::string>{"cluster local: certificate-authority /etc/kubernetes/ca.crt: no such file"});
  ClusterTrust garbage = file;
  garbage.ca = "garbage";
  gap = ComputeTrustGap({garbage}, Reference({&ca}), kNow);
  CHECK(gap.missing.size() == 1);
  REQUIRE(gap.reasons.size() == 1);
  CHECK(gap.reasons[0].rfind("cluster local: certificate-authority /etc/kubernetes/ca.crt: ", 0) == 0);
}

TEST_CASE("ComputeTrustGap: no CA, insecure, expired reference CAs, several clusters, duplicates", "[expiry][kubeconfig-trust]") {
  Cert ca = Ca("kubernetes");
  Cert gone = CertBuilder().Cn("gone").Ca().NotBefore(kNow - days{400}).NotAfter(kNow - days{1}).Build();
  ClusterTrust none{"c", "https://x", "", "", "", false};
  TrustGap gap = ComputeTrustGap({none}, Reference({&ca}), kNow);
  CHECK(gap.missing.size() == 1);
  CHECK(gap.reasons[0].find("no certificate-authority") != std::string::npos);
  ClusterTrust insecure{"c", "https://x", "", "", "", true};
  CHECK(ComputeTrustGap({insecure}, Reference({&ca}), kNow).missing.empty());
  // An expired CA of the reference verifies nothing: not lacking it is no gap.
  CHECK(ComputeTrustGap({Data(ca.pem)}, Reference({&ca, &gone}), kNow).missing.empty());
  // One entry of two lacks it: the kubeconfig does; the CA twice in the bundle is one gap.
  gap = ComputeTrustGap({Data(ca.pem), none}, Reference({&ca, &ca}), kNow);
  CHECK(gap.missing == std::vector<std::string>{"CN=kubernetes"});
  // An empty reference: nothing to lack.
  CHECK(ComputeTrustGap({none}, {}, kNow).missing.empty());
}

TEST_CASE("AttachTrustGaps sets every finding of a kubeconfig and adds one for a kubeconfig without", "[expiry][kubeconfig-trust]") {
  std::vector<Finding> findings{
      Finding{"/etc/kubernetes/kubeconfig (cluster a)", CertFacts{}, "", "/etc/kubernetes/kubeconfig"},
      Finding{"/etc/kubernetes/pki/ca.crt", CertFacts{}, ""},
  };
  AttachTrustGaps(findings, {KubeconfigGap{"/etc/kubernetes/kubeconfig", TrustGap{{"CN=new"}, {}}},
                             KubeconfigGap{"/var/lib/kubelet/kubeconfig", TrustGap{{"CN=new"}, {"cluster a: no certificate-authority: it trusts only the system's roots"}}}});
  REQUIRE(findings.size() == 3);
  REQUIRE(findings[0].trust_gap);
  CHECK(*findings[0].trust_gap == std::vector<std::string>{"CN=new"});
  CHECK_FALSE(findings[1].trust_gap);
  CHECK(findings[2].source == "/var/lib/kubelet/kubeconfig");
  CHECK_FALSE(findings[2].cert);
  CHECK(findings[2].error.find("no certificate-authority") != std::string::npos);
  CHECK(findings[2].trust_gap_reasons.size() == 1);
  CHECK(AnyTrustGap(findings));
}

TEST_CASE("InTrustScope: empty is all, a path or a directory above it, never a prefix of a name", "[expiry][kubeconfig-trust]") {
  CHECK(InTrustScope("/etc/kubernetes/kubeconfig", {}));
  CHECK(InTrustScope("/etc/kubernetes/kubeconfig", {"/etc/kubernetes/kubeconfig"}));
  CHECK(InTrustScope("/etc/kubernetes/kubeconfig", {"/etc/kubernetes"}));
  CHECK(InTrustScope("/etc/kubernetes/kubeconfig", {"/etc/kubernetes/"}));
  CHECK(InTrustScope("/etc/kubernetes/kubeconfig", {"/"}));
  CHECK_FALSE(InTrustScope("/etc/kubernetes/kubeconfig", {"/etc/kube"}));
  CHECK_FALSE(InTrustScope("/etc/kubernetes/kubeconfig-kubelet", {"/etc/kubernetes/kubeconfig"}));
  CHECK_FALSE(InTrustScope("/etc/kubernetes/static-pod-resources/kcm/kubeconfig",
                           {"/etc/kubernetes/kubeconfig", "/var/lib/kubelet/kubeconfig"}));
}
