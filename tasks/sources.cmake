# Sources of stealio::tasks (included by the top-level CMakeLists.txt).
set(STEALIO_TASKS_SOURCES
  tasks/await.cc
  tasks/context.cc
  tasks/frame_alloc.cc
  tasks/future_core.cc
  tasks/sleep.cc
  tasks/task_core.cc
)
