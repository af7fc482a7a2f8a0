// Writing, the second part of a TrustBundle reconcile: targets planned against
// the cache, written a few at a time, and the writes the cache has not shown
// yet trusted for a time-to-live on the injected clock.
#include "trust/targets.h"

#include <catch2/catch.hpp>

#include <string>

#include "common/time.h"
#include "support/kube/fake_client.h"
#include "support/pki.h"
#include "support/trust/map_view.h"
#include "trust/build.h"
#include "trust/formats.h"
#include "trust/reconciler.h"
#include "x509/pem.h"

using namespace certguard;
using namespace certguard::trust;
using namespace std::chrono_literals;
using certguard::kube::testing::FakeClient;
using certguard::testing::CertBuilder;
using certguard::trust::testing::MapView;
using nlohmann::json;

namespace {

json Cm(const std::string& ns, const std::string& name, json data) {
  return MapView::ConfigMapObject(ns, name, std::move(data));
}

DesiredTarget Desired(const std::string& pem) {
  TargetSpec t;
  t.name = "cluster-ca";
  t.key = "ca.crt";
  return {{"cluster-ca", "tb-uid"}, t, pem, DigestMarker(pem)};
}

size_t CountActions(const FakeClient& api, const std::string& prefix) {
  size_t n = 0;
  for (const std::string& a : api.Actions()) n += a.rfind(prefix, 0) == 0;
  return n;
}

const common::Time kNow = common::Time(std::chrono::seconds(1795496400));

}  // namespace

TEST_CASE("TargetWriter creates each target once and trusts its writes the cache lags on",
          "[trust][targets]") {
  FakeClient api;
  common::FakeClock clock(kNow);
  TargetWriter writer(api, clock, {2, 30s});
  const DesiredTarget desired = Desired(CertBuilder().Cn("writer-ca").Ca().Pem());

  TargetWrites first = writer.Write(desired, {"a", "b", "c"}, {});
  CHECK(first.written == 3);
  CHECK(first.write_errors.empty());
  CHECK(first.first_error.ok());
  CHECK_FALSE(first.trusting_writes);
  CHECK(api.Objects(kube::resources::kConfigMaps).size() == 3);

  // The cache has shown none of them yet: no write again, and the writes are trusted.
  api.ClearActions();
  TargetWrites second = writer.Write(desired, {"a", "b", "c"}, {});
  CHECK(second.plan.in_sync == 3);
  CHECK(second.written == 0);
  CHECK(second.trusting_writes);
  CHECK(api.Actions().empty());

  // Past the time-to-live on the injected clock, the cache is believed again:
  // it still shows nothing, so the creates are tried again and find the objects.
  clock.Advance(31s);
  TargetWrites third = writer.Write(desired, {"a", "b", "c"}, {});
  CHECK_FALSE(third.trusting_writes);
  CHECK(CountActions(api, "create configmaps") == 3);
  CHECK(third.write_errors.size() == 3);
  CHECK(third.write_failures == 3);
  CHECK(third.first_error.code() == Code::kAlreadyExists);
}

TEST_CASE("TargetWriter stops trusting a write once the cache shows it", "[trust][targets]") {
  FakeClient api;
  common::FakeClock clock(kNow);
  TargetWriter writer(api, clock, {1, 30s});
  const DesiredTarget desired = Desired(CertBuilder().Cn("observe-ca").Ca().Pem());
  REQUIRE(writer.Write(desired, {"a"}, {}).written == 1);
  const json written = api.Objects(kube::resources::kConfigMaps).begin()->second;
  writer.Observe("a", "cluster-ca", written["metadata"]["resourceVersion"], false);
  // The cache showed the write, then lost it: the writer believes the cache.
  TargetWrites again = writer.Write(desired, {"a"}, {});
  CHECK_FALSE(again.trusting_writes);
  CHECK(CountActions(api, "create configmaps") == 2);
  // With the cache showing it, nothing is written.
  api.ClearActions();
  TargetWrites synced = writer.Write(desired, {"a"}, {FactsOf(written)});
  CHECK(synced.plan.in_sync == 1);
  CHECK(api.Actions().empty());
}

