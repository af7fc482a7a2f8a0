// Process-wide logging over spdlog: readable text by default, one JSON object
// per line with --log-format json. Messages carry key/value fields instead of
// values spliced into the text, so both formats stay machine-searchable.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace certguard::log {

enum class Format { kText, kJson };

using Fields = std::vector<std::pair<std::string, std::string>>;

// Parses "text"/"json" and "trace".."off"; InvalidArgument otherwise.
Status Init(std::string_view format, std::string_view level);

// Pure: renders one line (without the newline) as Init's format would print it.
// `time` is RFC 3339 UTC; exposed for tests.
std::string Render(Format format, std::string_view time, std::string_view level,
                   std::string_view msg, const Fields& fields);

void Debug(std::string_view msg, const Fields& fields = {});
void Info(std::string_view msg, const Fields& fields = {});
void Warn(std::string_view msg, const Fields& fields = {});
void Error(std::string_view msg, const Fields& fields = {});

}  // namespace certguard::log
