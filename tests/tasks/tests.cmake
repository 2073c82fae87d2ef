# Tests of stealio::tasks (included from tests/CMakeLists.txt).
stealio_test(coro_test tasks/coro_test.cc LABELS unit)
stealio_test(future_test tasks/future_test.cc LABELS unit)
stealio_test(task_test tasks/task_test.cc LABELS unit)
stealio_test(cancel_test tasks/cancel_test.cc LABELS unit)
stealio_test(context_test tasks/context_test.cc LABELS unit)
stealio_test(tasks_stress_test stress/tasks_stress_test.cc LABELS stress TIMEOUT 600)
include(${CMAKE_CURRENT_LIST_DIR}/sync_tests.cmake OPTIONAL)
include(${CMAKE_CURRENT_LIST_DIR}/time_tests.cmake OPTIONAL)
