#include "kube/client.h"

#include <atomic>
#include <catch2/catch.hpp>

#include "kube/body_stream.h"
#include "kube/protobuf.h"
#include "support/protobuf_writer.h"
#include "support/kube/fake_transport.h"

using namespace std::chrono_literals;
using certguard::Code;
using certguard::Result;
using certguard::Unavailable;
using certguard::Status;
using namespace certguard::kube;
using certguard::kube::testing::FakeTransport;
using certguard::kube::testing::JsonResponse;
using certguard::kube::testing::StatusResponse;

namespace {

std::shared_ptr<FakeTransport> Fake() { return std::make_shared<FakeTransport>(); }

RestOptions Unlimited() {
  RestOptions o;
  o.qps = 0;
  return o;
}

}  // namespace

TEST_CASE("RestClient builds method, path, query and content type", "[kube][client]") {
  auto t = Fake();
  t->OnDo([](const HttpRequest&) { return JsonResponse(200, R"({"kind":"X"})"); });
  RestClient c(t, Unlimited());

  REQUIRE(c.Get(resources::kConfigMaps, "ns", "cm").ok());
  ListOptions lo;
  lo.label_selector = "app=a,tier!=b";
  lo.limit = 10;
  lo.continue_token = "abc=";
  REQUIRE(c.List(resources::kNodes, "", lo).ok());
  nlohmann::json cm = {{"metadata", {{"name", "cm"}, {"resourceVersion", "5"}}}};
  REQUIRE(c.Create(resources::kConfigMaps, "ns", cm).ok());
  REQUIRE(c.Update(resources::kCertificateSigningRequests, "", cm, "approval").ok());
  REQUIRE(c.Patch(resources::kConfigMaps, "ns", "cm", PatchType::kMerge, R"({"data":{}})").ok());
  REQUIRE(Apply(c, resources::kConfigMaps, "ns", cm, "certguard-trust").ok());
  DeleteOptions d;
  d.precondition_resource_version = "5";
  REQUIRE(c.Delete(resources::kSecrets, "ns", "s", d).ok());

  auto reqs = t->requests();
  REQUIRE(reqs.size() == 7);
  CHECK(reqs[0].method == "GET");
  CHECK(reqs[0].path == "/api/v1/namespaces/ns/configmaps/cm");
  CHECK(reqs[0].timeout == 30000ms);
  CHECK(HeaderValue(reqs[0].headers, "accept") == "application/json");
  CHECK(reqs[1].path == "/api/v1/nodes?labelSelector=app%3Da%2Ctier%21%3Db&limit=10&continue=abc%3D");
  CHECK(reqs[2].method == "POST");
  CHECK(reqs[2].path == "/api/v1/namespaces/ns/configmaps?fieldManager=certguard");
  CHECK(nlohmann::json::parse(reqs[2].body) == cm);
  CHECK(reqs[3].method == "PUT");
  CHECK(reqs[3].path ==
        "/apis/certificates.k8s.io/v1/certificatesigningrequests/cm/approval?fieldManager=certguard");
  CHECK(reqs[4].method == "PATCH");
  CHECK(HeaderValue(reqs[4].headers, "Content-Type") == "application/merge-patch+json");
  CHECK(HeaderValue(reqs[5].headers, "Content-Type") == "application/apply-patch+yaml");
  CHECK(reqs[5].path ==
        "/api/v1/namespaces/ns/configmaps/cm?fieldManager=certguard-trust&force=true");
  CHECK(reqs[6].method == "DELETE");
  CHECK(nlohmann::json::parse(reqs[6].body)["preconditions"]["resourceVersion"] == "5");
}

TEST_CASE("RestClient refuses requests it can tell are wrong", "[kube][client]") {
  auto t = Fake();
  t->OnDo([](const HttpRequest&) { return JsonResponse(200, "{}"); });
  RestClient c(t, Unlimited());
  CHECK(c.Get(resources::kNodes, "", "").status().code() == Code::kInvalidArgument);
  CHECK(c.Update(resources::kNodes, "", {{"spec", {}}}).status().code() == Code::kInvalidArgument);
  WriteOptions no_manager;
  no_manager.field_manager = "";
  CHECK(c.Patch(resources::kNodes, "", "n", PatchType::kApply, "{}", no_manager).status().code() ==
        Code::kInvalidArgument);
  CHECK(t->requests().empty());
}

