// pingpong, stealio: two tasks pass the token through futures. Pass i completes turns[i + 1],
// the future the other side awaits before pass i + 1, so every pass is one wake-up of a task
// suspended in `co_await`. The futures are made before the clock starts. A woken task is queued
// on the waker's worker (locality first) and may be stolen from there.
#include <vector>

#include "common/bench_main.h"
#include "common/stealio_support.h"
#include "pingpong/pingpong.h"

namespace {

stealio::Coro<long> play(std::vector<stealio::Future<void>>& turns, long n, int side) {
  long made = 0;
  for (long i = side; i < n; i += 2) {
    if (i > 0) co_await turns[static_cast<std::size_t>(i)];
    ++made;
    turns[static_cast<std::size_t>(i + 1)].set_result();
  }
  co_return made;
}

stealio::Coro<void> match(std::vector<stealio::Future<void>>& turns, long n, long* made) {
  stealio::Task<long> one = stealio::create_task(play(turns, n, 1));
  stealio::Task<long> zero = stealio::create_task(play(turns, n, 0));
  made[1] = co_await one;
  made[0] = co_await zero;
}

cmp::Outcome run(const cmp::Options& o) {
  auto sched = cmp::make_scheduler(o.threads);
  std::vector<stealio::Future<void>> turns;
  turns.reserve(static_cast<std::size_t>(o.n) + 1);
  for (long i = 0; i <= o.n; ++i) turns.emplace_back(sched->loop(static_cast<int>(i % o.threads)));
  long made[2] = {0, 0};
  const double t = cmp::timed([&] { cmp::run_on(*sched, match(turns, o.n, made)); });
  return cmp::measured(t, o.n, pingpong::check(o.n, made[0] + made[1], made));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"stealio", "pingpong", pingpong::kDefaultN}, run);
}
