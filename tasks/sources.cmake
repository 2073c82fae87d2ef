# Sources of stealio::tasks (included by the top-level CMakeLists.txt).
set(STEALIO_TASKS_SOURCES
  tasks/await.cc
  tasks/context.cc
  tasks/frame_alloc.cc
  tasks/future_core.cc
  tasks/sleep.cc
  tasks/task_core.cc
)

# Areas that keep their own source lists (each appends to STEALIO_TASKS_SOURCES).
include(${CMAKE_CURRENT_LIST_DIR}/sync.cmake OPTIONAL)
include(${CMAKE_CURRENT_LIST_DIR}/time.cmake OPTIONAL)
