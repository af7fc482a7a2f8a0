// The allocator tuning of a long-running controller.
#include "common/memory.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <vector>
#include <unistd.h>

using namespace certguard::common;

// Worked out here, not taken from memory.cpp, so that a wrong test there shows.
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
namespace {

// Resident pages of this process, in bytes (/proc/self/statm).
long ResidentBytes() {
  std::ifstream in("/proc/self/statm");
  long size = 0, resident = 0;
  in >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

}  // namespace

TEST_CASE("The allocator tuning is built in with glibc", "[common][memory]") {
  // It once tested __GLIBC__ before any header defined it, and did nothing.
  CHECK(AllocatorTuningAvailable());
}

TEST_CASE("ReleaseFreeMemory returns freed heap pages below the top of the heap",
          "[common][memory]") {
  // 32 MiB in small blocks (under the mmap threshold: they come from the heap),
  // then one block above them, so that freeing them leaves a hole that the heap's
  // own trimming of its top cannot give back.
  std::vector<std::unique_ptr<char[]>> blocks;
  for (int i = 0; i < 32 * 1024; ++i) {
    blocks.emplace_back(new char[1000]);
    for (int j = 0; j < 1000; j += 64) blocks.back()[j] = static_cast<char>(i + j);
  }
  auto pin = std::make_unique<char[]>(1000);
  pin[0] = 1;
  blocks.clear();
  blocks.shrink_to_fit();
  long before = ResidentBytes();
  ReleaseFreeMemory();
  long after = ResidentBytes();
  INFO("resident before " << before << ", after " << after);
  CHECK(before - after > 16L * 1024 * 1024);
}
#else
TEST_CASE("The allocator tuning is off where malloc is not glibc's", "[common][memory]") {
  // A sanitizer's allocator (or another libc's): mallopt and malloc_trim would
  // tune nothing there.
  CHECK_FALSE(AllocatorTuningAvailable());
}
#endif
