// Shared by the CSR integration tests: certguard runs as a child process
// against the shared control plane; the helpers read CSRs with kubectl.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/certguard_process.h"
#include "support/cluster.h"

namespace certguard::test::csr_it {

inline std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
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

// Event reasons recorded on a CSR ("Approved", "Denied", ...), any namespace.
inline std::string EventsOf(const Cluster& cluster, const std::string& csr) {
  return cluster
      .Kubectl("get events -A --field-selector involvedObject.kind=CertificateSigningRequest,"
               "involvedObject.name=" + csr + " -o jsonpath='{range .items[*]}{.reason}:{.message}{\"\\n\"}{end}'")
      .out;
}

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

// The metrics port certguard logged.
inline int MetricsPort(const CertguardProcess& p) {
  std::string log = p.Log();
  auto at = log.find("metrics_port=");
  if (at == std::string::npos) return 0;
  return std::atoi(log.c_str() + at + 13);
}

}  // namespace certguard::test::csr_it
