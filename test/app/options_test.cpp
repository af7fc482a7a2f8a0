#include "app/options.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace certguard::app;

TEST_CASE("ParseControllerList keeps known names in start order", "[app]") {
  auto all = ParseControllerList("expiry,csr,trust");
  REQUIRE(all.ok());
  CHECK(*all == std::vector<std::string>{"csr", "trust", "expiry"});
  auto one = ParseControllerList(" csr , csr");
  REQUIRE(one.ok());
  CHECK(*one == std::vector<std::string>{"csr"});
  for (const char* bad : {"", "csr,", "csr,dns", "CSR", ",trust"}) {
    INFO(bad);
    auto r = ParseControllerList(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == certguard::Code::kInvalidArgument);
  }
  CHECK(ParseControllerList("csr,dns").status().message().find("\"dns\"") != std::string::npos);
}

TEST_CASE("DefaultLeaderElectionNamespace: env, service account file, fallback", "[app]") {
  auto dir = std::filesystem::temp_directory_path() / "certguard-app-test-sa";
  std::filesystem::create_directories(dir);
  Getenv with_env = [](const std::string& k) -> std::optional<std::string> {
    if (k == "POD_NAMESPACE") return "from-env";
    return std::nullopt;
  };
  Getenv none = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  std::filesystem::remove(dir / "namespace");
  CHECK(DefaultLeaderElectionNamespace(with_env, dir.string()) == "from-env");
  CHECK(DefaultLeaderElectionNamespace(none, dir.string()) == "certguard");
  std::ofstream(dir / "namespace") << "kube-system\n";
  CHECK(DefaultLeaderElectionNamespace(none, dir.string()) == "kube-system");
  CHECK(DefaultLeaderElectionNamespace(with_env, dir.string()) == "from-env");
  std::filesystem::remove_all(dir);
}

TEST_CASE("Validate checks the leader election timings and limits", "[app]") {
  RunOptions o;
  CHECK(Validate(o).ok());
  o.renew_deadline = o.lease_duration;
  CHECK_FALSE(Validate(o).ok());
  o.leader_elect = false;  // timings do not matter without election
  CHECK(Validate(o).ok());
  o.workers = 0;
  CHECK_FALSE(Validate(o).ok());
  o.workers = 1;
  o.csr_max_pending = -1;
  CHECK_FALSE(Validate(o).ok());
  o.csr_max_pending = 0;
  o.kube_api_qps = 0;  // no client-side limit
  CHECK(Validate(o).ok());
  o.kube_api_qps = -1;
  CHECK_FALSE(Validate(o).ok());
  o.kube_api_qps = std::nan("");
  CHECK_FALSE(Validate(o).ok());
  o.kube_api_qps = 100;
  o.kube_api_burst = 0;
  CHECK_FALSE(Validate(o).ok());
}

TEST_CASE("Validate bounds counts and durations, and checks the deny list's network",
          "[app]") {
  RunOptions o;
  o.workers = 65;
  CHECK_FALSE(Validate(o).ok());
  o.workers = 64;
  CHECK(Validate(o).ok());
  o.csr_node_wait_timeout = std::chrono::hours(8761);
  CHECK_FALSE(Validate(o).ok());
  o.csr_node_wait_timeout = std::chrono::hours(8760);
  CHECK(Validate(o).ok());
  o.service_cidrs = {"10.96.0.0/12", "172.30.0.0/16"};
  CHECK(Validate(o).ok());
  o.service_cidrs = {"10.96.0.1/12"};
  CHECK_FALSE(Validate(o).ok());
  o.service_cidrs.clear();
  o.cluster_domain = "not a domain";
  CHECK_FALSE(Validate(o).ok());
}

TEST_CASE("LeaderIdentity prefers the pod name", "[app]") {
  Getenv pod = [](const std::string& k) -> std::optional<std::string> {
    if (k == "POD_NAME") return "certguard-7d9f";
    return std::nullopt;
  };
  Getenv none = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  CHECK(LeaderIdentity(pod, "host", "ab12") == "certguard-7d9f_ab12");
  CHECK(LeaderIdentity(none, "host", "ab12") == "host_ab12");
  CHECK(LeaderIdentity(none, "", "ab12") == "certguard_ab12");
}

TEST_CASE("Validate refuses an expiry label selector that is not one", "[app]") {
  certguard::app::RunOptions o;
  o.expiry_secret_selector = "certguard.io/expiry=true";
  o.expiry_configmap_selector = "app in (a,b),!legacy";
  CHECK(certguard::app::Validate(o).ok());
  o.expiry_secret_selector = "x=$(id)";
  auto st = certguard::app::Validate(o);
  CHECK_FALSE(st.ok());
  CHECK(st.message().find("--expiry-secret-selector") != std::string::npos);
}

TEST_CASE("Validate takes deny or leave for --csr-superseded", "[app]") {
  RunOptions o;
  CHECK(o.csr_superseded == "deny");
  CHECK(Validate(o).ok());
  o.csr_superseded = "leave";
  CHECK(Validate(o).ok());
  o.csr_superseded = "approve";
  auto st = Validate(o);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == "--csr-superseded must be deny, leave or off, not \"approve\"");
  o.csr_superseded = "off";
  CHECK(Validate(o).ok());
}

TEST_CASE("Validate refuses bad expiry filter flags, naming each", "[app][filter]") {
  RunOptions o;
  o.expiry_include_namespaces = {"apps", "team-*"};
  o.expiry_exclude_namespace_selector = "tier=scratch";
  o.expiry_secret_label_keys = {"team"};
  o.expiry_csr_signers = "all";
  CHECK(certguard::app::Validate(o).ok());
  auto refused = [&](RunOptions bad, const char* flag) {
    auto st = certguard::app::Validate(bad);
    INFO(flag);
    REQUIRE_FALSE(st.ok());
    CHECK(st.message().find(flag) != std::string::npos);
  };
  RunOptions bad = o;
  bad.expiry_csr_signers = "some";
  refused(bad, "--expiry-csr-signers");
  bad = o;
  bad.expiry_include_namespaces = {"Apps"};
  refused(bad, "--expiry-include-namespaces");
  bad = o;
  bad.expiry_include_namespace_selector = "a in (b";
  refused(bad, "--expiry-include-namespace-selector");
  bad = o;
  bad.expiry_secret_label_keys.assign(11, "k");
  refused(bad, "--expiry-secret-label-keys");
}
