# Tests of the synchronization primitives and queues (included by tests/tasks/tests.cmake).
stealio_test(lock_test tasks/lock_test.cc LABELS unit)
stealio_test(event_test tasks/event_test.cc LABELS unit)
stealio_test(condition_test tasks/condition_test.cc LABELS unit)
stealio_test(semaphore_test tasks/semaphore_test.cc LABELS unit)
stealio_test(barrier_test tasks/barrier_test.cc LABELS unit)
stealio_test(queue_test tasks/queue_test.cc LABELS unit)
stealio_test(sync_stress_test stress/sync_stress_test.cc LABELS stress TIMEOUT 600)
