#include "common/table.h"

#include <algorithm>

namespace certguard::common {

namespace {

std::string Clean(std::string s) {
  std::replace_if(
      s.begin(), s.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  return s;
}

// Display width: UTF-8 continuation bytes do not count.
size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  const size_t cols = header.size();
  std::vector<std::vector<std::string>> cells;
  cells.push_back(header);
  for (const auto& r : rows) {
    std::vector<std::string> row(cols);
    for (size_t i = 0; i < cols && i < r.size(); ++i) row[i] = Clean(r[i]);
    cells.push_back(std::move(row));
  }
  std::vector<size_t> width(cols, 0);
  for (const auto& row : cells) {
    for (size_t i = 0; i < cols; ++i) width[i] = std::max(width[i], Width(row[i]));
  }
  std::string out;
  for (const auto& row : cells) {
    std::string line;
    for (size_t i = 0; i < cols; ++i) {
      line += row[i];
      if (i + 1 < cols) line.append(width[i] - Width(row[i]) + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace certguard::common
