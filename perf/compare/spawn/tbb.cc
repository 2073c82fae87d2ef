// spawn, tbb: `threads` TBB workers; the main thread, outside the arena, enqueues n task_group
// handles into it (task_arena::enqueue, TBB's submission path for outside threads), then waits
// for the group through execute() (it may help run the last tasks if a slot is free).
#include <tbb/task_group.h>

#include "common/bench_main.h"
#include "common/tbb_support.h"
#include "spawn/spawn.h"

namespace {

cmp::Outcome run(const cmp::Options& o) {
  std::vector<std::uint64_t> out(static_cast<std::size_t>(o.n), 0);
  cmp::TbbRuntime rt(o.threads, cmp::TbbRuntime::Caller::kStaysOutside);
  tbb::task_group tg;
  std::uint64_t* slots = out.data();
  const double t = cmp::timed([&] {
    for (std::size_t i = 0; i < out.size(); ++i) {
      rt.arena().enqueue(tg.defer([slots, i] { spawn::body(slots, i); }));
    }
    rt.arena().execute([&] { tg.wait(); });
  });
  return cmp::measured(t, out.size(), spawn::check(out));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"tbb", "spawn", spawn::kDefaultN}, run);
}