TEST_CASE("RestClient maps errors, network failures and bad bodies", "[kube][client]") {
  auto t = Fake();
  int n = 0;
  t->OnDo([&](const HttpRequest&) -> certguard::Result<HttpResponse> {
    switch (n++) {
      case 0: return StatusResponse(404, "NotFound", "configmaps \"x\" not found");
      case 1: return StatusResponse(409, "Conflict", "the object has been modified");
      case 2: return Status(Code::kUnavailable, "connection refused");
      default: return JsonResponse(200, "<html>");
    }
  });
  RestClient c(t, Unlimited());
  auto r = c.Get(resources::kConfigMaps, "ns", "x");
  CHECK(r.status().code() == Code::kNotFound);
  CHECK(r.status().message() == "configmaps \"x\" not found");
  CHECK(c.Get(resources::kConfigMaps, "ns", "x").status().code() == Code::kConflict);
  auto net = c.Get(resources::kConfigMaps, "ns", "x");
  CHECK(net.status().code() == Code::kUnavailable);
  CHECK(net.status().message().find("GET /api/v1/namespaces/ns/configmaps/x") == 0);
  CHECK(c.Get(resources::kConfigMaps, "ns", "x").status().code() == Code::kInternal);
}

TEST_CASE("UpdateWithoutResult sends Update's request and maps its errors, body unread",
          "[kube][client]") {
  auto t = Fake();
  int n = 0;
  t->OnDo([&](const HttpRequest&) -> certguard::Result<HttpResponse> {
    switch (n++) {
      case 0: return JsonResponse(200, "<not json: never parsed>");
      case 1: return StatusResponse(409, "Conflict", "the object has been modified");
      case 2: return StatusResponse(404, "NotFound", "csr \"x\" not found");
      default: return Status(Code::kUnavailable, "connection refused");
    }
  });
  RestClient c(t, Unlimited());
  nlohmann::json csr = {{"metadata", {{"name", "x"}, {"resourceVersion", "7"}}},
                        {"status", {{"conditions", nlohmann::json::array()}}}};
  const auto& kCsrs = resources::kCertificateSigningRequests;
  CHECK(c.UpdateWithoutResult(kCsrs, "", csr, "approval").ok());
  CHECK(c.UpdateWithoutResult(kCsrs, "", csr, "approval").code() == Code::kConflict);
  CHECK(c.UpdateWithoutResult(kCsrs, "", csr, "approval").code() == Code::kNotFound);
  Status net = c.UpdateWithoutResult(kCsrs, "", csr, "approval");
  CHECK(net.code() == Code::kUnavailable);
  CHECK(net.message().find("PUT /apis/certificates.k8s.io/v1/"
                           "certificatesigningrequests/x/approval") == 0);
  CHECK(c.UpdateWithoutResult(kCsrs, "", {{"spec", {}}}).code() == Code::kInvalidArgument);

  auto reqs = t->requests();
  REQUIRE(reqs.size() == 4);
  CHECK(reqs[0].method == "PUT");
  CHECK(reqs[0].path ==
        "/apis/certificates.k8s.io/v1/certificatesigningrequests/x/approval?fieldManager=certguard");
  CHECK(HeaderValue(reqs[0].headers, "Content-Type") == "application/json");
  CHECK(nlohmann::json::parse(reqs[0].body) == csr);
}

TEST_CASE("RestClient retries 429 after Retry-After, then gives up", "[kube][client]") {
  auto t = Fake();
  int n = 0;
  t->OnDo([&](const HttpRequest&) -> certguard::Result<HttpResponse> {
    if (n++ < 2) return StatusResponse(429, "TooManyRequests", "slow", {{"Retry-After", "0"}});
    return JsonResponse(200, "{}");
  });
  RestClient c(t, Unlimited());
  REQUIRE(c.Get(resources::kNodes, "", "n").ok());
  CHECK(n == 3);

  t->OnDo([&](const HttpRequest&) {
    return StatusResponse(429, "TooManyRequests", "slow", {{"Retry-After", "3600"}});
  });
  auto r = c.Get(resources::kNodes, "", "n");
  CHECK(r.status().code() == Code::kTooManyRequests);
  CHECK(r.status().retry_after_seconds() == 3600);  // too long to wait here: the caller decides
}

namespace {

// A client whose waits are recorded, not slept.
struct Recorded {
  std::shared_ptr<std::vector<Duration>> sleeps = std::make_shared<std::vector<Duration>>();
  RestOptions Options() const {
    RestOptions o = Unlimited();
    auto s = sleeps;
    o.sleep = [s](Duration d) { s->push_back(d); };
    return o;
  }
};

}  // namespace

