#include "kube/events.h"

#include <catch2/catch.hpp>

#include "support/kube/fake_client.h"
#include "support/kube/fake_recorder.h"

using certguard::Code;
using certguard::Status;
using namespace certguard::kube;
using certguard::kube::testing::FakeClient;

namespace {

Json Csr(const std::string& name) {
  return {{"apiVersion", "certificates.k8s.io/v1"},
          {"kind", "CertificateSigningRequest"},
          {"metadata", {{"name", name}, {"uid", "uid-" + name}, {"resourceVersion", "9"}}}};
}

EventRecorderOptions Options() {
  EventRecorderOptions o;
  o.host = "pod-a";
  return o;
}

std::vector<Json> Events(FakeClient& api) {
  std::vector<Json> out;
  for (auto& [k, v] : api.Objects(resources::kEvents)) out.push_back(v);
  return out;
}

}  // namespace

TEST_CASE("Events: first one is created with the object reference", "[kube][events]") {
  FakeClient api;
  ApiEventRecorder rec(api, Options());
  rec.Record(ReferenceTo(Csr("csr-1")), EventSeverity::kNormal, "Approved", "node identity ok");
  Json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"},
             {"metadata", {{"name", "b"}, {"namespace", "team"}, {"uid", "u2"}}}};
  rec.Record(ReferenceTo(cm), EventSeverity::kWarning, "TrustGap", "missing CA");
  rec.Flush();
  auto evs = Events(api);
  REQUIRE(evs.size() == 2);
  auto by_reason = [&](const std::string& r) {
    for (auto& e : evs) {
      if (e["reason"] == r) return e;
    }
    return Json();
  };
  Json a = by_reason("Approved");
  CHECK(a["metadata"]["namespace"] == "default");  // cluster-scoped object
  CHECK(a["involvedObject"]["kind"] == "CertificateSigningRequest");
  CHECK(a["involvedObject"]["uid"] == "uid-csr-1");
  CHECK_FALSE(a["involvedObject"].contains("namespace"));
  CHECK(a["type"] == "Normal");
  CHECK(a["count"] == 1);
  CHECK(a["source"]["component"] == "certguard");
  CHECK(a["source"]["host"] == "pod-a");
  CHECK(a["firstTimestamp"].get<std::string>().size() == 20);
  Json w = by_reason("TrustGap");
  CHECK(w["metadata"]["namespace"] == "team");
  CHECK(w["involvedObject"]["namespace"] == "team");
  CHECK(w["type"] == "Warning");
  CHECK(rec.stats().created == 2);
}

TEST_CASE("Events: a repeat patches count instead of creating", "[kube][events]") {
  FakeClient api;
  ApiEventRecorder rec(api, Options());
  auto ref = ReferenceTo(Csr("csr-1"));
  for (int i = 0; i < 3; ++i) {
    rec.Record(ref, EventSeverity::kWarning, "Denied", "SAN not allowed");
    rec.Flush();
  }
  auto evs = Events(api);
  REQUIRE(evs.size() == 1);
  CHECK(evs[0]["count"] == 3);
  CHECK(rec.stats().created == 1);
  CHECK(rec.stats().patched == 2);
  // A different message is a different event.
  rec.Record(ref, EventSeverity::kWarning, "Denied", "unknown node");
  rec.Flush();
  CHECK(Events(api).size() == 2);
}

TEST_CASE("Events: a flapping object neither floods the API nor loses count",
          "[kube][events]") {
  FakeClient api;
  auto o = Options();
  o.burst_per_object = 5;
  ApiEventRecorder rec(api, o);
  auto ref = ReferenceTo(Csr("flappy"));
  for (int i = 0; i < 1000; ++i) rec.Record(ref, EventSeverity::kWarning, "Denied", "same");
  rec.Flush();
  auto evs = Events(api);
  REQUIRE(evs.size() == 1);
  int writes = 0;
  for (const auto& a : api.Actions()) writes += a.find("events") != std::string::npos;
  CHECK(writes <= 5);
  CHECK(evs[0]["count"].get<int>() + static_cast<int>(rec.stats().dropped_rate_limited) == 1000);
}

TEST_CASE("Events: the per-object limit drops extra distinct events, others unaffected",
          "[kube][events]") {
  FakeClient api;
  auto o = Options();
  o.burst_per_object = 3;
  ApiEventRecorder rec(api, o);
  for (int i = 0; i < 20; ++i) {
    rec.Record(ReferenceTo(Csr("noisy")), EventSeverity::kWarning, "Denied",
               "reason " + std::to_string(i));
  }
  rec.Record(ReferenceTo(Csr("quiet")), EventSeverity::kNormal, "Approved", "ok");
  rec.Flush();
  CHECK(Events(api).size() == 4);
  CHECK(rec.stats().dropped_rate_limited == 17);
}

TEST_CASE("Events: an Event deleted on the server is created again", "[kube][events]") {
  FakeClient api;
  ApiEventRecorder rec(api, Options());
  auto ref = ReferenceTo(Csr("csr-1"));
  rec.Record(ref, EventSeverity::kNormal, "Approved", "ok");
  rec.Flush();
  auto evs = Events(api);
  REQUIRE(evs.size() == 1);
  REQUIRE(api.Delete(resources::kEvents, "default", evs[0]["metadata"]["name"]).ok());
  rec.Record(ref, EventSeverity::kNormal, "Approved", "ok");
  rec.Flush();
  REQUIRE(Events(api).size() == 1);
  CHECK(rec.stats().created == 2);
}

TEST_CASE("Events: API errors are counted, never thrown at the caller", "[kube][events]") {
  FakeClient api;
  api.InjectError("create", Status(Code::kForbidden, "cannot create events"), 1);
  ApiEventRecorder rec(api, Options());
  rec.Record(ReferenceTo(Csr("a")), EventSeverity::kNormal, "Approved", "ok");
  rec.Flush();
  CHECK(rec.stats().errors == 1);
  CHECK(Events(api).empty());
}

TEST_CASE("FakeRecorder keeps what controllers record", "[kube][events]") {
  certguard::kube::testing::FakeRecorder rec;
  EventRecorder& r = rec;
  r.Record(ReferenceTo(Csr("a")), EventSeverity::kNormal, "Approved", "ok");
  CHECK(rec.reasons() == std::vector<std::string>{"Approved"});
  CHECK(rec.entries()[0].object.name == "a");
}