TEST_CASE("TargetWriter forgets a bundle's writes", "[trust][targets]") {
  FakeClient api;
  common::FakeClock clock(kNow);
  TargetWriter writer(api, clock, {1, 30s});
  const DesiredTarget desired = Desired(CertBuilder().Cn("forget-ca").Ca().Pem());
  REQUIRE(writer.Write(desired, {"a"}, {}).written == 1);
  writer.Forget("cluster-ca");
  CHECK_FALSE(writer.Write(desired, {"a"}, {}).trusting_writes);
}

TEST_CASE("TargetWriter deletes targets of namespaces no longer selected", "[trust][targets]") {
  FakeClient api;
  common::FakeClock clock(kNow);
  TargetWriter writer(api, clock, {4, 30s});
  const DesiredTarget desired = Desired(CertBuilder().Cn("delete-ca").Ca().Pem());
  REQUIRE(writer.Write(desired, {"a", "b"}, {}).written == 2);
  std::vector<ConfigMapFacts> cached;
  for (const auto& [k, v] : api.Objects(kube::resources::kConfigMaps)) cached.push_back(FactsOf(v));
  TargetWrites w = writer.Write(desired, {"a"}, cached);
  CHECK(w.plan.Count(TargetActionKind::kDelete) == 1);
  CHECK(w.write_errors.empty());
  CHECK(api.Objects(kube::resources::kConfigMaps).size() == 1);
  // A target already gone counts as deleted.
  TargetWrites gone = writer.Write(desired, {"a"}, cached);
  CHECK(gone.write_errors.empty());
}

TEST_CASE("ExistingTargets takes labelled targets and same-named ConfigMaps", "[trust][targets]") {
  MapView view;
  json own = Cm("x", "old-name", {});
  own["metadata"]["labels"] = {{kBundleLabel, "cluster-ca"}};
  view.configmaps["x/old-name"] = own;
  view.configmaps["a/cluster-ca"] = Cm("a", "cluster-ca", {});
  view.configmaps["z/cluster-ca"] = Cm("z", "cluster-ca", {});  // not selected
  auto existing = ExistingTargets(Desired("pem"), {"a", "b"}, view);
  REQUIRE(existing.size() == 2);
  CHECK(existing[0].ns == "x");
  CHECK(existing[1].ns == "a");
}

TEST_CASE("TargetWriter writes a Secret target as an Opaque Secret",
          "[trust][targets][secret-target]") {
  FakeClient api;
  common::FakeClock clock(kNow);
  TargetWriter writer(api, clock, {1, 30s});
  const std::string pem = CertBuilder().Cn("secret-ca").Ca().Pem();
  DesiredTarget desired = Desired(pem);
  desired.secret = true;
  TargetWrites w = writer.Write(desired, {"a"}, {});
  CHECK(w.written == 1);
  CHECK(CountActions(api, "create secrets") == 1);
  CHECK(api.Objects(kube::resources::kConfigMaps).empty());
  REQUIRE(api.Objects(kube::resources::kSecrets).size() == 1);
  const json s = api.Objects(kube::resources::kSecrets).begin()->second;
  CHECK(s["kind"] == "Secret");
  CHECK(s["type"] == "Opaque");
  CHECK(s["data"]["ca.crt"] == certguard::testing::Base64(pem));
  CHECK(s["metadata"]["labels"][kBundleLabel] == "cluster-ca");
}

TEST_CASE("MergeWrites adds the Secret targets' writes to the ConfigMaps'", "[trust][targets]") {
  TargetWrites cms;
  cms.plan.actions = {{TargetActionKind::kKeep, "a", "t", "in sync"}};
  cms.plan.in_sync = 1;
  cms.written = 2;
  TargetWrites secrets;
  secrets.plan.actions = {{TargetActionKind::kCreate, "a", "t", "missing"}};
  secrets.plan.outdated = 1;
  secrets.plan.foreign = 2;
  secrets.write_failures = 1;
  secrets.write_errors = {{"a", "t", "create: boom"}};
  secrets.first_error = Status(Code::kUnavailable, "boom");
  secrets.trusting_writes = true;
  TargetWrites m = MergeWrites(cms, secrets);
  CHECK(m.plan.actions.size() == 2);
  CHECK(m.plan.Count(TargetActionKind::kCreate) == 1);
  CHECK(m.plan.in_sync == 1);
  CHECK(m.plan.outdated == 1);
  CHECK(m.plan.foreign == 2);
  CHECK(m.written == 2);
  CHECK(m.write_failures == 1);
  REQUIRE(m.write_errors.size() == 1);
  CHECK(m.write_errors[0].name == "Secret t");
  CHECK(m.first_error.code() == Code::kUnavailable);
  CHECK(m.trusting_writes);
}