TEST_CASE("RestClient retries a 429 of any method, backing off when it has no Retry-After",
          "[kube][client]") {
  auto t = Fake();
  int n = 0;
  t->OnDo([&](const HttpRequest&) -> certguard::Result<HttpResponse> {
    if (n++ < 4) return StatusResponse(429, "TooManyRequests", "too many requests");
    return JsonResponse(201, "{}");
  });
  Recorded rec;
  RestOptions o = rec.Options();
  RestClient c(t, o);
  nlohmann::json cm = {{"metadata", {{"name", "cm"}}}};
  REQUIRE(c.Create(resources::kConfigMaps, "ns", cm).ok());  // a POST: the server did nothing
  CHECK(n == 5);
  REQUIRE(rec.sleeps->size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    INFO("retry " << i);
    CHECK((*rec.sleeps)[i] >= o.retry_429_backoff.Delay(i, 0.0));
    CHECK((*rec.sleeps)[i] <= o.retry_429_backoff.Delay(i, 1.0));
  }
  CHECK((*rec.sleeps)[3] > (*rec.sleeps)[0]);
}

TEST_CASE("RestClient gives up on a 429 after max_429_retries", "[kube][client]") {
  auto t = Fake();
  int n = 0;
  t->OnDo([&](const HttpRequest&) {
    ++n;
    return StatusResponse(429, "TooManyRequests", "slow", {{"Retry-After", "0"}});
  });
  Recorded rec;
  RestOptions o = rec.Options();
  o.max_429_retries = 10;
  RestClient c(t, o);
  auto r = c.Get(resources::kNodes, "", "n");
  CHECK(r.status().code() == Code::kTooManyRequests);
  CHECK(n == 11);
}

TEST_CASE("RestClient waits a 429's Retry-After before it retries", "[kube][client]") {
  auto t = Fake();
  int n = 0;
  t->OnDo([&](const HttpRequest&) -> certguard::Result<HttpResponse> {
    if (n++ == 0) return StatusResponse(429, "TooManyRequests", "slow", {{"Retry-After", "3"}});
    return JsonResponse(200, "{}");
  });
  Recorded rec;
  RestClient c(t, rec.Options());
  nlohmann::json cm = {{"metadata", {{"name", "cm"}}}};
  REQUIRE(c.Update(resources::kConfigMaps, "ns", cm).ok());
  CHECK(n == 2);
  CHECK(*rec.sleeps == std::vector<Duration>{std::chrono::seconds(3)});
}

TEST_CASE("RestClient applies the client-side QPS limit", "[kube][client]") {
  auto t = Fake();
  t->OnDo([](const HttpRequest&) { return JsonResponse(200, "{}"); });
  RestOptions o;
  o.qps = 50;
  o.burst = 2;
  RestClient c(t, o);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 7; ++i) REQUIRE(c.Get(resources::kNodes, "", "n").ok());
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= 95ms);  // 5 beyond the burst at 50/s
  CHECK(took < 2s);
}

TEST_CASE("ListAll follows continue tokens", "[kube][client]") {
  auto t = Fake();
  t->OnDo([](const HttpRequest& r) {
    nlohmann::json page = {{"kind", "ConfigMapList"}, {"items", nlohmann::json::array()}};
    std::string cont;
    int first = 0;
    if (r.path.find("continue=p2") != std::string::npos) {
      first = 2;
      cont = "p3";
    } else if (r.path.find("continue=p3") != std::string::npos) {
      first = 4;
    } else {
      cont = "p2";
    }
    int last = first == 4 ? 5 : first + 2;
    for (int i = first; i < last; ++i) {
      page["items"].push_back({{"metadata", {{"name", "cm" + std::to_string(i)}}}});
    }
    page["metadata"] = {{"resourceVersion", first == 0 ? "100" : "999"}, {"continue", cont}};
    return JsonResponse(200, page.dump());
  });
  RestClient c(t, Unlimited());
  ListOptions o;
  o.label_selector = "a=b";
  o.resource_version = "0";
  auto all = ListAll(c, resources::kConfigMaps, "ns", o, 2);
  REQUIRE(all.ok());
  CHECK(all->pages == 3);
  REQUIRE(all->items.size() == 5);
  CHECK(all->items[4]["metadata"]["name"] == "cm4");
  CHECK(all->resource_version == "100");  // the snapshot of the first page
  auto reqs = t->requests();
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[0].path.find("resourceVersion=0") != std::string::npos);
  CHECK(reqs[1].path.find("resourceVersion") == std::string::npos);  // not with continue
  CHECK(reqs[1].path.find("labelSelector=a%3Db") != std::string::npos);
  CHECK(reqs[2].path.find("limit=2") != std::string::npos);
}

