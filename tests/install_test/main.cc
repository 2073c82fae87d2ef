// Uses stealio through the installed package: find_package(stealio), stealio::stealio and the
// umbrella header. Exits 0 when fib(20) computes right and the task was visible to all_tasks.
#include <stealio/stealio.h>

#include <cstdint>
#include <cstdio>

stealio::Coro<std::uint64_t> fib(int n) {
  if (n < 2) co_return n;
  stealio::Task<std::uint64_t> a = stealio::create_task(fib(n - 1));
  std::uint64_t b = co_await fib(n - 2);
  co_return co_await a + b;
}

stealio::Coro<bool> sees_itself() {
  stealio::TaskRef me = stealio::current_task();
  for (const stealio::TaskRef& t : stealio::all_tasks()) {
    if (t == me) co_return true;
  }
  co_return false;
}

int main() {
  stealio::Scheduler sched(stealio::SchedulerOptions{.workers = 2});
  std::uint64_t r = sched.run(fib(20));
  bool visible = sched.run(sees_itself());
  std::printf("consumer: fib(20)=%llu visible=%d\n", static_cast<unsigned long long>(r), visible);
  return r == 6765 && visible ? 0 : 1;
}
