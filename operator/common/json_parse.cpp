#include "common/json_parse.h"

#include <string>

namespace certguard::common {

namespace {
constexpr std::string_view kTooDeep = "JSON nested deeper than ";
}  // namespace

int JsonDepth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  const char* p = text.data();
  const char* end = p + text.size();
  for (; p < end; ++p) {
    const char c = *p;
    if (in_string) {
      if (c == '\\') {
        ++p;  // the escaped character, '"' included, never ends the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
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