TEST_CASE("ListPages hands over each page before fetching the next, and stops on error",
          "[kube][client]") {
  auto t = Fake();
  t->OnDo([](const HttpRequest& r) {
    bool second = r.path.find("continue=p2") != std::string::npos;
    nlohmann::json page = {
        {"items", nlohmann::json::array({{{"metadata", {{"name", second ? "b" : "a"}}}}})},
        {"metadata", {{"resourceVersion", "7"}, {"continue", second ? "p3" : "p2"}}}};
    return JsonResponse(200, page.dump());
  });
  RestClient c(t, Unlimited());
  std::vector<std::string> seen;  // "name after N requests"
  auto on_page = [&](nlohmann::json&& item) {
    seen.push_back(item["metadata"].value("name", "") + " after " +
                   std::to_string(t->requests().size()));
    if (seen.size() == 2) return Status(Code::kUnavailable, "stop here");
    return Status::Ok();
  };
  auto r = ListPages(c, resources::kConfigMaps, "ns", {}, 1, on_page);
  CHECK(seen == std::vector<std::string>{"a after 1", "b after 2"});
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK(t->requests().size() == 2);  // the third page was never asked for
}

TEST_CASE("ListEach hands over each item as parsed and returns the envelope without them",
          "[kube][client]") {
  auto t = Fake();
  t->OnDo([](const HttpRequest&) {
    return JsonResponse(
        200, R"({"kind":"NodeList","metadata":{"resourceVersion":"9","continue":"c"},)"
             R"("items":[{"metadata":{"name":"a","labels":{"x":"1"}},"n":[1,-2,2.5,true,null]},)"
             R"({"metadata":{"name":"b"},"items":[{"deep":[[]]}]}],"tail":{"items":[7]}})");
  });
  RestClient c(t, Unlimited());
  std::vector<nlohmann::json> seen;
  auto page = c.ListEach(resources::kNodes, "", {}, [&](nlohmann::json&& item) {
    seen.push_back(std::move(item));
    return Status::Ok();
  });
  REQUIRE(page.ok());
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == nlohmann::json::parse(
                       R"({"metadata":{"name":"a","labels":{"x":"1"}},"n":[1,-2,2.5,true,null]})"));
  // An "items" inside an item, or under another key, is data, not the list's.
  CHECK(seen[1] == nlohmann::json::parse(R"({"metadata":{"name":"b"},"items":[{"deep":[[]]}]})"));
  CHECK(*page == nlohmann::json::parse(
                     R"({"kind":"NodeList","metadata":{"resourceVersion":"9","continue":"c"},)"
                     R"("items":[],"tail":{"items":[7]}})"));
}

TEST_CASE("ListEach refuses what is not JSON, nests too deeply, or an item refused",
          "[kube][client]") {
  auto t = Fake();
  std::string body;
  t->OnDo([&](const HttpRequest&) { return JsonResponse(200, body); });
  RestClient c(t, Unlimited());
  int handed = 0;
  auto count = [&](nlohmann::json&&) {
    ++handed;
    return Status::Ok();
  };
  body = R"({"items":[{"a":1},{"b":)";
  CHECK(c.ListEach(resources::kNodes, "", {}, count).status().code() == Code::kInternal);
  body = R"({"items":[)" + std::string(300, '[') + std::string(300, ']') + "]}";
  handed = 0;
  auto deep = c.ListEach(resources::kNodes, "", {}, count);
  CHECK(deep.status().code() == Code::kInternal);
  CHECK(deep.status().message().find("deeper") != std::string::npos);
  CHECK(handed == 0);  // the deep item is refused where it passes the limit, never handed over
  // The depth is checked as the parser opens each level: the items before a deep one have
  // gone to the caller already.
  body = R"({"items":[{"a":1},)" + std::string(300, '[') + std::string(300, ']') + "]}";
  handed = 0;
  CHECK(c.ListEach(resources::kNodes, "", {}, count).status().message().find("deeper") !=
        std::string::npos);
  CHECK(handed == 1);
  body = R"({"items":[{"a":1},{"b":2},{"c":3}]})";
  handed = 0;
  auto stopped = c.ListEach(resources::kNodes, "", {}, [&](nlohmann::json&&) {
    return ++handed == 2 ? Status(Code::kUnavailable, "enough") : Status::Ok();
  });
  CHECK(stopped.status().code() == Code::kUnavailable);
  CHECK(handed == 2);
  body = "[1,2]";
  CHECK(c.ListEach(resources::kNodes, "", {}, count).status().code() == Code::kInternal);
}

