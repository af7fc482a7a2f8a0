// The C library's allocator, tuned for a long-running controller whose caches
// are filled once from big list responses. glibc only; elsewhere no-ops.
#pragma once

namespace certguard::common {

// True when the two calls below do something (glibc's malloc: not under a sanitizer).
bool AllocatorTuningAvailable();

// Fewer malloc arenas: each thread (workers, informers) would otherwise get
// one of its own, and the memory freed in one is not reused by the others.
// Call once, before threads start.
void LimitAllocatorArenas();

// Gives back to the system the heap pages freed since (e.g. once the first
// lists, parsed whole page by page, have been trimmed into the caches).
void ReleaseFreeMemory();

}  // namespace certguard::common
