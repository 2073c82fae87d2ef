# Benchmarks of timers and timeout scopes, included from perf/CMakeLists.txt
# (STEALIO_BUILD_PERF=ON):
#   time_bench  1,000,000 tasks sleeping random short delays (ns per timer, bytes per sleeping
#               task), timeout scope enter/exit cost
# Run it with
#   ./build/perf/time_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
find_package(benchmark REQUIRED)

add_executable(time_bench ${CMAKE_CURRENT_LIST_DIR}/time_bench.cc)
target_link_libraries(time_bench PRIVATE stealio::stealio benchmark::benchmark stealio_warnings)
target_include_directories(time_bench PRIVATE ${PROJECT_SOURCE_DIR})
