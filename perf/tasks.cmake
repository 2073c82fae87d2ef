# Benchmarks of the coroutine layer, included from perf/CMakeLists.txt (STEALIO_BUILD_PERF=ON):
#   tasks_bench   fib, skynet, ping-pong, create_task cost, spawn from outside: ns per task, each
#                 next to the same workload on oneTBB's task_group, at 1 and 2 workers
#   memory_bench  bytes per task, per suspended task, RSS of 1,000,000 pending tasks (counters)
# Run one with
#   ./build/perf/tasks_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
# Both link oneTBB themselves (the side-by-side variants) and include internal headers (the task
# state classes whose sizes memory_bench reports), so the project root is on the path.
find_package(benchmark REQUIRED)

foreach(name IN ITEMS tasks_bench memory_bench)
  add_executable(${name} ${CMAKE_CURRENT_LIST_DIR}/${name}.cc)
  target_link_libraries(${name} PRIVATE stealio::stealio benchmark::benchmark TBB::tbb
                        stealio_warnings)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
endforeach()

# memory_bench counts every block of stealio's frame allocator (coroutine frames, task objects,
# contexts) by wrapping the allocator's entry point at link time; see perf/memory_bench.cc.
target_link_options(memory_bench PRIVATE
                    "LINKER:--wrap=_ZN7stealio2v18internal11frame_allocEm")