namespace {

// Streams a list body (BodyStreamer) in pieces of `piece` bytes, then fails
// (`cut`) or ends; records how far the reader let it go.
class PiecewiseTransport : public HttpTransport, public BodyStreamer {
 public:
  PiecewiseTransport(std::string body, size_t piece, bool cut)
      : body_(std::move(body)), piece_(piece), cut_(cut) {}
  Result<HttpResponse> Do(const HttpRequest&) override { return Unavailable("unused"); }
  Result<HttpResponse> Stream(const HttpRequest&, const ChunkFn&, CancelToken&) override {
    return Unavailable("unused");
  }
  Result<HttpResponse> DoStreaming(const HttpRequest&, const ChunkFn& on_chunk) override {
    for (size_t at = 0; at < body_.size(); at += piece_) {
      ++pieces_;
      if (!on_chunk(std::string_view(body_).substr(at, piece_))) {
        stopped_ = true;
        return HttpResponse{200, {}, {}};
      }
    }
    if (cut_) return Unavailable("connection reset by peer");
    return HttpResponse{200, {}, {}};
  }
  std::atomic<int> pieces_{0};
  std::atomic<bool> stopped_{false};

 private:
  std::string body_;
  size_t piece_;
  bool cut_;
};

std::string ManyItems(int n) {
  std::string body = R"({"metadata":{"resourceVersion":"5"},"items":[)";
  for (int i = 0; i < n; ++i) {
    body += std::string(i ? "," : "") + R"({"metadata":{"name":"n)" + std::to_string(i) + R"("}})";
  }
  return body + "]}";
}

}  // namespace

TEST_CASE("ListEach parses a list while it arrives and stops the transfer when it stops",
          "[kube][client]") {
  // About 1.8 MB: more than the pipe lets wait between the threads (1 MiB).
  const std::string body = ManyItems(60000);
  REQUIRE(body.size() > (3u << 19));
  SECTION("every item, in order, across pieces of 1000 bytes") {
    auto t = std::make_shared<PiecewiseTransport>(body, 1000, false);
    RestClient c(t, Unlimited());
    std::vector<std::string> names;
    auto page = c.ListEach(resources::kNodes, "", {}, [&](nlohmann::json&& item) {
      names.push_back(item["metadata"]["name"]);
      return Status::Ok();
    });
    REQUIRE(page.ok());
    REQUIRE(names.size() == 60000);
    CHECK(names.front() == "n0");
    CHECK(names.back() == "n59999");
    CHECK((*page)["metadata"]["resourceVersion"] == "5");
  }
  SECTION("an item refused: the transfer is stopped, not read to its end") {
    auto t = std::make_shared<PiecewiseTransport>(body, 1000, false);
    RestClient c(t, Unlimited());
    auto page = c.ListEach(resources::kNodes, "", {}, [&](nlohmann::json&&) {
      return Status(Code::kUnavailable, "stopping");
    });
    CHECK(page.status().code() == Code::kUnavailable);
    CHECK(page.status().message() == "stopping");
    CHECK(t->stopped_.load());
    CHECK(t->pieces_.load() < static_cast<int>(body.size() / 1000));
  }
  SECTION("the connection lost mid-body: the transport's error, not a parse error") {
    auto t = std::make_shared<PiecewiseTransport>(body.substr(0, body.size() / 2), 1000, true);
    RestClient c(t, Unlimited());
    int handed = 0;
    auto page = c.ListEach(resources::kNodes, "", {}, [&](nlohmann::json&&) {
      ++handed;
      return Status::Ok();
    });
    CHECK(page.status().code() == Code::kUnavailable);
    CHECK(page.status().message().find("connection reset") != std::string::npos);
    CHECK(handed > 0);  // what arrived whole was handed over; the informer lists again
  }
}

TEST_CASE("ListEach retries a 429 like any call, then parses the list", "[kube][client]") {
  auto t = Fake();
  int n = 0;
  t->OnDo([&](const HttpRequest&) {
    if (n++ == 0) return StatusResponse(429, "TooManyRequests", "slow", {{"Retry-After", "0"}});
    return JsonResponse(200, R"({"items":[{"a":1},{"b":2}]})");
  });
  RestClient c(t, Unlimited());
  int handed = 0;
  auto page = c.ListEach(resources::kNodes, "", {}, [&](nlohmann::json&&) {
    ++handed;
    return Status::Ok();
  });
  REQUIRE(page.ok());
  CHECK(n == 2);
  CHECK(handed == 2);
}

TEST_CASE("ListAll passes a 410 on an expired continue token", "[kube][client]") {
  auto t = Fake();
  t->OnDo([](const HttpRequest& r) {
    if (r.path.find("continue=") != std::string::npos) {
      return StatusResponse(410, "Expired", "continue token expired");
    }
    return JsonResponse(200, R"({"items":[{}],"metadata":{"continue":"x"}})");
  });
  RestClient c(t, Unlimited());
  CHECK(ListAll(c, resources::kNodes, "", {}, 1).status().code() == Code::kGone);
}