namespace {

// A desired target with the formats a spec asks for, encoded from `pem`.
DesiredTarget WithFormats(const std::string& pem, bool secret) {
  TrustBundleSpec spec;
  spec.jks = {"bundle.jks", "changeit"};
  spec.pkcs12 = {"bundle.p12", "p12-pass"};
  SourceContent source{"inline[0]", Status::Ok(), {{"", pem}}};
  const BuildResult b = Build({source}, {}, kNow);
  auto extra = FormatKeys(spec, b.certificates, b.pem);
  REQUIRE(extra.ok());
  DesiredTarget d = Desired(b.pem);
  d.secret = secret;
  d.extra = *extra;
  return d;
}

}  // namespace

TEST_CASE("FormatKeys encodes JKS repeatably and PKCS#12 with its input",
          "[trust][targets][formats]") {
  const std::string pem = CertBuilder().Cn("formats-ca").Ca().Pem();
  const DesiredTarget a = WithFormats(pem, false);
  const DesiredTarget b = WithFormats(pem, false);
  REQUIRE(a.extra.size() == 2);
  CHECK(a.extra[0].key == "bundle.jks");
  CHECK(a.extra[0].input.empty());
  CHECK(a.extra[0].bytes == b.extra[0].bytes);  // same bundle, same JKS bytes
  CHECK(a.extra[1].key == "bundle.p12");
  CHECK(a.extra[1].bytes != b.extra[1].bytes);  // fresh salts
  CHECK(a.extra[1].input == b.extra[1].input);
  CHECK(WriteIdentity(a) == WriteIdentity(b));
  auto certs = ReadPkcs12Truststore(a.extra[1].bytes, "p12-pass");
  REQUIRE(certs.ok());
  CHECK(certs->size() == 1);
  CHECK_FALSE(ReadPkcs12Truststore(a.extra[1].bytes, "changeit").ok());

  // Another password is another input; no format, no key.
  TrustBundleSpec spec;
  spec.pkcs12 = {"bundle.p12", "other"};
  const BuildResult built = Build({{"inline[0]", Status::Ok(), {{"", pem}}}}, {}, kNow);
  auto other = FormatKeys(spec, built.certificates, built.pem);
  REQUIRE(other.ok());
  REQUIRE(other->size() == 1);
  CHECK(other->at(0).input != a.extra[1].input);
  auto none = FormatKeys(TrustBundleSpec{}, built.certificates, built.pem);
  REQUIRE(none.ok());
  CHECK(none->empty());
  // No certificate: the encoders refuse, and so does FormatKeys.
  spec.jks = {"bundle.jks", "changeit"};
  CHECK(FormatKeys(spec, {}, "").status().code() == Code::kInvalidArgument);
}

