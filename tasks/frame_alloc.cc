#include "stealio/internal/frame_alloc.h"

#include <new>

#ifndef STEALIO_PLAIN_ALLOC
#include <oneapi/tbb/scalable_allocator.h>
#endif

namespace stealio {
inline namespace v1 {
namespace internal {

void* frame_alloc(std::size_t size) {
#ifdef STEALIO_PLAIN_ALLOC
  return ::operator new(size);
#else
  void* p = scalable_malloc(size);
  if (!p) throw std::bad_alloc();
  return p;
#endif
}

void frame_free(void* p, std::size_t size) noexcept {
#ifdef STEALIO_PLAIN_ALLOC
  ::operator delete(p, size);
#else
  (void)size;
  scalable_free(p);
#endif
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio
