#include "common/memory.h"

// Any C library header first: glibc defines __GLIBC__ in <features.h>, which
// this pulls in. Tested before it, the tuning below was compiled out.
#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace certguard::common {

bool AllocatorTuningAvailable() {
#if defined(__GLIBC__)
  return true;
#else
  return false;
#endif
}

void LimitAllocatorArenas() {
#if defined(__GLIBC__)
  mallopt(M_ARENA_MAX, 2);
#endif
}

void ReleaseFreeMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace certguard::common
