// The expiry inventory's filters (expiry/filter.h) as flags, one registration
// for `run` (--expiry-include-namespaces ...) and `certs check-expiration`
// (--include-namespaces ..., as its other inventory flags have no prefix).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace certguard::cli {

// Where each flag's value goes. --*-csr-signers is kept as text: the command
// parses it with expiry::ParseCsrSigners, so both refuse it alike.
struct ExpiryFilterFlagTargets {
  std::vector<std::string>& include_namespaces;
  std::vector<std::string>& exclude_namespaces;
  std::string& include_namespace_selector;
  std::string& exclude_namespace_selector;
  bool& leaf_only;
  std::string& csr_signers;
};

// `prefix` starts each flag's name ("--expiry-" or "--"), `help` each help text.
inline void AddExpiryFilterFlags(CLI::App* cmd, const std::string& prefix, const std::string& help,
                                 const ExpiryFilterFlagTargets& t) {
  cmd->add_option(prefix + "include-namespaces", t.include_namespaces,
                  help +
                      "only Secrets and ConfigMaps of these namespaces (comma list; * matches "
                      "any run of characters; empty: every namespace)")
      ->delimiter(',');
  cmd->add_option(prefix + "exclude-namespaces", t.exclude_namespaces,
                  help +
                      "never Secrets and ConfigMaps of these namespaces (wins over the "
                      "include list)")
      ->delimiter(',');
  cmd->add_option(prefix + "include-namespace-selector", t.include_namespace_selector,
                  help + "only namespaces whose labels match this selector");
  cmd->add_option(prefix + "exclude-namespace-selector", t.exclude_namespace_selector,
                  help + "never namespaces whose labels match this selector");
  cmd->add_flag(prefix + "leaf-only", t.leaf_only,
                help + "only the first (leaf) certificate of each Secret field");
  cmd->add_option(prefix + "csr-signers", t.csr_signers,
                  help + "issued CSRs of the kubelet signers, or of all signers")
      ->capture_default_str();
}

}  // namespace certguard::cli
