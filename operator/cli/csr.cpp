// `certguard csr evaluate`: the decision the controller would make for one CSR,
// offline, from files as kubectl prints them.
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/app.h"
#include "cli/cluster.h"
#include "cli/commands.h"
#include "common/yaml_json.h"
#include "csr/evaluate.h"
#include "csr/node.h"
#include "csr/policy.h"
#include "csr/request.h"

namespace certguard::cli {

namespace {

constexpr size_t kMaxFileBytes = 64 * 1024 * 1024;

struct EvaluateFlags {
  std::string csr_file;
  std::vector<std::string> node_files;
  std::vector<std::string> policy_files;
  std::string output = "text";
  std::string now;
  NetworkFlags network;
};

// Every object of kind `kind` in the file; an error for any other object.
Result<std::vector<nlohmann::json>> ReadObjects(const std::string& path, const std::string& kind) {
  std::string text;
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    text = ss.str();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return InvalidArgument(path + ": cannot open");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return InvalidArgument(path + ": cannot read");
    text = ss.str();
  }
  if (text.size() > kMaxFileBytes) return InvalidArgument(path + ": larger than 64 MiB");
  auto docs = common::ParseDocuments(text);
  if (!docs.ok()) return docs.status().Annotate(path);
  auto objects = common::FlattenObjects(*docs);
  if (!objects.ok()) return objects.status().Annotate(path);
  for (const auto& o : *objects) {
    auto k = o.find("kind");
    if (k == o.end() || !k->is_string() || *k != kind) {
      std::string got = k == o.end() ? "no kind" : "kind " + k->dump();
      return InvalidArgument(path + ": expected " + kind + " objects, found " + got);
    }
  }
  return objects;
}

void PrintText(std::ostream& out, const csr::CsrRequest& req, const csr::Decision& d) {
  out << "csr:      " << (req.name.empty() ? "(unnamed)" : req.name) << "\n"
      << "decision: " << csr::VerdictName(d.verdict) << (d.dry_run ? " (dry run)" : "") << "\n"
      << "policy:   " << (d.policy.empty() ? "(none)" : d.policy) << "\n"
      << "reasons:\n";
  for (const auto& r : d.reasons) out << "  " << r.code << ": " << r.message << "\n";
}

int RunEvaluate(const EvaluateFlags& f, Context& ctx) {
  auto fail = [&ctx](const Status& st) {
    ctx.err << "certguard csr evaluate: " << st.message() << "\n";
    return kExitUsage;
  };
  x509::Time now = std::chrono::time_point_cast<std::chrono::seconds>(
      std::chrono::system_clock::now());
  if (!f.now.empty()) {
    auto t = common::ParseRfc3339(f.now);
    if (!t.ok()) return fail(t.status().Annotate("--now"));
    now = *t;
  }

  auto network = csr::MakeClusterNetwork(f.network.cluster_domain, f.network.service_cidrs);
  if (!network.ok()) return fail(network.status());

  auto csrs = ReadObjects(f.csr_file, "CertificateSigningRequest");
  if (!csrs.ok()) return fail(csrs.status());
  if (csrs->size() != 1) {
    return fail(InvalidArgument(f.csr_file + ": expected one CertificateSigningRequest, found " +
                                std::to_string(csrs->size())));
  }
  auto request = csr::RequestFromObject((*csrs)[0]);
  if (!request.ok()) return fail(request.status().Annotate(f.csr_file));

  csr::NodeMap nodes;
  for (const auto& file : f.node_files) {
    auto objs = ReadObjects(file, "Node");
    if (!objs.ok()) return fail(objs.status());
    for (const auto& o : *objs) {
      auto n = csr::NodeFromObject(o);
      if (!n.ok()) return fail(n.status().Annotate(file));
      nodes[n->name] = std::move(*n);
    }
  }

  std::vector<csr::Policy> policies;
  for (const auto& file : f.policy_files) {
    auto objs = ReadObjects(file, csr::kPolicyKind);
    if (!objs.ok()) return fail(objs.status());
    for (const auto& o : *objs) {
      auto p = csr::PolicyFromObject(o);
      if (!p.ok()) return fail(p.status().Annotate(file));
      for (const auto& e : p->errors) {
        ctx.err << "certguard csr evaluate: policy " << p->name << " is invalid: " << e << "\n";
      }
      policies.push_back(std::move(*p));
    }
  }

  csr::Decision d = csr::Evaluate(*request, nodes, policies, now, *network);
  if (f.output == "json") {
    ctx.out << csr::DecisionToJson(d) << "\n";
  } else {
    PrintText(ctx.out, *request, d);
  }
  return kExitOk;
}

}  // namespace

void AddCsrCommand(CLI::App& app, Context& ctx) {
  auto* csr = app.add_subcommand("csr", "Kubelet CertificateSigningRequest decisions");
  csr->require_subcommand(1);

  auto flags = std::make_shared<EvaluateFlags>();
  auto* eval = csr->add_subcommand(
      "evaluate",
      "Decide one CSR offline, as the controller would, and say why (exit 0 whatever the "
      "decision, 2 if an input cannot be read)");
  eval->add_option("--csr", flags->csr_file,
                   "CertificateSigningRequest (YAML or JSON, as kubectl get -o yaml|json prints "
                   "it; one object or a List; - for stdin)")
      ->required();
  eval->add_option("--nodes", flags->node_files, "Node objects or a NodeList (repeatable)");
  eval->add_option("--policy", flags->policy_files,
                   "CSRApprovalPolicy objects or a List (repeatable); none: the built-in default "
                   "policy");
  eval->add_option("-o,--output", flags->output, "Output: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  eval->add_option("--now", flags->now,
                   "Evaluate at this RFC 3339 time instead of the clock (NotReady durations)");
  AddNetworkFlags(eval, flags->network);
  eval->callback([flags, &ctx] { ctx.run = [flags, &ctx] { return RunEvaluate(*flags, ctx); }; });
}

}  // namespace certguard::cli
