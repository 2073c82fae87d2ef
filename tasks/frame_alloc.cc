#include "stealio/internal/frame_alloc.h"

#include <tbb/scalable_allocator.h>

#include <new>

#include "tasks/internal/magazine.h"

namespace stealio {
inline namespace v1 {
namespace internal {
namespace {

#ifndef STEALIO_PLAIN_ALLOC
// A per-thread cache of freed blocks in 16-byte size classes up to 1 KiB. Coroutine frames and
// task objects are small and short-lived, and a worker that finishes a task usually starts
// another at once, so most allocations are a pop from this thread's list. Why not oneTBB's
// scalable_malloc alone, which the first version used: callgrind on fib(22), one worker, counted
// ~190 instructions per task in scalable_malloc/free (a pthread_getspecific per call) against
// ~15 here. It stays the allocator behind the cache (glibc's malloc was slowest on blocks made on
// one thread and freed on another: 25% of 1,000,000 outside spawns in _int_malloc).
//
// Blocks made on one thread and freed on another (tasks spawned from outside, migrated tasks)
// move between threads a magazine at a time (magazine.h). Before, a thread kept up to 4096
// blocks per class and sent the rest through scalable_free, so each outside spawn paid a remote
// free on the worker and a scalable_malloc on the spawner: perf put 20% of 1,000,000 outside
// spawns at one worker in tbbmalloc, and the magazines took that run from 0.63 to 0.35 s
// (medians of 8, perf/compare/spawn; the closing note of issue 5 has the figures).
//
// Bounds: a thread caches at most 2 * Magazines::kSize blocks per class, the depot at most
// Depot::kMaxMagazines magazines per class; what does not fit goes back to scalable_free.
constexpr std::size_t kGranule = 16;
constexpr std::size_t kClasses = 64;

// Never destroyed: threads may free into it during static destruction. What it holds at exit
// stays reachable.
Depot& depot(std::size_t c) {
  static Depot* const depots = new Depot[kClasses];
  return depots[c];
}

struct ThreadCache {
  Magazines classes[kClasses];
};

void release(FreeBlock* b) noexcept { scalable_free(b); }

// The hot path reads a trivial thread-local pointer (no init guard on each access); the owner,
// whose destructor hands the cache on at thread exit, is touched once per thread.
thread_local ThreadCache* tls_cache = nullptr;
thread_local bool tls_cache_gone = false;

struct CacheOwner {
  ThreadCache cache{};
  ~CacheOwner() {
    for (std::size_t c = 0; c < kClasses; ++c) {
      release_chain(cache.classes[c].drain(depot(c)), release);
    }
    tls_cache = nullptr;
    tls_cache_gone = true;  // frees during later thread-exit destructors bypass the cache
  }
};

[[gnu::noinline]] ThreadCache* init_cache() {
  if (tls_cache_gone) return nullptr;
  thread_local CacheOwner owner;
  tls_cache = &owner.cache;
  return tls_cache;
}

std::size_t size_class(std::size_t size) { return (size + kGranule - 1) / kGranule - 1; }

void* system_alloc(std::size_t size) {
  if (void* p = scalable_malloc(size)) return p;
  throw std::bad_alloc();
}

// The slow paths, out of line and reached by a tail call, so that the fast ones save no
// registers: a thread's first block, sizes above the classes, and magazine changes.

[[gnu::noinline]] void* alloc_slow(std::size_t size) {
  const std::size_t c = size_class(size);
  if (c >= kClasses) return system_alloc(size);
  if (ThreadCache* tc = tls_cache ? tls_cache : init_cache()) {
    if (void* p = tc->classes[c].pop_refilling(depot(c))) return p;
  }
  return system_alloc((c + 1) * kGranule);
}

[[gnu::noinline]] void free_slow(void* p, std::size_t size) noexcept {
  const std::size_t c = size_class(size);
  ThreadCache* tc = c < kClasses ? (tls_cache ? tls_cache : init_cache()) : nullptr;
  if (!tc) {
    scalable_free(p);
    return;
  }
  release_chain(tc->classes[c].push_retiring(p, depot(c)), release);
}
#endif

}  // namespace

void* frame_alloc(std::size_t size) {
#ifdef STEALIO_PLAIN_ALLOC
  return ::operator new(size);
#else
  const std::size_t c = size_class(size);
  if (ThreadCache* tc = tls_cache; tc && c < kClasses) {
    if (void* p = tc->classes[c].pop()) return p;
  }
  return alloc_slow(size);
#endif
}

void frame_free(void* p, std::size_t size) noexcept {
#ifdef STEALIO_PLAIN_ALLOC
  ::operator delete(p, size);
#else
  const std::size_t c = size_class(size);
  if (ThreadCache* tc = tls_cache; tc && c < kClasses) {
    if (tc->classes[c].push(p)) return;
  }
  free_slow(p, size);
#endif
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio
