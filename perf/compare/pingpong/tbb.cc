// pingpong, tbb: two tasks of one task_group. A side whose turn has not come suspends itself
// with tbb::task::suspend (oneTBB's resumable tasks: the thread switches stacks and runs other
// work); the other side, after passing, resumes it with tbb::task::resume. This is TBB's own way
// to block a task on an event, so it also works with a single thread.
//
// Lost wake-ups: the waiter publishes its suspend point, then re-checks the turn; the passer
// publishes the turn, then takes the suspend point. Both are seq_cst, so at least one of them
// sees the other's write, and exchange(nullptr) lets only one of them call resume().
#include <tbb/task.h>
#include <tbb/task_group.h>

#include <atomic>

#include "common/bench_main.h"
#include "common/tbb_support.h"
#include "pingpong/pingpong.h"

namespace {

struct Table {
  std::atomic<long> passes{0};
  std::atomic<tbb::task::suspend_point> waiting[2] = {nullptr, nullptr};
};

bool can_go(const Table& table, long n, int side) {
  const long p = table.passes.load();
  return p >= n || pingpong::my_turn(p, side);
}

void wait_turn(Table& table, long n, int side) {
  while (!can_go(table, n, side)) {
    tbb::task::suspend([&](tbb::task::suspend_point sp) {
      table.waiting[side].store(sp);
      if (can_go(table, n, side)) {
        if (tbb::task::suspend_point mine = table.waiting[side].exchange(nullptr)) {
          tbb::task::resume(mine);
        }
      }
    });
  }
}

long play(Table& table, long n, int side) {
  long made = 0;
  while (true) {
    wait_turn(table, n, side);
    if (table.passes.load() >= n) break;
    table.passes.fetch_add(1);
    ++made;
    if (tbb::task::suspend_point other = table.waiting[1 - side].exchange(nullptr)) {
      tbb::task::resume(other);
    }
  }
  return made;
}

cmp::Outcome run(const cmp::Options& o) {
  cmp::TbbRuntime rt(o.threads);
  Table table;
  long made[2] = {0, 0};
  const double t = cmp::timed([&] {
    rt.arena().execute([&] {
      tbb::task_group tg;
      tg.run([&] { made[1] = play(table, o.n, 1); });
      tg.run([&] { made[0] = play(table, o.n, 0); });
      tg.wait();
    });
  });
  return cmp::measured(t, o.n, pingpong::check(o.n, table.passes.load(), made));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"tbb", "pingpong", pingpong::kDefaultN}, run);
}
