#include "trust/metrics.h"

#include <catch2/catch.hpp>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>
#include <string>

using certguard::trust::TrustMetrics;

namespace {

std::string Render(prometheus::Registry& r) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, r.Collect());
  return out.str();
}

}  // namespace

TEST_CASE("Trust metrics carry the documented names and labels", "[trust]") {
  prometheus::Registry registry;
  TrustMetrics m(registry);
  m.SetCertificates("okd", 3);
  m.SetTargets("okd", 48, 1, 1);
  m.AddSourceError("okd", "InvalidBlock");
  m.AddSourceError("okd", "InvalidBlock");
  m.SetLastChange("okd", 1795496400);
  m.SetGaps("okd", {{{"openshift-multus", "kube-root-ca.crt"}, true},
                    {{"default", "kube-root-ca.crt"}, false}});
  std::string text = Render(registry);
  CHECK_THAT(text, Catch::Contains("certguard_trustbundle_certificates{bundle=\"okd\"} 3"));
  CHECK_THAT(text, Catch::Contains("certguard_trustbundle_targets{bundle=\"okd\",state=\"synced\"} 48"));
  CHECK_THAT(text, Catch::Contains("certguard_trustbundle_targets{bundle=\"okd\",state=\"failed\"} 1"));
  CHECK_THAT(text, Catch::Contains(
                       "certguard_trustbundle_source_errors_total{bundle=\"okd\",reason=\"InvalidBlock\"} 2"));
  CHECK_THAT(text, Catch::Contains("certguard_trustbundle_last_change_timestamp_seconds{bundle=\"okd\"} 1795496400"));
  CHECK_THAT(text, Catch::Contains(
                       "certguard_trust_gap{bundle=\"okd\",name=\"kube-root-ca.crt\",namespace=\"openshift-multus\"} 1"));
  CHECK_THAT(text, Catch::Contains(
                       "certguard_trust_gap{bundle=\"okd\",name=\"kube-root-ca.crt\",namespace=\"default\"} 0"));
}

TEST_CASE("Gap series of consumers no longer checked, and of deleted bundles, go away", "[trust]") {
  prometheus::Registry registry;
  TrustMetrics m(registry);
  m.SetGaps("a", {{{"ns1", "cm"}, true}, {{"ns2", "cm"}, true}});
  m.SetGaps("b", {{{"ns1", "cm"}, false}});
  m.SetGaps("a", {{{"ns2", "cm"}, false}});
  std::string text = Render(registry);
  CHECK(text.find("bundle=\"a\",name=\"cm\",namespace=\"ns1\"") == std::string::npos);
  CHECK_THAT(text, Catch::Contains("certguard_trust_gap{bundle=\"a\",name=\"cm\",namespace=\"ns2\"} 0"));
  CHECK_THAT(text, Catch::Contains("certguard_trust_gap{bundle=\"b\",name=\"cm\",namespace=\"ns1\"} 0"));

  m.SetCertificates("a", 2);
  m.AddSourceError("a", "Unreadable");
  m.Forget("a");
  text = Render(registry);
  CHECK(text.find("certguard_trust_gap{bundle=\"a\"") == std::string::npos);
  CHECK(text.find("certguard_trustbundle_certificates{bundle=\"a\"}") == std::string::npos);
  CHECK_THAT(text, Catch::Contains("certguard_trust_gap{bundle=\"b\""));
  // A counter counts what happened: it outlives the bundle.
  CHECK_THAT(text, Catch::Contains("source_errors_total{bundle=\"a\",reason=\"Unreadable\"} 1"));
}
