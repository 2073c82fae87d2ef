// pingpong: two tasks, "side 0" and "side 1", pass a token back and forth n times in total
// (n handoffs). Side s may pass only when the pass count has parity s; each pass is one
// handoff, so the time per handoff is a wake-up latency: how fast a blocked task resumes once
// the other one signals it. `tasks` in the RESULT line is n, the handoff count.
#ifndef STEALIO_PERF_COMPARE_PINGPONG_PINGPONG_H_
#define STEALIO_PERF_COMPARE_PINGPONG_PINGPONG_H_

#include <cstdint>

namespace pingpong {

constexpr long kDefaultN = 100000;

// Side `side` passes at pass counts side, side + 2, ... below n.
inline bool my_turn(long passes, int side) { return passes % 2 == side; }
inline long passes_by(long n, int side) { return (n - side + 1) / 2; }

// Both sides stopped at n passes and each made exactly its share.
inline bool check(long n, long passes, const long made[2]) {
  return passes == n && made[0] == passes_by(n, 0) && made[1] == passes_by(n, 1);
}

}  // namespace pingpong

#endif  // STEALIO_PERF_COMPARE_PINGPONG_PINGPONG_H_
