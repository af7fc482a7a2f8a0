#include "common/memory.h"

// Any C library header first: glibc defines __GLIBC__ in <features.h>, which
// this pulls in. Tested before it, the tuning below was compiled out.
#include <cstdlib>

// Sanitizers bring their own malloc: glibc's tuning would reach an allocator
// nothing uses.
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define CERTGUARD_GLIBC_MALLOC 1
#include <malloc.h>
#endif

namespace certguard::common {

bool AllocatorTuningAvailable() {
#if defined(CERTGUARD_GLIBC_MALLOC)
  return true;
#else
  return false;
#endif
}

void LimitAllocatorArenas() {
#if defined(CERTGUARD_GLIBC_MALLOC)
  mallopt(M_ARENA_MAX, 2);
#endif
}

void ReleaseFreeMemory() {
#if defined(CERTGUARD_GLIBC_MALLOC)
  malloc_trim(0);
#endif
}

}  // namespace certguard::common