TEST_CASE("Watch delivers events and ends cleanly", "[kube][client][watch]") {
  auto t = Fake();
  t->OnStream([](const HttpRequest&) {
    FakeTransport::StreamReply r;
    r.chunks = {R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})" "\n{\"type\":\"MOD",
                R"(IFIED","object":{"metadata":{"name":"a"}}})" "\n"};
    return r;
  });
  RestClient c(t, Unlimited());
  WatchOptions o;
  o.resource_version = "42";
  o.timeout_seconds = 60;
  std::vector<EventType> seen;
  CancelToken cancel;
  Status s = c.Watch(resources::kConfigMaps, "", o,
                     [&](WatchEvent&& e) {
                       seen.push_back(e.type);
                       return true;
                     },
                     cancel);
  CHECK(s.ok());
  CHECK(seen == std::vector<EventType>{EventType::kAdded, EventType::kModified});
  auto reqs = t->requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].path ==
        "/api/v1/configmaps?watch=1&resourceVersion=42&allowWatchBookmarks=true&timeoutSeconds=60");
  CHECK(reqs[0].timeout == 90s);
}

TEST_CASE("Watch never builds the fields asked to be dropped", "[kube][client][watch]") {
  auto t = Fake();
  t->OnStream([](const HttpRequest&) {
    FakeTransport::StreamReply r;
    r.chunks = {R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5",)"
                R"("managedFields":[{"manager":"m","fieldsV1":{"f:spec":{}}}]},"spec":{"x":1},)"
                R"("status":{"images":[1]}}})" "\n"};
    return r;
  });
  RestClient c(t, Unlimited());
  WatchOptions o;
  o.drop_fields = {"metadata.managedFields", "status.images"};
  std::vector<nlohmann::json> seen;
  CancelToken cancel;
  Status s = c.Watch(resources::kNodes, "", o,
                     [&](WatchEvent&& e) {
                       seen.push_back(std::move(e.object));
                       return true;
                     },
                     cancel);
  CHECK(s.ok());
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == nlohmann::json::parse(
                       R"({"metadata":{"name":"a","resourceVersion":"5"},"spec":{"x":1},"status":{}})"));
}

TEST_CASE("Watch reports 410 as HTTP status or ERROR event", "[kube][client][watch]") {
  auto t = Fake();
  RestClient c(t, Unlimited());
  CancelToken cancel;
  auto ignore = [](WatchEvent&&) { return true; };

  t->OnStream([](const HttpRequest&) {
    FakeTransport::StreamReply r;
    r.response = StatusResponse(410, "Gone", "too old");
    return r;
  });
  CHECK(c.Watch(resources::kNodes, "", {}, ignore, cancel).code() == Code::kGone);

  int events = 0;
  t->OnStream([](const HttpRequest&) {
    FakeTransport::StreamReply r;
    r.chunks = {R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})" "\n",
                R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"}})" "\n",
                R"({"type":"ADDED","object":{"metadata":{"name":"b"}}})" "\n"};
    return r;
  });
  Status s = c.Watch(resources::kNodes, "", {},
                     [&](WatchEvent&&) {
                       events++;
                       return true;
                     },
                     cancel);
  CHECK(s.code() == Code::kGone);
  CHECK(s.message() == "too old resource version");
  CHECK(events == 1);  // nothing after the ERROR

  t->OnStream([](const HttpRequest&) {
    FakeTransport::StreamReply r;
    r.chunks = {"garbage\n"};
    return r;
  });
  CHECK(c.Watch(resources::kNodes, "", {}, ignore, cancel).code() == Code::kInvalidArgument);

  t->OnStream([](const HttpRequest&) {
    FakeTransport::StreamReply r;
    r.response = Status(Code::kUnavailable, "connection reset");
    return r;
  });
  CHECK(c.Watch(resources::kNodes, "", {}, ignore, cancel).code() == Code::kUnavailable);
}

TEST_CASE("RetryOnConflict retries only conflicts", "[kube][client]") {
  int calls = 0;
  Status s = RetryOnConflict([&] {
    return ++calls < 3 ? Status(Code::kConflict, "stale") : Status::Ok();
  }, 5, Backoff{1ms, 2ms, 2.0, 0.0});
  CHECK(s.ok());
  CHECK(calls == 3);
  calls = 0;
  s = RetryOnConflict([&] { ++calls; return Status(Code::kConflict, "stale"); }, 4,
                      Backoff{1ms, 2ms, 2.0, 0.0});
  CHECK(s.code() == Code::kConflict);
  CHECK(calls == 4);
  calls = 0;
  s = RetryOnConflict([&] { ++calls; return Status(Code::kForbidden, "no"); });
  CHECK(s.code() == Code::kForbidden);
  CHECK(calls == 1);
}

