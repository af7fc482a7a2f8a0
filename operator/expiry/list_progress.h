// What a one-shot list of the inventory's sources (ListInventory) has read so
// far, for a command to show progress on a large cluster. Plain data.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace certguard::expiry {

struct ListProgress {
  std::string what;     // the list being read: "secrets", "configmaps (a=b)", ...
  int64_t objects = 0;  // of `what`, so far
  int pages = 0;        // of `what`, so far
  int source = 1;       // `what` is the source-th list ...
  int sources = 1;      // ... of this many
  int64_t total = 0;    // objects of every list so far, `what`'s included
  bool done = false;    // `what` is read to its end, or failed
};

// Called after each page and once more when a list ends; on the caller's thread.
using ListProgressFn = std::function<void(const ListProgress&)>;

}  // namespace certguard::expiry
