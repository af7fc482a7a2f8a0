#include "common/json_parse.h"

#include <cstring>
#include <string>

namespace certguard::common {

namespace {
constexpr std::string_view kTooDeep = "JSON nested deeper than ";
}  // namespace

int JsonDepth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  const char* p = text.data();
  const char* end = p + text.size();
  for (; p < end; ++p) {
    switch (*p) {
      case '"': {
        // Skip the string with memchr (strings, base64 above all, are most of the
        // bytes): it ends at the first '"' after an even run of backslashes.
        const char* start = p + 1;
        const char* q = start;
        for (;;) {
          q = static_cast<const char*>(std::memchr(q, '"', static_cast<size_t>(end - q)));
          if (!q) return deepest;  // unterminated: not JSON, the parser says so
          size_t backslashes = 0;
          for (const char* b = q; b > start && b[-1] == '\\'; --b) ++backslashes;
          if (backslashes % 2 == 0) break;
          ++q;
        }
        p = q;
        break;
      }
      case '[':
      case '{':
        if (++depth > deepest) {
          deepest = depth;
          if (deepest > limit) return deepest;
        }
        break;
      case ']':
      case '}':
        --depth;
        break;
      default:
        break;
    }
  }
  return deepest;
}

Result<nlohmann::json> ParseJson(std::string_view text, int max_depth) {
  if (JsonDepth(text, max_depth) > max_depth) {
    return InvalidArgument(std::string(kTooDeep) + std::to_string(max_depth) + " levels");
  }
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("not valid JSON");
  return j;
}

bool IsTooDeep(const Status& status) {
  return status.code() == Code::kInvalidArgument && status.message().starts_with(kTooDeep);
}

}  // namespace certguard::common
