// The budgets of a file scan, as flags of check-expiration and node-agent.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>

namespace certguard::cli {

inline void AddScanBudgetFlags(CLI::App* cmd, size_t& max_file_size, int& max_depth) {
  cmd->add_option("--max-file-size", max_file_size,
                  "A file larger than this is reported and not read (bytes; 512KiB, 1MiB, ...)")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(size_t{1}, size_t{64} * 1024 * 1024))
      ->capture_default_str();
  cmd->add_option("--max-depth", max_depth,
                  "Directories nested deeper than this below a --path are reported and not read")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
}

}  // namespace certguard::cli
