#include "stealio/internal/frame_alloc.h"

#include <tbb/scalable_allocator.h>

#include <new>

namespace stealio {
inline namespace v1 {
namespace internal {
namespace {

#ifndef STEALIO_PLAIN_ALLOC
// A per-thread cache of freed blocks in 16-byte size classes up to 1 KiB. Coroutine frames and
// task objects are small and short-lived, and a worker that finishes a task usually starts
// another at once, so most allocations are a pop from this thread's list. Blocks freed on another
// thread (a migrated task) go to that thread's cache; each class keeps at most kMaxCached blocks
// and gives the rest back to the system allocator, so a producer/consumer imbalance cannot grow
// a cache without bound. Why not oneTBB's scalable_malloc, which the first version used:
// callgrind on fib(22), one worker, counted ~190 instructions per task in scalable_malloc/free
// (a pthread_getspecific per call) against ~20 here. It stays the allocator behind the cache:
// blocks that miss it, most of them made on one thread and freed on another (tasks spawned from
// outside, migrated tasks), are where glibc's malloc is slowest (perf on 1,000,000 outside
// spawns: 25% of the time in _int_malloc/malloc_consolidate).
constexpr std::size_t kGranule = 16;
constexpr std::size_t kClasses = 64;
constexpr std::size_t kMaxCached = 4096;

struct FreeBlock {
  FreeBlock* next;
};

struct ThreadCache {
  FreeBlock* head[kClasses];
  std::size_t count[kClasses];
};

// The hot path reads a trivial thread-local pointer (no init guard on each access); the owner,
// whose destructor empties the cache at thread exit, is touched once per thread.
thread_local ThreadCache* tls_cache = nullptr;
thread_local bool tls_cache_gone = false;

struct CacheOwner {
  ThreadCache cache{};
  ~CacheOwner() {
    for (std::size_t c = 0; c < kClasses; ++c) {
      while (FreeBlock* b = cache.head[c]) {
        cache.head[c] = b->next;
        scalable_free(b);
      }
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

inline ThreadCache* cache() {
  ThreadCache* c = tls_cache;
  return c ? c : init_cache();
}

std::size_t size_class(std::size_t size) { return (size + kGranule - 1) / kGranule - 1; }

void* system_alloc(std::size_t size) {
  if (void* p = scalable_malloc(size)) return p;
  throw std::bad_alloc();
}
#endif

}  // namespace

void* frame_alloc(std::size_t size) {
#ifdef STEALIO_PLAIN_ALLOC
  return ::operator new(size);
#else
  const std::size_t c = size_class(size);
  if (c >= kClasses) return system_alloc(size);
  ThreadCache* tc = cache();
  if (tc) {
    if (FreeBlock* b = tc->head[c]) {
      tc->head[c] = b->next;
      --tc->count[c];
      return b;
    }
  }
  return system_alloc((c + 1) * kGranule);
#endif
}

void frame_free(void* p, std::size_t size) noexcept {
#ifdef STEALIO_PLAIN_ALLOC
  ::operator delete(p, size);
#else
  const std::size_t c = size_class(size);
  if (c >= kClasses) {
    scalable_free(p);
    return;
  }
  ThreadCache* tc = cache();
  if (!tc || tc->count[c] >= kMaxCached) {
    scalable_free(p);
    return;
  }
  auto* b = static_cast<FreeBlock*>(p);
  b->next = tc->head[c];
  tc->head[c] = b;
  ++tc->count[c];
#endif
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio
