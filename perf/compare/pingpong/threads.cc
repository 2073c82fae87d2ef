// pingpong baseline: two std::threads blocking on one std::mutex + std::condition_variable.
// Always two OS threads, whatever --threads says; the value is reported only so the line lines
// up with the other systems at the same thread count.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/bench_main.h"
#include "pingpong/pingpong.h"

namespace {

struct Table {
  std::mutex mu;
  std::condition_variable cv;
  long passes = 0;  // guarded by mu
};

// Passes the token whenever it is this side's turn, until n passes were made in total.
long play(Table& table, long n, int side) {
  long made = 0;
  std::unique_lock<std::mutex> lock(table.mu);
  while (true) {
    table.cv.wait(lock, [&] { return table.passes >= n || pingpong::my_turn(table.passes, side); });
    if (table.passes >= n) return made;
    ++table.passes;
    ++made;
    table.cv.notify_one();  // only the other side can be waiting
  }
}

cmp::Outcome run(const cmp::Options& o) {
  Table table;
  long made[2] = {0, 0};
  const double t = cmp::timed([&] {
    std::thread other([&] { made[1] = play(table, o.n, 1); });
    made[0] = play(table, o.n, 0);
    other.join();
  });
  return cmp::measured(t, o.n, pingpong::check(o.n, table.passes, made));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"threads", "pingpong", pingpong::kDefaultN}, run);
}
