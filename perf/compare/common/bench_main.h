// Shared driver for the perf/compare variants: argument parsing, timing, peak RSS and the one
// machine-readable RESULT line every variant prints.
//
// Every variant defines `cmp::Outcome run(const cmp::Options&)` and passes it to
// cmp::bench_main(). run() does its own setup (allocating inputs, starting the runtime's
// threads), times only the parallel region with cmp::timed(), checks the result, and returns
// cmp::measured(...) (or cmp::skipped(reason) when it cannot run with these options).
//
// Command line, identical for every variant:
//   cmp_<workload>_<system> [--n=N] [--threads=T]
//   --n        workload size (fib's n, nqueens' board, ...); defaults per workload.
//   --threads  worker threads; else env CMP_THREADS; else std::thread::hardware_concurrency().
//
// Output (stdout, exactly one line, wrapped here):
//   RESULT system=tbb workload=fib n=35 threads=2 time_s=0.1234 tasks=29860703 ok=1
//          peak_rss_kb=12345
// or, when a variant cannot run at the requested thread count:
//   SKIP system=omp workload=pingpong n=100000 threads=1 reason=needs_2_threads
// The exit status is 0 on ok=1 or SKIP, 1 when the result was wrong, 2 on bad arguments.
//
// Example:
//   cmp::Outcome run(const cmp::Options& o) {
//     std::uint64_t r = 0;
//     const double t = cmp::timed([&] { r = fib(o.n); });
//     return cmp::measured(t, calls(o.n), r == expected(o.n));
//   }
//   int main(int argc, char** argv) {
//     return cmp::bench_main(argc, argv, {"serial", "fib", 30}, run);
//   }
#ifndef STEALIO_PERF_COMPARE_COMMON_BENCH_MAIN_H_
#define STEALIO_PERF_COMPARE_COMMON_BENCH_MAIN_H_

#include <sys/resource.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <utility>

namespace cmp {

struct Options {
  long n = 0;       // workload size
  int threads = 1;  // worker threads requested
};

struct Outcome {
  double time_s = 0;        // wall time of the parallel region only
  std::uint64_t tasks = 0;  // logical task count of the workload, the same for every system
  bool ok = false;          // the computed result matched the expected one
  // Non-empty when the variant cannot run with these options (prints SKIP, not RESULT).
  std::string skip_reason;
};

// What a body returns after its timed region.
inline Outcome measured(double time_s, std::uint64_t tasks, bool ok) {
  Outcome out;
  out.time_s = time_s;
  out.tasks = tasks;
  out.ok = ok;
  return out;
}

// What a body returns when it cannot run with the given options.
inline Outcome skipped(std::string reason) {
  Outcome out;
  out.skip_reason = std::move(reason);
  return out;
}

struct Info {
  const char* system;    // "tbb", "omp", "serial", "threads", "stealio"
  const char* workload;  // "fib", "skynet", ...
  long default_n;
};

// Runs `fn` once and returns its wall time in seconds (steady_clock).
template <class F>
double timed(F&& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  const auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double>(stop - start).count();
}

// Peak resident set size of this process so far, in KiB (Linux reports ru_maxrss in KiB).
inline long peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

namespace detail {

inline bool parse_long(const char* text, long* out) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') return false;
  *out = value;
  return true;
}

inline int usage(const char* prog, const Info& info) {
  std::fprintf(stderr,
               "usage: %s [--n=N] [--threads=T]\n"
               "  %s/%s; n defaults to %ld; threads defaults to $CMP_THREADS, else all "
               "hardware threads\n",
               prog, info.workload, info.system, info.default_n);
  return 2;
}

// Returns false (after printing usage) on a malformed command line.
inline bool parse(int argc, char** argv, const Info& info, Options* opts) {
  opts->n = info.default_n;
  opts->threads = static_cast<int>(std::thread::hardware_concurrency());
  if (const char* env = std::getenv("CMP_THREADS"); env != nullptr && *env != '\0') {
    long t = 0;
    if (!parse_long(env, &t)) return false;
    opts->threads = static_cast<int>(t);
  }
  for (int i = 1; i < argc; ++i) {
    long value = 0;
    if (std::strncmp(argv[i], "--n=", 4) == 0 && parse_long(argv[i] + 4, &value)) {
      opts->n = value;
    } else if (std::strncmp(argv[i], "--threads=", 10) == 0 && parse_long(argv[i] + 10, &value)) {
      opts->threads = static_cast<int>(value);
    } else {
      return false;
    }
  }
  return opts->threads >= 1 && opts->n >= 0;
}

}  // namespace detail

// Parses the command line, runs `body(options)` once and prints its RESULT (or SKIP) line.
// `body` is callable as cmp::Outcome(const cmp::Options&).
template <class Body>
int bench_main(int argc, char** argv, const Info& info, Body&& body) {
  Options opts;
  if (!detail::parse(argc, argv, info, &opts)) return detail::usage(argv[0], info);
  const Outcome out = body(static_cast<const Options&>(opts));
  if (!out.skip_reason.empty()) {
    std::printf("SKIP system=%s workload=%s n=%ld threads=%d reason=%s\n", info.system,
                info.workload, opts.n, opts.threads, out.skip_reason.c_str());
    return 0;
  }
  std::printf(
      "RESULT system=%s workload=%s n=%ld threads=%d time_s=%.6f tasks=%llu ok=%d "
      "peak_rss_kb=%ld\n",
      info.system, info.workload, opts.n, opts.threads, out.time_s,
      static_cast<unsigned long long>(out.tasks), out.ok ? 1 : 0, peak_rss_kb());
  return out.ok ? 0 : 1;
}

}  // namespace cmp

#endif  // STEALIO_PERF_COMPARE_COMMON_BENCH_MAIN_H_
