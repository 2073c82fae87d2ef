# Sources of the synchronization primitives (lock.h, event.h, condition.h, semaphore.h,
# barrier.h; queue.h is header-only). Included by tasks/sources.cmake.
list(APPEND STEALIO_TASKS_SOURCES
  tasks/barrier.cc
  tasks/condition.cc
  tasks/event.cc
  tasks/lock.cc
  tasks/semaphore.cc
  tasks/sync.cc
)