TEST_CASE("TargetWriter writes truststores to binaryData and keeps them without rewriting",
          "[trust][targets][formats]") {
  FakeClient api;
  common::FakeClock clock(kNow);
  TargetWriter writer(api, clock, {1, 30s});
  const std::string pem = CertBuilder().Cn("binary-ca").Ca().Pem();
  REQUIRE(writer.Write(WithFormats(pem, false), {"a"}, {}).written == 1);
  const json cm = api.Objects(kube::resources::kConfigMaps).begin()->second;
  CHECK(cm["data"]["ca.crt"] == pem);
  CHECK_FALSE(cm["data"].contains("bundle.jks"));
  REQUIRE(cm["binaryData"].contains("bundle.jks"));
  REQUIRE(cm["binaryData"].contains("bundle.p12"));
  const std::string p12 = cm["binaryData"]["bundle.p12"];
  auto p12_bytes = x509::pem::DecodeBody(p12);
  REQUIRE(p12_bytes.ok());
  CHECK(ReadPkcs12Truststore(*p12_bytes, "p12-pass").ok());
  CHECK(cm["metadata"]["annotations"][kPkcs12Annotation].get<std::string>().find(
            BundleFingerprint(*p12_bytes)) != std::string::npos);

  // The cache lags: the write is trusted though this reconcile's PKCS#12 differs.
  api.ClearActions();
  TargetWrites lagging = writer.Write(WithFormats(pem, false), {"a"}, {});
  CHECK(lagging.trusting_writes);
  CHECK(lagging.plan.in_sync == 1);
  CHECK(api.Actions().empty());

  // The cache shows the object (as the cache keeps it, or as read live): in sync.
  writer.Observe("a", "cluster-ca", cm["metadata"]["resourceVersion"], false);
  for (const json& seen : {CompactTarget(cm), cm}) {
    TargetWrites synced = writer.Write(WithFormats(pem, false), {"a"}, {FactsOf(seen)});
    CHECK(synced.plan.in_sync == 1);
    CHECK(api.Actions().empty());
  }

  // A tampered PKCS#12 key is rewritten.
  json tampered = cm;
  tampered["binaryData"]["bundle.p12"] = certguard::testing::Base64("forged");
  TargetWrites repaired =
      writer.Write(WithFormats(pem, false), {"a"}, {FactsOf(CompactTarget(tampered))});
  CHECK(repaired.written == 1);
  CHECK(CountActions(api, "apply configmaps") + CountActions(api, "patch configmaps") == 1);
}

TEST_CASE("TargetWriter writes truststores in a Secret target's data",
          "[trust][targets][formats][secret-target]") {
  FakeClient api;
  common::FakeClock clock(kNow);
  TargetWriter writer(api, clock, {1, 30s});
  const std::string pem = CertBuilder().Cn("secret-formats-ca").Ca().Pem();
  const DesiredTarget desired = WithFormats(pem, true);
  REQUIRE(writer.Write(desired, {"a"}, {}).written == 1);
  const json s = api.Objects(kube::resources::kSecrets).begin()->second;
  CHECK_FALSE(s.contains("binaryData"));
  CHECK(s["data"]["bundle.jks"] == certguard::testing::Base64(desired.extra[0].bytes));
  auto p12 = x509::pem::DecodeBody(s["data"]["bundle.p12"].get<std::string>());
  REQUIRE(p12.ok());
  CHECK(ReadPkcs12Truststore(*p12, "p12-pass").ok());
  writer.Observe("a", "cluster-ca", s["metadata"]["resourceVersion"], false);
  api.ClearActions();
  TargetWrites synced =
      writer.Write(WithFormats(pem, true), {"a"}, {FactsOf(CompactSecretTarget(s), true)});
  CHECK(synced.plan.in_sync == 1);
  CHECK(api.Actions().empty());
}

TEST_CASE("TargetWriter removes a dropped format's key and annotation after the apply",
          "[trust][targets][formats]") {
  FakeClient api;
  common::FakeClock clock(kNow);
  TargetWriter writer(api, clock, {1, 30s});
  const std::string pem = CertBuilder().Cn("drop-ca").Ca().Pem();
  REQUIRE(writer.Write(WithFormats(pem, false), {"a"}, {}).written == 1);
  json cm = api.Objects(kube::resources::kConfigMaps).begin()->second;
  writer.Observe("a", "cluster-ca", cm["metadata"]["resourceVersion"], false);
  api.ClearActions();

  DesiredTarget jks_only = WithFormats(pem, false);
  jks_only.extra.pop_back();
  TargetWrites w = writer.Write(jks_only, {"a"}, {FactsOf(CompactTarget(cm))});
  CHECK(w.written == 1);
  CHECK(w.write_errors.empty());
  CHECK(CountActions(api, "patch configmaps") == 2);  // the apply, then the removal
  cm = api.Objects(kube::resources::kConfigMaps).begin()->second;
  CHECK(cm["binaryData"].contains("bundle.jks"));
  CHECK_FALSE(cm["binaryData"].contains("bundle.p12"));
  CHECK_FALSE(cm["metadata"]["annotations"].contains(kPkcs12Annotation));
  CHECK(cm["metadata"]["annotations"][kFormatKeysAnnotation] == "bundle.jks");
}
