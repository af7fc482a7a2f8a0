// Shared by the CSR integration tests: certguard runs as a child process
// against the shared control plane; the helpers read CSRs with kubectl.
#pragma once

#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/time.h"
#include "support/certguard_process.h"
#include "support/cluster.h"

namespace certguard::test::csr_it {

inline std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// Creates a kubelet CSR as `kubeconfig` (test/cluster/kubelet-csr.sh create ARGS), without
// waiting for a decision; returns its name. Fails the test if it cannot be created.
inline std::string CreateCsr(const Cluster& cluster, const std::string& kubeconfig,
                             const std::string& args, const std::string& out) {
  CommandResult r = cluster.Run("test/cluster/kubelet-csr.sh create --kubeconfig " +
                                ShellQuote(kubeconfig) + " " + args + " --out " + ShellQuote(out));
  INFO(r.err);
  REQUIRE(r.ok());
  return Trim(r.out);
}

// The CSR as JSON; null when it cannot be read.
inline nlohmann::json GetCsr(const Cluster& cluster, const std::string& name) {
  CommandResult r = cluster.Kubectl("get csr " + ShellQuote(name) + " -o json");
  if (!r.ok()) return nullptr;
  return nlohmann::json::parse(r.out, nullptr, false);
}

// "Approved", "Denied" or "" from the CSR's conditions; "Issued" once signed.
inline std::string StateOf(const nlohmann::json& csr) {
  if (!csr.is_object()) return "";
  const auto& st = csr.value("status", nlohmann::json::object());
  if (st.contains("certificate") && st["certificate"].is_string() &&
      !st["certificate"].get<std::string>().empty()) {
    return "Issued";
  }
  for (const auto& c : st.value("conditions", nlohmann::json::array())) {
    if (c.value("status", "") == "True" && (c.value("type", "") == "Approved" ||
                                            c.value("type", "") == "Denied")) {
      return c["type"].get<std::string>();
    }
  }
  return "";
}

// The message of the first Approved/Denied condition.
inline std::string DecisionMessage(const nlohmann::json& csr) {
  if (!csr.is_object()) return "";
  const auto& st = csr.value("status", nlohmann::json::object());
  for (const auto& c : st.value("conditions", nlohmann::json::array())) {
    if (c.value("type", "") == "Approved" || c.value("type", "") == "Denied") {
      return c.value("reason", "") + ": " + c.value("message", "");
    }
  }
  return "";
}

// Seconds from `from` to `to`, both "2026-11-24T05:18:33Z" as the API writes them;
// a huge negative value when either does not parse.
inline long SecondsBetween(const std::string& from, const std::string& to) {
  auto parse = [](const std::string& s) -> long {
    auto t = certguard::common::ParseRfc3339(s);
    return t.ok() ? static_cast<long>(t->time_since_epoch().count()) : -1;
  };
  long a = parse(from), b = parse(to);
  return a < 0 || b < 0 ? -1000000 : b - a;
}

// lastUpdateTime of the first Approved/Denied condition.
inline std::string DecisionTime(const nlohmann::json& csr) {
  if (!csr.is_object()) return "";
  const auto& st = csr.value("status", nlohmann::json::object());
  for (const auto& c : st.value("conditions", nlohmann::json::array())) {
    if (c.value("type", "") == "Approved" || c.value("type", "") == "Denied") {
      return c.value("lastUpdateTime", "");
    }
  }
  return "";
}

// Event reasons recorded on a CSR ("Approved", "Denied", ...), any namespace.
inline std::string EventsOf(const Cluster& cluster, const std::string& csr) {
  return cluster
      .Kubectl("get events -A --field-selector involvedObject.kind=CertificateSigningRequest,"
               "involvedObject.name=" + csr + " -o jsonpath='{range .items[*]}{.reason}:{.message}{\"\\n\"}{end}'")
      .out;
}

// The CRDs certguard watches (idempotent), and no CSRApprovalPolicy: these
// tests expect the built-in default policy unless they create one.
inline void PrepareCluster(const Cluster& cluster) {
  CommandResult r = cluster.Kubectl("apply -f crds/");
  INFO(r.err);
  REQUIRE(r.ok());
  REQUIRE(cluster.Kubectl("wait --for condition=established --timeout=60s "
                          "crd/csrapprovalpolicies.certguard.io").ok());
  CommandResult cleared = cluster.Kubectl("delete csrapprovalpolicies --all");
  INFO(cleared.err);
  REQUIRE(cleared.ok());
}

// Deletes a cluster object when the test ends, passed or not: a policy left
// behind would decide for every later test. `what` is "KIND NAME".
struct DeleteOnExit {
  const Cluster& cluster;
  std::string what;
  ~DeleteOnExit() { cluster.Kubectl("delete " + what + " --ignore-not-found"); }
};

// certguard run with flags for tests: metrics and health on free ports, no
// leader election unless `extra` turns it on.
inline std::unique_ptr<CertguardProcess> StartCertguard(const Cluster& cluster,
                                                        const std::string& log_name,
                                                        std::vector<std::string> extra = {},
                                                        const std::string& kubeconfig = "") {
  std::vector<std::string> args = {"run",
                                   "--kubeconfig", kubeconfig.empty() ? cluster.admin_kubeconfig() : kubeconfig,
                                   "--controllers=csr",
                                   "--metrics-bind-address=127.0.0.1:0",
                                   "--health-bind-address=127.0.0.1:0",
                                   "--log-level=debug"};
  bool election = false;
  for (const auto& e : extra) election |= e.rfind("--leader-elect=true", 0) == 0;
  if (!election) args.push_back("--leader-elect=false");
  for (auto& e : extra) args.push_back(std::move(e));
  return std::make_unique<CertguardProcess>(args, cluster.ScratchDir("logs-" + log_name) + "/certguard.log");
}

// The value of one series ("name{labels}" exactly as exposed) in a /metrics
// text; -1 when absent.
inline double MetricValue(const std::string& text, const std::string& series) {
  size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') return std::atof(text.c_str() + at + series.size() + 1);
    at += series.size();
  }
  return -1;
}

// The metrics port certguard logged.
inline int MetricsPort(const CertguardProcess& p) {
  std::string log = p.Log();
  auto at = log.find("metrics_port=");
  if (at == std::string::npos) return 0;
  return std::atoi(log.c_str() + at + 13);
}

// A certguard command line against `cluster` as its admin: "BINARY ARGS --kubeconfig FILE".
inline std::string CertguardCommand(const Cluster& cluster, const std::string& args) {
  return ShellQuote(CertguardBinary()) + " " + args + " --kubeconfig " +
         ShellQuote(cluster.admin_kubeconfig());
}

}  // namespace certguard::test::csr_it
