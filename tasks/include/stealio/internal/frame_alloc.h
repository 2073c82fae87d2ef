// Where coroutine frames live. Frames are allocated on one worker and often freed on another
// (tasks migrate), the case a per-thread caching allocator with cross-thread free lists is built
// for: oneTBB's scalable allocator. Sanitizer builds use operator new so ASan sees every frame.
#ifndef STEALIO_TASKS_INTERNAL_FRAME_ALLOC_H_
#define STEALIO_TASKS_INTERNAL_FRAME_ALLOC_H_

#include <cstddef>

namespace stealio {
inline namespace v1 {
namespace internal {

void* frame_alloc(std::size_t size);
void frame_free(void* p, std::size_t size) noexcept;

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_TASKS_INTERNAL_FRAME_ALLOC_H_
