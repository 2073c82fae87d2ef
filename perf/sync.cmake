# Benchmarks of the synchronization primitives, included from perf/CMakeLists.txt
# (STEALIO_BUILD_PERF=ON):
#   sync_bench  Lock hand-off between tasks on two workers (ns per hand-off) next to a std::mutex +
#               condition variable hand-off between two threads; Queue throughput with producer
#               and consumer tasks (items/s) next to tbb::concurrent_bounded_queue with threads
# Run with
#   ./build/perf/sync_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
find_package(benchmark REQUIRED)

add_executable(sync_bench ${CMAKE_CURRENT_LIST_DIR}/sync_bench.cc)
target_link_libraries(sync_bench PRIVATE stealio::stealio benchmark::benchmark TBB::tbb
                      stealio_warnings)
