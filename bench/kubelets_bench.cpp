// Mass kubelet restart on a real control plane, for certguard and the approvers
// it is compared with, one after the other against the same plane:
//
//   certguard_bench_kubelets --cluster DIR --bootstrap-kubeconfig FILE
//       [--kubelets 200] [--timeout 300] [--out FILE]
//       --approver 'NAME=SHELL COMMAND' ...   # run in turn, $KUBECONFIG is the admin's
//       --kcm-clients NAME ...                # kube-controller-manager approves NAME's client CSRs
//       --unavailable 'NAME=WHY' ...          # reported, not run
//       --meta 'KEY=VALUE' ...                # e.g. date, machine, commit
//
// The kubelets are kubelet-certs ($TOOLS_DIR/kubelet-certs, the kubelet's own
// certificate code, see test/kubelet/kubelets.h). Each round starts from a
// cluster with no Node and no CSR. The approver starts; it is ready once one
// warm-up kubelet (bench-node-0) holds a client and a serving certificate.
// Then KUBELETS kubelets (bench-node-1..N, one process) start at once from
// their bootstrap kubeconfig, as nodes whose state was lost do: each asks for
// a client certificate with the bootstrap token, registers its Node with its
// addresses, and asks for a serving certificate. Measured: the time from
// their start until the last one holds its client certificate, then both, and
// the median node; the CSRs of each signer and how they ended; the approver's
// peak resident memory (VmHWM).
//
// Client CSRs: kubelet-serving approvers (the peers) leave them alone, and
// kube-controller-manager's own approver (its controller
// certificatesigningrequest-approving-controller, which the plane must run)
// approves them when kubeadm's bindings grant nodeclient to the bootstrappers
// and selfnodeclient to the nodes. Those bindings exist only during the rounds
// of the approvers named with --kcm-clients; in the other rounds they are
// deleted, so kube-controller-manager approves nothing and the approver under
// test decides every CSR.
//
// Prints a table and writes FILE (default bench/results/kubelets.json). Exit 1
// if any approver that was run failed.
// test/support/cluster.cpp reports through Catch; its implementation lives here, without a main.
#define CATCH_CONFIG_RUNNER
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "csr/policy.h"
#include "support/cluster.h"

using namespace certguard;
using csr::kClientSigner;
using csr::kServingSigner;
using namespace certguard::bench;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

namespace {

// kubeadm's bindings that let kube-controller-manager approve kubelet client
// CSRs (test/cluster/bootstrap-token.sh applies them too), from the repository.
constexpr const char* kKcmClientBindings = "test/cluster/kubeadm-node-autoapprove.yaml";

struct Options : bench::CompareArgs {
  std::string bootstrap_kubeconfig;
  int kubelets = 200;
  std::set<std::string> kcm_clients;  // names
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  o.out = "bench/results/kubelets.json";
  o.timeout_seconds = 300;
  bench::ParseCompareArgs(
      argc, argv, "--approver", o,
      {{"--bootstrap-kubeconfig", [&o](const std::string& v) { o.bootstrap_kubeconfig = v; }},
       {"--kubelets", bench::IntFlag("--kubelets", o.kubelets, 1, 60000)},
       {"--kcm-clients", [&o](const std::string& v) { o.kcm_clients.insert(v); }}});
  if (o.bootstrap_kubeconfig.empty()) Die("--bootstrap-kubeconfig FILE is required");
  return o;
}

// Node i's name; its address is NodeIp(i), as in the approval benchmark.
std::string NodeName(int i) { return "bench-node-" + std::to_string(i); }

// What kubelet-certs last wrote for a node: whether it holds each certificate.
struct Held {
  bool client = false, serving = false;
};

Held ReadHeld(const std::string& state_dir, const std::string& node) {
  std::ifstream in(state_dir + "/" + node + "/status.json");
  std::stringstream text;
  text << in.rdbuf();
  Json st = Json::parse(text.str(), nullptr, false);
  Held h;
  if (!st.is_object()) return h;
  auto has = [&](const char* kind) {
    return st.contains(kind) && st[kind].is_object() && !st[kind].value("serial", "").empty();
  };
  h.client = has("client");
  h.serving = has("serving");
  return h;
}

double Median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

class Bench {
 public:
  explicit Bench(Options o) : o_(std::move(o)) {
    cluster_ = OrDie(test::Cluster::Load(o_.cluster_dir));
    kubelet_certs_ = cluster_.Env("TOOLS_DIR") + "/kubelet-certs";
    if (!std::filesystem::exists(kubelet_certs_))
      Die("no " + kubelet_certs_ + ": run hack/tools/build.sh");
    logs_ = LogsDir(cluster_.dir());
  }

