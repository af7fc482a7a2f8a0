// The CSR controller's start-up in a big cluster, in process: an API server
// double (test/support/kube/fake_transport.h) serves, page by page like the
// real one (limit/continue), NODES Nodes and CSRS decided serving CSRs shaped
// like real ones (managedFields, images, conditions; request and a real issued
// certificate),
// one CSRApprovalPolicy-less cluster and one pending serving CSR of node 0.
// Measured: the time from Start until the caches are synced and until that CSR's
// approval is written, with the CPU time used meanwhile (what the wall clock
// would be on an idle machine, roughly, the work being mostly one thread's),
// the list responses served, and resident memory then (VmRSS, VmHWM). No network and no API server: what is left is certguard's own
// work per item (parsing, cache trimming, handlers), which is what made
// start-up O(Nodes x CSRs) before the pending CSRs were indexed.
//
//   certguard_bench_startup [--nodes 5000] [--csrs 10000] [--page 500]
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "csr/controller.h"
#include "csr/policy.h"
#include "kube/client.h"
#include "support/kube/fake_recorder.h"
#include "support/kube/fake_transport.h"
#include "support/pki.h"
#include "x509/pem.h"

using namespace certguard;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double ProcMiB(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(std::string(field).size())) / 1024.0;
  }
  return -1;
}

// CPU seconds (user + system) this process has used: unlike the wall clock,
// not stretched by whatever else the machine runs.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

std::string Ip(int i) {
  return "10." + std::to_string(64 + i / 65536) + "." + std::to_string((i / 256) % 256) + "." +
         std::to_string(i % 256);
}

Json Node(int i) {
  std::string name = "node-" + std::to_string(i);
  Json conditions = Json::array();
  for (const char* t : {"MemoryPressure", "DiskPressure", "PIDPressure", "Ready"}) {
    conditions.push_back({{"type", t},
                          {"status", std::string(t) == "Ready" ? "True" : "False"},
                          {"lastHeartbeatTime", "2026-12-06T03:00:00Z"},
                          {"lastTransitionTime", "2026-12-01T00:00:00Z"},
                          {"reason", std::string("Kubelet") + t},
                          {"message", "kubelet reports its condition as it is"}});
  }
  Json images = Json::array();
  for (int k = 0; k < 8; ++k) {
    images.push_back({{"names", {"registry.example.com/team/image-" + std::to_string(k) +
                                 "@sha256:" + std::string(64, 'a')}},
                      {"sizeBytes", 12345678}});
  }
  return {{"metadata",
           {{"name", name},
            {"uid", "uid-node-" + std::to_string(i)},
            {"resourceVersion", std::to_string(100 + i)},
            {"creationTimestamp", "2026-12-01T00:00:00Z"},
            {"labels",
             {{"kubernetes.io/hostname", name},
              {"kubernetes.io/os", "linux"},
              {"kubernetes.io/arch", "amd64"},
              {"topology.kubernetes.io/zone", "zone-" + std::to_string(i % 3)}}},
            {"annotations", {{"node.alpha.kubernetes.io/ttl", "0"}}},
            {"managedFields",
             {{{"manager", "kubelet"},
               {"operation", "Update"},
               {"fieldsType", "FieldsV1"},
               {"fieldsV1", {{"f:status", {{"f:conditions", {{".", Json::object()}}}}}}}}}}}},
          {"spec", {{"podCIDR", "10.244.0.0/24"}}},
          {"status",
           {{"addresses",
             {{{"type", "InternalIP"}, {"address", Ip(i)}}, {{"type", "Hostname"}, {"address", name}}}},
            {"conditions", conditions},
            {"images", images},
            {"nodeInfo", {{"kubeletVersion", "v1.34.4"}, {"osImage", "Debian GNU/Linux 12"}}}}}};
}

std::string ServingRequest(int node) {
  std::string name = "node-" + std::to_string(node);
  std::string pem = testing::CsrBuilder()
                        .Subject({{"O", "system:nodes"}, {"CN", "system:node:" + name}})
                        .Dns(name)
                        .Ip(Ip(node))
                        .Key(testing::Key::Ec("P-256"))
                        .Pem();
  std::string b64 = x509::pem::EncodeBody(pem);
  b64.erase(std::remove(b64.begin(), b64.end(), '\n'), b64.end());
  return b64;
}

// status.certificate of an issued serving CSR of node 0: base64 of its PEM, as
// kube-controller-manager writes it (the renewal index reads every one).
std::string ServingCertificate() {
  std::string pem = testing::CertBuilder()
                        .Subject({{"O", "system:nodes"}, {"CN", "system:node:node-0"}})
                        .Dns("node-0")
                        .Ip(Ip(0))
                        .Key(testing::Key::Ec("P-256"))
                        .Build()
                        .pem;
  return testing::Base64(pem);
}

Json Csr(const std::string& name, const std::string& request, const std::string& certificate,
         bool decided, int i) {
  Json c = {{"metadata",
             {{"name", name},
              {"uid", "uid-" + name},
              {"resourceVersion", std::to_string(100000 + i)},
              {"creationTimestamp", "2026-12-06T03:00:00Z"}}},
            {"spec",
             {{"request", request},
              {"signerName", certguard::csr::kServingSigner},
              {"username", "system:node:node-0"},
              {"groups", {"system:nodes", "system:authenticated"}},
              {"usages", {"digital signature", "server auth"}}}}};
  if (decided) {
    c["status"] = {{"conditions",
                    {{{"type", "Approved"},
                      {"status", "True"},
                      {"reason", "CertguardApproved"},
                      {"message", "policy default: ApprovedServing: every SAN is an address of node-0"},
                      {"lastUpdateTime", "2026-12-06T03:00:01Z"}}}},
                   {"certificate", certificate}};
  }
  return c;
}

