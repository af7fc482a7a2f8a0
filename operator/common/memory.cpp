#include "common/memory.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace certguard::common {

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
