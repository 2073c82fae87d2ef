// ThreadSanitizer suppressions compiled into every test binary of a STEALIO_SANITIZE=thread
// build (TSan reads them through this hook, so no TSAN_OPTIONS is needed).
//
// Each one is a false positive of the same kind: Debian's libstdc++.so is not built with
// -fsanitize=thread, so TSan cannot see the atomic reference counts inside it, and the last
// owner freeing an object that another thread read earlier looks like a race.
//   - std::exception_ptr's count (eh_ptr.cc: _M_addref/_M_release, __cxa_end_catch): a future's
//     exception is read by the thread that awaits it and freed by whichever thread drops the
//     last reference (often a worker destroying the task).
//   - std::logic_error/std::runtime_error keep their message in a reference-counted string
//     (cow_string) that copies of the exception share; the frames are their destructors.
// Keep this list to libstdc++ frames: a race in stealio's own code must still be reported.
#if defined(__SANITIZE_THREAD__)
extern "C" const char* __tsan_default_suppressions() {
  return "race:__exception_ptr\n"
         "race:std::logic_error::~logic_error\n"
         "race:std::runtime_error::~runtime_error\n";
}
#endif