// A list as pages of `page` items, each a response body.
std::vector<std::string> Pages(const char* kind, const std::vector<Json>& items, int page) {
  std::vector<std::string> out;
  for (size_t start = 0; start < items.size() || out.empty(); start += page) {
    Json list = {{"kind", kind}, {"apiVersion", "v1"}, {"items", Json::array()}};
    for (size_t i = start; i < std::min(items.size(), start + page); ++i) list["items"].push_back(items[i]);
    size_t next = start + page;
    list["metadata"] = {{"resourceVersion", "999999"}};
    if (next < items.size()) list["metadata"]["continue"] = std::to_string(next / page);
    out.push_back(list.dump());
  }
  return out;
}

// The page a list request asks for (its continue token is the page number).
const std::string& PageFor(const std::vector<std::string>& pages, const std::string& path) {
  auto c = path.find("continue=");
  size_t n = c == std::string::npos ? 0 : std::stoul(path.substr(c + 9));
  return pages[std::min(n, pages.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  int nodes = 5000, csrs = 10000, page = 500;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--nodes") nodes = std::stoi(argv[i + 1]);
    else if (a == "--csrs") csrs = std::stoi(argv[i + 1]);
    else if (a == "--page") page = std::stoi(argv[i + 1]);
    else { std::fprintf(stderr, "unknown argument %s\n", a.c_str()); return 2; }
  }
  std::vector<std::string> node_pages, csr_pages, empty_pages;
  {
    std::vector<Json> items;
    for (int i = 0; i < nodes; ++i) items.push_back(Node(i));
    node_pages = Pages("NodeList", items, page);
    items.clear();
    std::string request = ServingRequest(0);
    std::string certificate = ServingCertificate();
    for (int i = 0; i < csrs; ++i) {
      items.push_back(Csr("decided-" + std::to_string(i), request, certificate, true, i));
    }
    items.push_back(Csr("pending-0", request, "", false, csrs));
    csr_pages = Pages("CertificateSigningRequestList", items, page);
    empty_pages = Pages("CSRApprovalPolicyList", {}, page);
  }
  double rss_before = ProcMiB("VmRSS:");

  auto fake = std::make_shared<kube::testing::FakeTransport>();
  std::atomic<bool> approved{false};
  std::atomic<int> lists{0};
  Clock::time_point approved_at;
  fake->OnDo([&](const kube::HttpRequest& r) -> Result<kube::HttpResponse> {
    if (r.method == "PUT" && r.path.find("/pending-0/approval") != std::string::npos) {
      if (!approved.exchange(true)) approved_at = Clock::now();
      return kube::testing::JsonResponse(200, r.body);
    }
    if (r.method != "GET") return kube::testing::JsonResponse(201, r.body.empty() ? "{}" : r.body);
    ++lists;
    if (r.path.find("/nodes?") != std::string::npos) return kube::testing::JsonResponse(200, PageFor(node_pages, r.path));
    if (r.path.find("/certificatesigningrequests?") != std::string::npos) {
      return kube::testing::JsonResponse(200, PageFor(csr_pages, r.path));
    }
    return kube::testing::JsonResponse(200, PageFor(empty_pages, r.path));
  });
  fake->OnStream([](const kube::HttpRequest&) {
    kube::testing::FakeTransport::StreamReply reply;
    reply.hold_open = true;  // watches stay open and quiet
    return reply;
  });
  kube::RestOptions ro;
  ro.qps = 0;
  kube::RestClient client(fake, ro);
  kube::testing::FakeRecorder events;
  csr::CsrControllerOptions options;
  options.plan.flood = {0, 0};

  auto t0 = Clock::now();
  double cpu0 = CpuSeconds();
  double synced_s = -1;
  {
    csr::CsrController controller(client, events, nullptr, options);
    controller.Start();
    auto deadline = t0 + std::chrono::minutes(10);
    while (!(controller.Synced() && approved.load()) && Clock::now() < deadline) {
      if (synced_s < 0 && controller.Synced()) {
        synced_s = std::chrono::duration<double>(Clock::now() - t0).count();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (synced_s < 0 && controller.Synced()) synced_s = std::chrono::duration<double>(Clock::now() - t0).count();
    double decided_s = approved ? std::chrono::duration<double>(approved_at - t0).count() : -1;
    std::printf("%d Nodes, %d decided CSRs + 1 pending, pages of %d (%d list responses)\n", nodes,
                csrs, page, lists.load());
    std::printf("caches synced in   %8.3f s\n", synced_s);
    std::printf("first decision in  %8.3f s (CPU time used by then: %.3f s)\n", decided_s,
                CpuSeconds() - cpu0);
    std::printf("RSS: %.1f MiB (the served pages alone: %.1f MiB), peak %.1f MiB\n",
                ProcMiB("VmRSS:"), rss_before, ProcMiB("VmHWM:"));
    controller.Stop();
    return approved ? 0 : 1;
  }
}
