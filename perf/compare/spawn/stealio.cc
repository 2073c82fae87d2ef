// spawn, stealio: the main thread (not a worker) spawns n coroutines onto the scheduler with
// Scheduler::spawn, then waits until every one has run. Like the tbb variant (one task_group,
// no per-task handle) it keeps no Task handle: each Task is dropped at once (the task runs on
// regardless, as in asyncio) and the coroutines count down a latch the main thread waits on.
// Holding the 1,000,000 handles instead costs ~330 bytes each of live memory.
#include <latch>

#include "common/bench_main.h"
#include "common/stealio_support.h"
#include "spawn/spawn.h"

namespace {

stealio::Coro<void> store(std::uint64_t* out, std::size_t i, std::latch* done) {
  spawn::body(out, i);
  done->count_down();
  co_return;
}

cmp::Outcome run(const cmp::Options& o) {
  std::vector<std::uint64_t> out(static_cast<std::size_t>(o.n), 0);
  auto sched = cmp::make_scheduler(o.threads);
  std::latch done(static_cast<std::ptrdiff_t>(out.size()));
  const double t = cmp::timed([&] {
    for (std::size_t i = 0; i < out.size(); ++i) cmp::spawn_on(*sched, store(out.data(), i, &done));
    done.wait();
  });
  return cmp::measured(t, out.size(), spawn::check(out));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"stealio", "spawn", spawn::kDefaultN}, run);
}
