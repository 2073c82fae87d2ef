# Tests of timeouts, gather/wait/TaskGroup and to_thread (included by tests/tasks/tests.cmake).
stealio_test(timeouts_test tasks/timeouts_test.cc LABELS unit)
stealio_test(wait_for_test tasks/wait_for_test.cc LABELS unit)
stealio_test(gather_test tasks/gather_test.cc LABELS unit)
stealio_test(wait_test tasks/wait_test.cc LABELS unit)
stealio_test(task_group_test tasks/task_group_test.cc LABELS unit)
stealio_test(to_thread_test tasks/to_thread_test.cc LABELS unit)
stealio_test(time_stress_test stress/time_stress_test.cc LABELS stress TIMEOUT 600)
