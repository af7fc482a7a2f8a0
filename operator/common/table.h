// Plain-text tables as kubectl prints them: upper-case headers, columns padded
// to the widest cell plus three spaces, no trailing spaces. Pure.
#pragma once

#include <string>
#include <vector>

namespace certguard::common {

// Rows shorter than the header are padded with empty cells; extra cells are
// dropped. Newlines and tabs inside a cell become spaces. Ends with "\n".
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

}  // namespace certguard::common
