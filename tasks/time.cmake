# Sources of timeouts, structured concurrency (gather, wait, TaskGroup) and to_thread
# (included by tasks/sources.cmake).
list(APPEND STEALIO_TASKS_SOURCES
  tasks/gather.cc
  tasks/task_group.cc
  tasks/timeouts.cc
  tasks/to_thread.cc
  tasks/wait.cc
)