  Json RunApprover(const std::string& name, const std::string& command) {
    const bool kcm = o_.kcm_clients.count(name) > 0;
    Json r = {{"name", name},
              {"command", command},
              {"client_csrs_approved_by", kcm ? "kube-controller-manager" : name},
              {"status", "ok"}};
    std::printf("== %s: %s\n", name.c_str(), command.c_str());
    std::fflush(stdout);
    const std::string log = logs_ + "/" + name + ".log";
    std::filesystem::remove(log);
    if (auto s = Reset(kcm); !s.empty()) {
      r["status"] = "failed";
      r["reason"] = "reset: " + s;
      return r;
    }

    Child approver(command, log);
    const auto started = Clock::now();
    {
      const std::string warm_dir = cluster_.ScratchDir("bench-" + name + "-warmup");
      Child warm(KubeletsCommand(warm_dir, 0, 1), logs_ + "/" + name + "-warmup-kubelet.log");
      const bool ready = bench::WaitUntil(
          [&] {
            Held h = ReadHeld(warm_dir, NodeName(0));
            return (h.client && h.serving) || approver.Ended().has_value();
          },
          std::chrono::seconds(180), std::chrono::milliseconds(100));
      if (!ready || approver.Ended()) {
        r["status"] = "failed";
        r["reason"] = std::string(approver.Ended() ? "exited"
                                                   : "warm-up kubelet without both "
                                                     "certificates after 180 s") +
                      "; log: " + Tail(log);
        return r;
      }
    }
    r["ready_seconds"] = Seconds(Clock::now() - started);

    // All kubelets at once: one process, as many nodes.
    const std::string state = cluster_.ScratchDir("bench-" + name + "-kubelets");
    const int n = o_.kubelets;
    std::vector<double> client_at(n + 1, -1), both_at(n + 1, -1);
    int clients = 0, both = 0;
    const auto t0 = Clock::now();
    Child kubelets(KubeletsCommand(state, 1, n), logs_ + "/" + name + "-kubelets.log");
    const auto deadline = t0 + std::chrono::seconds(o_.timeout_seconds);
    while (both < n && Clock::now() < deadline && !approver.Ended() && !kubelets.Ended()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const double now = Seconds(Clock::now() - t0);
      for (int i = 1; i <= n; ++i) {
        if (both_at[i] >= 0) continue;
        Held h = ReadHeld(state, NodeName(i));
        if (h.client && client_at[i] < 0) {
          client_at[i] = now;
          ++clients;
        }
        if (h.client && h.serving) {
          both_at[i] = now;
          ++both;
        }
      }
    }
    const double elapsed = Seconds(Clock::now() - t0);
    std::vector<double> client_times, both_times;
    for (int i = 1; i <= n; ++i) {
      if (client_at[i] >= 0) client_times.push_back(client_at[i]);
      if (both_at[i] >= 0) both_times.push_back(both_at[i]);
    }
    r["nodes_with_client"] = clients;
    r["nodes_with_both"] = both;
    if (clients == n)
      r["all_client_seconds"] = *std::max_element(client_times.begin(), client_times.end());
    if (both == n) r["all_both_seconds"] = *std::max_element(both_times.begin(), both_times.end());
    if (!both_times.empty()) r["median_both_seconds"] = Median(both_times);
    r["rss_peak_mib"] = bench::MemoryOf(approver.pid()).hwm_mib;
    r["csrs"] = CountCsrs();
    if (approver.Ended()) {
      r["status"] = "failed";
      r["reason"] = "the approver exited; log: " + Tail(log);
    } else if (kubelets.Ended()) {
      r["status"] = "failed";
      r["reason"] = "kubelet-certs exited; log: " + Tail(logs_ + "/" + name + "-kubelets.log");
    } else if (both < n) {
      r["status"] = "failed";
      char buf[160];
      std::snprintf(buf, sizeof buf,
                    "after %.0f s: %d of %d nodes hold a client certificate, %d both", elapsed,
                    clients, n, both);
      r["reason"] = buf;
    }
    kubelets.Stop();
    approver.Stop();
    return r;
  }

 private:
  // kubelet-certs for nodes first..first+count-1, state under `dir`, serving on.
  std::string KubeletsCommand(const std::string& dir, int first, int count) const {
    std::string cmd = bench::Quote(kubelet_certs_) + " -bootstrap-kubeconfig " +
                      bench::Quote(o_.bootstrap_kubeconfig) + " -dir " + bench::Quote(dir) +
                      " -serve";
    for (int i = first; i < first + count; ++i) cmd += " -node " + NodeName(i) + "=" + NodeIp(i);
    return cmd;
  }

