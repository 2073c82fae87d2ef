// spawn, stealio: the main thread (not a worker) spawns n coroutines onto the scheduler, then
// waits for each Task from outside.
#include <vector>

#include "common/bench_main.h"
#include "common/stealio_support.h"
#include "spawn/spawn.h"

namespace {

stealio::Coro<void> store(std::uint64_t* out, std::size_t i) {
  spawn::body(out, i);
  co_return;
}

cmp::Outcome run(const cmp::Options& o) {
  std::vector<std::uint64_t> out(static_cast<std::size_t>(o.n), 0);
  auto sched = cmp::make_scheduler(o.threads);
  std::vector<stealio::Task<void>> tasks;
  tasks.reserve(out.size());
  const double t = cmp::timed([&] {
    for (std::size_t i = 0; i < out.size(); ++i)
      tasks.push_back(cmp::spawn_on(*sched, store(out.data(), i)));
    for (auto& task : tasks) cmp::wait_outside(task);
  });
  return cmp::measured(t, out.size(), spawn::check(out));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"stealio", "spawn", spawn::kDefaultN}, run);
}
