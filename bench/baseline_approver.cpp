// An approver that checks nothing, for comparison in the approval benchmark
// (BENCH_BASELINE=1 bench/approval.sh runs it as "baseline-no-checks"). Every
// kubelet-serving CSR that carries the benchmark's round label and no decision
// is approved as soon as the watch shows it, by 16 workers, through the client
// certguard uses (cpprest, TLS, JSON watch, no client-side limit), written the
// plain way: every event parsed whole, no cache.
//
//   KUBECONFIG=... certguard_bench_baseline_approver
//
// It answers one question: does certguard's reading and checking of each CSR
// set its pace? (docs/benchmarks.md: no; certguard's round and CPU are below
// this program's.) Only CSRs labelled bench.certguard.io/round are touched, so
// a mistaken run on a real cluster approves nothing else; it is built for the
// benchmark and never installed.
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "csr/approval.h"
#include "csr/policy.h"
#include "kube/client.h"
#include "kube/config.h"

using namespace certguard;
using Json = nlohmann::json;
namespace res = kube::resources;

namespace {

constexpr const char* kSelector = "bench.certguard.io/round";
constexpr int kWorkers = 16;

class Approver {
 public:
  explicit Approver(std::shared_ptr<kube::Client> client) : client_(std::move(client)) {
    for (int i = 0; i < kWorkers; ++i) workers_.emplace_back([this] { Work(); });
  }

  // List, then watch from the list's version; again from a fresh list after an error.
  [[noreturn]] void Run() {
    for (;;) {
      kube::ListOptions lo;
      lo.label_selector = kSelector;
      auto list = client_->List(res::kCertificateSigningRequests, "", lo);
      if (!list.ok()) {
        std::fprintf(stderr, "list: %s\n", list.status().ToString().c_str());
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      for (auto& item : (*list)["items"]) Offer(std::move(item));
      kube::WatchOptions wo;
      wo.label_selector = kSelector;
      wo.resource_version = (*list)["metadata"].value("resourceVersion", "");
      wo.timeout_seconds = 1800;
      kube::CancelToken cancel;
      Status s = client_->Watch(res::kCertificateSigningRequests, "", wo,
                                [this](kube::WatchEvent&& e) {
                                  if (e.type == kube::EventType::kAdded ||
                                      e.type == kube::EventType::kModified) {
                                    Offer(std::move(e.object));
                                  }
                                  return true;
                                },
                                cancel);
      if (!s.ok()) std::fprintf(stderr, "watch: %s\n", s.ToString().c_str());
    }
  }

 private:
  // Queued unless decided, of another signer, or already queued.
  void Offer(Json csr) {
    if (!csr.is_object() || csr::IsDecided(csr)) return;
    if (csr.value("spec", Json::object()).value("signerName", "") != csr::kServingSigner) return;
    std::string name = csr.value("metadata", Json::object()).value("name", "");
    if (name.empty()) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (!queued_.insert(name).second) return;
    queue_.push_back(std::move(csr));
    cv_.notify_one();
  }

  void Work() {
    for (;;) {
      Json csr;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return !queue_.empty(); });
        csr = std::move(queue_.front());
        queue_.pop_front();
      }
      std::string name = csr["metadata"]["name"];  // Offer checked it
      auto body = csr::BuildApprovalBody(csr, true, "benchmark baseline: not checked",
                                         common::SystemClock().Now());
      Status s = body.ok() ? client_->UpdateWithoutResult(res::kCertificateSigningRequests, "",
                                                          *body, "approval")
                           : body.status();
      // A conflict or an error: the next event for the CSR queues it again.
      if (!s.ok()) std::fprintf(stderr, "approve %s: %s\n", name.c_str(), s.ToString().c_str());
      std::lock_guard<std::mutex> lock(mu_);
      queued_.erase(name);
    }
  }

  std::shared_ptr<kube::Client> client_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Json> queue_;
  std::set<std::string> queued_;
  std::vector<std::thread> workers_;
};

}  // namespace

int main() {
  kube::LoadOptions lo;
  auto config = kube::LoadClientConfig(lo);
  if (!config.ok()) {
    std::fprintf(stderr, "kubeconfig: %s\n", config.status().ToString().c_str());
    return 1;
  }
  config->qps = 0;
  auto client = kube::NewRestClient(*config);
  if (!client.ok()) {
    std::fprintf(stderr, "client: %s\n", client.status().ToString().c_str());
    return 1;
  }
  Approver(*client).Run();
}