  // No Node and no CSR; kubeadm's client bindings present or absent. Empty when done.
  std::string Reset(bool kcm_clients) {
    // One DELETE of each collection (kubectl delete --all sends one per object).
    for (const char* path :
         {"/apis/certificates.k8s.io/v1/certificatesigningrequests", "/api/v1/nodes"}) {
      auto d = cluster_.Kubectl(std::string("delete --raw ") + path);
      if (!d.ok()) return d.err;
    }
    const bool empty =
        bench::WaitUntil([&] { return cluster_.Kubectl("get csr,nodes -o name").out.empty(); },
                         std::chrono::seconds(60), std::chrono::milliseconds(200));
    if (!empty) return "CSRs or Nodes still there 60 s after their deletion";
    auto b = cluster_.Kubectl(std::string(kcm_clients ? "apply" : "delete --ignore-not-found") +
                              " -f " + kKcmClientBindings);
    return b.ok() ? "" : b.err;
  }

  // The CSRs of the round, per signer: how they ended, and the reasons of the
  // decisions (which approver wrote them: CertguardApproved, AutoApproved, ...).
  Json CountCsrs() {
    const Json counts = {
        {"approved", 0}, {"denied", 0}, {"failed", 0}, {"pending", 0}, {"reasons", Json::object()}};
    Json out = {{"client", counts}, {"serving", counts}};
    auto r = cluster_.Kubectl("get csr -o json");
    Json list = Json::parse(r.out, nullptr, false);
    if (!list.is_object()) return out;
    for (const auto& c : list.value("items", Json::array())) {
      const std::string signer = c.value("spec", Json::object()).value("signerName", "");
      const char* kind = signer == kClientSigner    ? "client"
                         : signer == kServingSigner ? "serving"
                                                    : nullptr;
      if (!kind) continue;
      std::string d = DecisionOf(c);
      const char* key = d == "Approved" ? "approved"
                        : d == "Denied" ? "denied"
                        : d == "Failed" ? "failed"
                                        : "pending";
      out[kind][key] = out[kind][key].get<int>() + 1;
      for (const auto& cond :
           c.value("status", Json::object()).value("conditions", Json::array())) {
        if (cond.value("type", "") != "Approved" && cond.value("type", "") != "Denied") continue;
        Json& reasons = out[kind]["reasons"];
        const std::string reason = cond.value("reason", "");
        reasons[reason] = reasons.value(reason, 0) + 1;
      }
    }
    return out;
  }

  Options o_;
  test::Cluster cluster_;
  std::string kubelet_certs_;
  std::string logs_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  Bench bench(o);

  Json results = bench::UnavailableResults(o);
  for (const auto& [name, command] : o.contenders)
    results.push_back(bench.RunApprover(name, command));

  // The time to the last node against the best peer's (every approver that ran
  // fine but certguard's runs): below 1 is faster.
  double best = -1;
  for (const auto& r : results) {
    if (r["name"].get<std::string>().rfind("certguard", 0) == 0 || r["status"] != "ok") continue;
    double v = r.value("all_both_seconds", -1.0);
    if (v > 0 && (best < 0 || v < best)) best = v;
  }
  for (auto& r : results) {
    if (best > 0 && r["status"] == "ok")
      r["all_both_vs_best_peer"] = r["all_both_seconds"].get<double>() / best;
  }

  std::printf("\n%d kubelets starting at once from their bootstrap kubeconfig\n", o.kubelets);
  std::printf("%-30s %-11s %-24s %9s %9s %9s %9s %7s\n", "approver", "status", "client CSRs by",
              "client s", "both s", "median s", "peak MiB", "x best");
  bool failed = false;
  for (const auto& r : results) {
    std::string status = r["status"];
    std::printf("%-30s %-11s %-24s %9s %9s %9s %9s %7s\n", r["name"].get<std::string>().c_str(),
                status.c_str(), r.value("client_csrs_approved_by", "-").c_str(),
                Fmt(r, "all_client_seconds").c_str(), Fmt(r, "all_both_seconds").c_str(),
                Fmt(r, "median_both_seconds").c_str(), Fmt(r, "rss_peak_mib").c_str(),
                Fmt(r, "all_both_vs_best_peer", "%.2f").c_str());
    if (status == "failed") failed = true;
  }
  for (const auto& r : results) {
    if (r.contains("csrs"))
      std::printf("  %s CSRs: %s\n", r["name"].get<std::string>().c_str(),
                  r["csrs"].dump().c_str());
  }
  bench::PrintReasons(results);

  Json out = {{"benchmark", "mass kubelet restart"},
              {"meta", bench::MetaOf(o)},
              {"kubelets", o.kubelets},
              {"timeout_seconds", o.timeout_seconds},
              {"approvers", results}};
  bench::WriteResults(o.out, out);
  return failed ? 1 : 0;
}
