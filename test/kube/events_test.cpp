#include "kube/events.h"

#include <catch2/catch.hpp>

#include "common/time.h"
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

// Options() with a budget of `burst` Events per object.
EventRecorderOptions WithBurst(int burst) {
  EventRecorderOptions o = Options();
  o.burst_per_object = burst;
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
  ApiEventRecorder rec(api, WithBurst(5));
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
  ApiEventRecorder rec(api, WithBurst(3));
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

TEST_CASE("Events: timestamps and the aggregation window read the injected clock",
          "[kube][events]") {
  using namespace std::chrono_literals;
  using certguard::common::FormatRfc3339;
  const certguard::common::Time t0(std::chrono::seconds(1790000000));
  certguard::common::FakeClock clock(t0);
  FakeClient api;
  auto o = Options();
  o.clock = &clock;
  ApiEventRecorder rec(api, o);
  auto ref = ReferenceTo(Csr("csr-1"));
  rec.Record(ref, EventSeverity::kWarning, "Denied", "SAN not allowed");
  rec.Flush();
  auto evs = Events(api);
  REQUIRE(evs.size() == 1);
  CHECK(evs[0]["firstTimestamp"] == FormatRfc3339(t0));
  CHECK(evs[0]["lastTimestamp"] == FormatRfc3339(t0));

  clock.Advance(10min);  // the window (10 min) from the last write: still a repeat
  rec.Record(ref, EventSeverity::kWarning, "Denied", "SAN not allowed");
  rec.Flush();
  evs = Events(api);
  REQUIRE(evs.size() == 1);
  CHECK(evs[0]["count"] == 2);
  CHECK(evs[0]["firstTimestamp"] == FormatRfc3339(t0));
  CHECK(evs[0]["lastTimestamp"] == FormatRfc3339(t0 + 10min));

  clock.Advance(10min + 1s);  // past the window: a new Event
  rec.Record(ref, EventSeverity::kWarning, "Denied", "SAN not allowed");
  rec.Flush();
  evs = Events(api);
  REQUIRE(evs.size() == 2);
  CHECK(rec.stats().created == 2);
  CHECK(rec.stats().patched == 1);
  int fresh = 0;
  for (const auto& e : evs) {
    if (e["firstTimestamp"] == FormatRfc3339(t0 + 20min + 1s)) {
      fresh++;
      CHECK(e["count"] == 1);
    }
  }
  CHECK(fresh == 1);
}

TEST_CASE("Events: an object's budget refills on the injected clock", "[kube][events]") {
  using namespace std::chrono_literals;
  certguard::common::FakeClock clock(certguard::common::Time(std::chrono::seconds(1790000000)));
  FakeClient api;
  auto o = Options();
  o.clock = &clock;
  o.burst_per_object = 2;  // and one more every 300 s
  ApiEventRecorder rec(api, o);
  auto ref = ReferenceTo(Csr("csr-1"));
  auto record = [&](int i) {
    rec.Record(ref, EventSeverity::kWarning, "Denied", "reason " + std::to_string(i));
    rec.Flush();
  };
  record(0);
  record(1);
  // Two distinct Events of one object at the same instant: two names, both written.
  CHECK(Events(api).size() == 2);
  CHECK(rec.stats().errors == 0);
  clock.Advance(299s);  // not quite a token yet
  record(2);
  CHECK(rec.stats().dropped_rate_limited == 1);
  clock.Advance(2s);  // the dropped event spent nothing: one token now
  record(3);
  CHECK(Events(api).size() == 3);
  CHECK(rec.stats().dropped_rate_limited == 1);
  record(4);
  CHECK(rec.stats().dropped_rate_limited == 2);
}

TEST_CASE("FakeRecorder keeps what controllers record", "[kube][events]") {
  certguard::kube::testing::FakeRecorder rec;
  EventRecorder& r = rec;
  r.Record(ReferenceTo(Csr("a")), EventSeverity::kNormal, "Approved", "ok");
  CHECK(rec.reasons() == std::vector<std::string>{"Approved"});
  CHECK(rec.entries()[0].object.name == "a");
}
