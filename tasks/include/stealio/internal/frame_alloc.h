// Where coroutine frames and task objects live: a per-thread cache of freed blocks in front of
// operator new (see frame_alloc.cc for the sizes, the bounds and the measurement that chose it
// over oneTBB's scalable allocator). Sanitizer builds use plain operator new, so ASan sees every
// frame.
#ifndef STEALIO_TASKS_INTERNAL_FRAME_ALLOC_H_
#define STEALIO_TASKS_INTERNAL_FRAME_ALLOC_H_

#include <cstddef>

namespace stealio {
inline namespace v1 {
namespace internal {

void* frame_alloc(std::size_t size);
void frame_free(void* p, std::size_t size) noexcept;

// A standard allocator over frame_alloc, for allocate_shared of small per-task objects.
template <class T>
struct FrameAllocator {
  using value_type = T;
  FrameAllocator() noexcept = default;
  template <class U>
  FrameAllocator(const FrameAllocator<U>&) noexcept {}  // NOLINT: rebinding is implicit
  T* allocate(std::size_t n) { return static_cast<T*>(frame_alloc(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { frame_free(p, n * sizeof(T)); }
  friend bool operator==(const FrameAllocator&, const FrameAllocator&) noexcept { return true; }
};

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_TASKS_INTERNAL_FRAME_ALLOC_H_