TEST_CASE("RestClient asks for metadata only when told to", "[kube][client]") {
  auto t = Fake();
  t->OnDo([](const HttpRequest&) { return JsonResponse(200, R"({"kind":"X","items":[]})"); });
  RestClient c(t, Unlimited());
  ListOptions plain, meta;
  meta.metadata_only = true;
  REQUIRE(c.List(resources::kConfigMaps, "", plain).ok());
  REQUIRE(c.List(resources::kConfigMaps, "", meta).ok());
  auto reqs = t->requests();
  REQUIRE(reqs.size() == 2);
  CHECK(HeaderValue(reqs[0].headers, "Accept") == "application/json");
  CHECK(HeaderValue(reqs[1].headers, "Accept") == kAcceptMetadataList);
  CHECK(std::string(kAcceptMetadataList).find("as=PartialObjectMetadataList;g=meta.k8s.io;v=v1") !=
        std::string::npos);
}

TEST_CASE("ListEach drops the fields asked for while it parses, only along object keys",
          "[kube][client]") {
  auto t = Fake();
  t->OnDo([](const HttpRequest&) {
    return JsonResponse(
        200,
        R"({"kind":"NodeList","metadata":{"resourceVersion":"9","managedFields":"envelope"},)"
        R"("items":[{"metadata":{"name":"a","managedFields":[{"m":{"x":[1,{"y":2}]}}],"labels":{"l":"1"}},)"
        R"("spec":{"podCIDR":"10.0.0.0/24"},"status":{"images":[{"names":["i"]}],)"
        R"("addresses":[{"type":"InternalIP","address":"10.0.0.1","images":"kept"}],)"
        R"("nodeInfo":"scalar"}},)"
        R"({"metadata":{"name":"b"},"status":"not an object","spec":null}]})");
  });
  RestClient c(t, Unlimited());
  ListOptions o;
  o.drop_fields = {"metadata.managedFields",  "spec",       "status.images", "status.nodeInfo",
                   "status.addresses.images", "absent.path"};
  std::vector<nlohmann::json> seen;
  auto page = c.ListEach(resources::kNodes, "", o, [&](nlohmann::json&& item) {
    seen.push_back(std::move(item));
    return Status::Ok();
  });
  REQUIRE(page.ok());
  REQUIRE(seen.size() == 2);
  // Inside an array ("status.addresses[0].images") nothing matches.
  CHECK(
      seen[0] ==
      nlohmann::json::parse(
          R"({"metadata":{"name":"a","labels":{"l":"1"}},)"
          R"("status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1","images":"kept"}]}})"));
  CHECK(seen[1] == nlohmann::json::parse(R"({"metadata":{"name":"b"},"status":"not an object"})"));
  // The envelope is not an item: its fields stay.
  CHECK((*page)["metadata"]["managedFields"] == "envelope");
  // The same items through List and DropFields come out the same.
  auto whole = c.List(resources::kNodes, "", o);
  REQUIRE(whole.ok());
  for (size_t i = 0; i < seen.size(); ++i) {
    nlohmann::json item = (*whole)["items"][i];
    DropFields(item, o.drop_fields);
    CHECK(item == seen[i]);
  }
}

TEST_CASE("DropFields removes paths of object keys and leaves the rest alone", "[kube][client]") {
  auto obj =
      nlohmann::json::parse(R"({"a":{"b":{"c":1,"d":2},"e":[{"f":1}]},"g":"s","h":{"i":3}})");
  DropFields(obj, {"a.b.c", "a.e.f", "g.x", "h", "zz.y", ""});
  CHECK(obj == nlohmann::json::parse(R"({"a":{"b":{"d":2},"e":[{"f":1}]},"g":"s"})"));
  nlohmann::json scalar = 5;
  DropFields(scalar, {"a"});
  CHECK(scalar == 5);
}

namespace {

// Items of the protobuf lists below: {metadata = 1} as {"metadata": ...}.
Result<nlohmann::json> MetaItem(std::string_view bytes) {
  protobuf::WireReader r(bytes);
  protobuf::Field f;
  if (!r.Next(f) || f.number != 1) return certguard::InvalidArgument("no metadata");
  auto meta = protobuf::DecodeObjectMeta(f.bytes);
  if (!meta.ok()) return meta.status();
  return nlohmann::json{{"metadata", std::move(*meta)}, {"dropped", 1}};
}

std::string ProtobufItems(int n) {
  std::vector<certguard::testing::Pb> items;
  for (int i = 0; i < n; ++i) {
    items.push_back(certguard::testing::Pb().Message(
        1, certguard::testing::Pb().Str(1, "n" + std::to_string(i))));
  }
  return certguard::testing::ProtobufListBody(certguard::testing::Pb().Str(2, "8"), items);
}

}  // namespace

TEST_CASE("ListEach asks for protobuf when it can decode the items, and reads either answer",
          "[kube][client]") {
  auto t = Fake();
  std::string body;
  t->OnDo([&](const HttpRequest&) { return HttpResponse{200, {}, body}; });
  RestClient c(t, Unlimited());
  ListOptions lo;
  lo.protobuf_item = MetaItem;
  lo.drop_fields = {"dropped"};
  std::vector<nlohmann::json> seen;
  auto collect = [&](nlohmann::json&& item) {
    seen.push_back(std::move(item));
    return Status::Ok();
  };

  body = ProtobufItems(2);
  auto page = c.ListEach(resources::kCertificateSigningRequests, "", lo, collect);
  INFO(page.status().ToString());
  REQUIRE(page.ok());
  CHECK(HeaderValue(t->requests().back().headers, "Accept") ==
        "application/vnd.kubernetes.protobuf, application/json");
  CHECK(*page == nlohmann::json::parse(R"({"metadata":{"resourceVersion":"8"}})"));
  REQUIRE(seen.size() == 2);
  CHECK(seen[1] == nlohmann::json::parse(R"({"metadata":{"name":"n1"}})"));  // dropped: gone

  // A server that answers JSON (a custom resource) is read as JSON.
  seen.clear();
  body = R"({"metadata":{"resourceVersion":"3"},"items":[{"metadata":{"name":"j"},"dropped":1}]})";
  page = c.ListEach(resources::kCertificateSigningRequests, "", lo, collect);
  REQUIRE(page.ok());
  CHECK(seen == std::vector<nlohmann::json>{nlohmann::json::parse(R"({"metadata":{"name":"j"}})")});

  // Without a decoder, JSON is asked for.
  ListOptions json_only;
  body = R"({"items":[]})";
  REQUIRE(c.ListEach(resources::kCertificateSigningRequests, "", json_only, collect).ok());
  CHECK(HeaderValue(t->requests().back().headers, "Accept") == "application/json");

  // A body that cannot be read is Internal, naming the request; an item the
  // decoder refuses, too; the handler's own error comes back as it is.
  body = ProtobufItems(3).substr(0, 30);
  auto cut = c.ListEach(resources::kCertificateSigningRequests, "", lo, collect);
  CHECK(cut.status().code() == Code::kInternal);
  CHECK(cut.status().message().find("GET /apis/certificates.k8s.io/v1/certificatesigningrequests: "
                                    "protobuf list: ") == 0);
  body = certguard::testing::ProtobufListBody(
      certguard::testing::Pb(), {certguard::testing::Pb().Message(
                                    1, certguard::testing::Pb().Str(1, "\xff"))});
  CHECK(c.ListEach(resources::kCertificateSigningRequests, "", lo, collect).status().code() ==
        Code::kInternal);
  body = ProtobufItems(3);
  auto stopped = c.ListEach(resources::kCertificateSigningRequests, "", lo,
                            [&](nlohmann::json&&) { return Status(Code::kUnavailable, "enough"); });
  CHECK(stopped.status().code() == Code::kUnavailable);
  CHECK(stopped.status().message() == "enough");
}

TEST_CASE("ListEach reads a protobuf list while it arrives", "[kube][client]") {
  const std::string body = ProtobufItems(100000);
  REQUIRE(body.size() > (1u << 20));
  auto t = std::make_shared<PiecewiseTransport>(body, 997, false);
  RestClient c(t, Unlimited());
  ListOptions lo;
  lo.protobuf_item = MetaItem;
  std::vector<std::string> names;
  auto page = c.ListEach(resources::kCertificateSigningRequests, "", lo,
                         [&](nlohmann::json&& item) {
                           names.push_back(item["metadata"]["name"]);
                           return Status::Ok();
                         });
  INFO(page.status().ToString());
  REQUIRE(page.ok());
  REQUIRE(names.size() == 100000);
  CHECK(names.front() == "n0");
  CHECK(names.back() == "n99999");
  CHECK(t->pieces_.load() == static_cast<int>((body.size() + 996) / 997));
}
