// Whitebox: internal::TimerWheel, the hierarchical timing wheel offered as an alternative to
// TimerHeap behind call_later. Same guarantees as the heap: deadline order, FIFO among equal
// deadlines, nothing early, cancelled timers never fire and do not pile up, next_deadline exact.
// The last tests replay random operations on both structures and compare what comes out.
#include "scheduler/internal/timer_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "scheduler/internal/timer.h"

namespace {

using namespace std::chrono_literals;
using stealio::Callback;
using stealio::TimePoint;
using stealio::internal::TimerHeap;
using stealio::internal::TimerState;
using stealio::internal::TimerWheel;

// A far-from-zero origin, so that tick numbers are large as on a machine that has been up a while.
const TimePoint kBase = TimePoint{} + 1000h + 123456789ns;

// A timer that does nothing. (The Callback is made first: a lambda converted inside make_shared
// trips g++ 12's -Wmaybe-uninitialized in AnyInvocable.)
std::shared_ptr<TimerState> noop(TimePoint when) {
  Callback fn = [] {};
  return std::make_shared<TimerState>(when, std::move(fn));
}

// Timers whose callbacks log their id, and the `now` of every pop_due.
template <class Timers>
class Harness {
 public:
  std::shared_ptr<TimerState> add(TimePoint when, int id) {
    Callback fn = [this, id, when] {
      fired.push_back(id);
      early += when > now_ ? 1 : 0;
    };
    auto st = std::make_shared<TimerState>(when, std::move(fn));
    timers.add(st);
    return st;
  }
  // Runs the callbacks due at `now`; returns how many ran.
  std::size_t pop(TimePoint now) {
    now_ = now;
    std::vector<Callback> due;
    timers.pop_due(now, due);
    for (Callback& fn : due) fn();
    return due.size();
  }

  Timers timers;
  std::vector<int> fired;
  int early = 0;  // callbacks run by a pop_due whose `now` was before their deadline

 private:
  TimePoint now_{};
};

TEST(TimerWheel, FiresInDeadlineOrder) {
  Harness<TimerWheel> h;
  h.pop(kBase);
  std::mt19937_64 rng(1);
  // Deadlines spread over sub-tick offsets, level 0 and level 1, shuffled.
  std::vector<std::pair<TimePoint, int>> timers;
  for (int i = 0; i < 2000; ++i) {
    timers.emplace_back(kBase + std::chrono::microseconds(rng() % 300000), i);
  }
  for (auto& [when, id] : timers) h.add(when, id);
  std::stable_sort(timers.begin(), timers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  EXPECT_EQ(h.pop(kBase + 1h), timers.size());
  ASSERT_EQ(h.fired.size(), timers.size());
  for (std::size_t i = 0; i < timers.size(); ++i) EXPECT_EQ(h.fired[i], timers[i].second);
  EXPECT_TRUE(h.timers.empty());
  EXPECT_FALSE(h.timers.next_deadline().has_value());
}

TEST(TimerWheel, EqualDeadlinesFireInInsertionOrderWhateverPathTheyTook) {
  Harness<TimerWheel> h;
  h.pop(kBase);
  const TimePoint when = kBase + 5s + 300us;
  int id = 0;
  // Added at level 2, then after elapsed_ moved on (level 1, level 0), then once due (late).
  for (int i = 0; i < 10; ++i) h.add(when, id++);
  h.pop(kBase + 4s);
  for (int i = 0; i < 10; ++i) h.add(when, id++);
  h.pop(when - 2ms);
  for (int i = 0; i < 10; ++i) h.add(when, id++);
  h.pop(when - 1ns);
  EXPECT_TRUE(h.fired.empty());
  for (int i = 0; i < 10; ++i) h.add(when, id++);
  h.add(when - 1ns, 1000);  // earlier, and in the current tick: goes before all of them
  h.add(when + 1ns, 1001);
  EXPECT_EQ(h.pop(when), 41u);
  ASSERT_EQ(h.fired.size(), 41u);
  EXPECT_EQ(h.fired[0], 1000);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(h.fired[static_cast<std::size_t>(i) + 1], i);
  EXPECT_EQ(h.pop(when + 1ns), 1u);
  EXPECT_EQ(h.fired.back(), 1001);
}

TEST(TimerWheel, NothingFiresEarlyAndNothingDueIsLeft) {
  Harness<TimerWheel> h;
  h.pop(kBase);
  std::vector<TimePoint> whens;
  for (int i = 0; i < 3000; ++i) {
    whens.push_back(kBase + i * 137us);
    h.add(whens.back(), i);
  }
  // `now` crosses tick boundaries at odd places: every pop must take exactly the due ones.
  std::size_t total = 0;
  for (TimePoint now = kBase; now < kBase + 500ms; now += 53us) {
    total += h.pop(now);
    std::size_t due =
        static_cast<std::size_t>(std::upper_bound(whens.begin(), whens.end(), now) - whens.begin());
    ASSERT_EQ(total, due);
  }
  EXPECT_EQ(h.early, 0);
  EXPECT_EQ(total, whens.size());
}

TEST(TimerWheel, CancelledTimersNeverFire) {
  Harness<TimerWheel> h;
  h.pop(kBase);
  std::vector<std::shared_ptr<TimerState>> st;
  for (int i = 0; i < 100; ++i) st.push_back(h.add(kBase + i * 3ms, i));
  for (int i = 0; i < 100; i += 3) EXPECT_TRUE(st[static_cast<std::size_t>(i)]->cancel());
  h.pop(kBase + 1h);
  ASSERT_EQ(h.fired.size(), 66u);
  for (int id : h.fired) EXPECT_NE(id % 3, 0);
  // Fired timers are claimed: a late cancel loses.
  EXPECT_FALSE(st[1]->cancel());
  EXPECT_FALSE(st[1]->is_cancelled());
  EXPECT_TRUE(h.timers.empty());
}

TEST(TimerWheel, FarFutureDeadlinesCascadeDownAndFireOnTime) {
  Harness<TimerWheel> h;
  h.pop(kBase);
  // One per level, and beyond the wheel's two years (the overflow), sub-tick offsets included.
  const std::vector<std::chrono::nanoseconds> delays = {3ms + 7ns,
                                                        70ms + 11ns,
                                                        5s + 13ns,
                                                        5min + 17ns,
                                                        3h + 19ns,
                                                        10 * 24h + 23ns,
                                                        365 * 24h + 29ns,
                                                        3 * 365 * 24h + 31ns,
                                                        30 * 365 * 24h + 37ns};
  for (std::size_t i = 0; i < delays.size(); ++i) h.add(kBase + delays[i], static_cast<int>(i));
  for (std::size_t i = 0; i < delays.size(); ++i) {
    const TimePoint when = kBase + delays[i];
    ASSERT_EQ(h.timers.next_deadline(), when) << i;
    EXPECT_EQ(h.pop(when - 1ns), 0u) << i;
    EXPECT_EQ(h.timers.next_deadline(), when) << i;
    EXPECT_EQ(h.pop(when), 1u) << i;
    EXPECT_EQ(h.fired.back(), static_cast<int>(i));
  }
  EXPECT_TRUE(h.timers.empty());
  EXPECT_EQ(h.early, 0);
}

TEST(TimerWheel, LongJumpsOfNowAcrossAllLevels) {
  Harness<TimerWheel> h;
  h.pop(kBase);
  std::mt19937_64 rng(7);
  std::vector<std::pair<TimePoint, int>> timers;
  for (int i = 0; i < 5000; ++i) {
    // Roughly log-uniform delays from 1 us to about 4.5 years.
    const auto delay = std::chrono::nanoseconds(rng() % (std::int64_t{1} << (10 + rng() % 47)));
    timers.emplace_back(kBase + delay, i);
    h.add(kBase + delay, i);
  }
  std::stable_sort(timers.begin(), timers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  TimePoint now = kBase;
  std::size_t total = 0;
  while (total < timers.size()) {
    now += std::chrono::nanoseconds(rng() % (std::int64_t{1} << (rng() % 56)));
    total += h.pop(now);
    const std::size_t due = static_cast<std::size_t>(
        std::upper_bound(timers.begin(), timers.end(), now,
                         [](TimePoint t, const auto& e) { return t < e.first; }) -
        timers.begin());
    ASSERT_EQ(total, due);
  }
  for (std::size_t i = 0; i < timers.size(); ++i) ASSERT_EQ(h.fired[i], timers[i].second);
  EXPECT_EQ(h.early, 0);
}

TEST(TimerWheel, NextDeadlineIsExactAndSkipsCancelled) {
  TimerWheel w;
  std::vector<Callback> due;
  w.pop_due(kBase, due);
  EXPECT_FALSE(w.next_deadline().has_value());
  auto a = noop(kBase + 10ms + 1ns);
  auto b = noop(kBase + 10ms + 2ns);
  auto c = noop(kBase + 2s + 3ns);
  w.add(c);
  EXPECT_EQ(w.next_deadline(), c->when);  // in a level-1 slot: the scan finds it exactly
  w.add(b);
  EXPECT_EQ(w.next_deadline(), b->when);  // an earlier one replaces the remembered answer
  w.add(a);
  EXPECT_EQ(w.next_deadline(), a->when);
  a->cancel();  // from "another thread": the remembered answer is checked
  EXPECT_EQ(w.next_deadline(), b->when);
  b->cancel();
  EXPECT_EQ(w.next_deadline(), c->when);
  // Not rounded to a tick, and not early: the loop parks until exactly this time.
  w.pop_due(c->when - 1ns, due);
  EXPECT_TRUE(due.empty());
  EXPECT_EQ(w.next_deadline(), c->when);
  c->cancel();
  EXPECT_FALSE(w.next_deadline().has_value());
  EXPECT_TRUE(w.empty());
  // Timers already due when added (now is past them) come first.
  auto d = noop(kBase + 1ms);
  w.add(d);
  EXPECT_EQ(w.next_deadline(), d->when);
  w.pop_due(kBase + 3s, due);
  EXPECT_EQ(due.size(), 1u);
}

TEST(TimerWheel, ScanningALongSlotDropsTheCancelledAndKeepsTheRest) {
  Harness<TimerWheel> h;
  h.pop(kBase);
  // 100 timers in one level-1 slot (several blocks of entries); cancel a pattern, then let
  // next_deadline's scan compact the slot, twice.
  const TimePoint slot_start = kBase + 200ms;
  std::vector<std::shared_ptr<TimerState>> st;
  for (int i = 0; i < 100; ++i) st.push_back(h.add(slot_start + (99 - i) * 100us, i));
  for (int i = 0; i < 100; ++i) {
    if (i % 7 == 1 || (i >= 40 && i < 60)) st[static_cast<std::size_t>(i)]->cancel();
  }
  EXPECT_EQ(h.timers.next_deadline(), slot_start + 1 * 100us);  // id 98: 99 is cancelled
  EXPECT_LT(h.timers.size(), 100u);
  for (int i = 90; i < 100; ++i) st[static_cast<std::size_t>(i)]->cancel();
  EXPECT_EQ(h.timers.next_deadline(), slot_start + 10 * 100us);  // id 89
  h.pop(kBase + 1s);
  std::vector<int> expected;
  for (int i = 99; i >= 0; --i) {
    if (!(i % 7 == 1 || (i >= 40 && i < 60) || i >= 90)) expected.push_back(i);
  }
  EXPECT_EQ(h.fired, expected);
  EXPECT_TRUE(h.timers.empty());
}

TEST(TimerWheel, MassCancelDoesNotKeepTheTimers) {
  TimerWheel w;
  std::vector<Callback> due;
  w.pop_due(kBase, due);
  std::vector<std::shared_ptr<TimerState>> st;
  for (int i = 0; i < 100000; ++i) {
    st.push_back(noop(kBase + 1s + i * 10us));
    w.add(st.back());
  }
  EXPECT_EQ(w.size(), 100000u);
  for (auto& s : st) s->cancel();
  // Further additions sweep the cancelled ones out, long before their deadlines come.
  std::weak_ptr<TimerState> first = st.front();
  st.clear();
  for (int i = 0; i < 110000; ++i) {
    w.add(noop(kBase + 1s));
  }
  EXPECT_LE(w.size(), 110000u);
  EXPECT_TRUE(first.expired());  // the cancelled state itself is freed
  // The timeout pattern: each timer is cancelled soon after it is armed, far before it is due.
  TimerWheel t;
  t.pop_due(kBase, due);
  std::vector<std::shared_ptr<TimerState>> ring(1000);
  std::size_t peak = 0;
  for (int i = 0; i < 200000; ++i) {
    auto& slot = ring[static_cast<std::size_t>(i) % ring.size()];
    if (slot) slot->cancel();
    slot = noop(kBase + 10s + i * 1us);
    t.add(slot);
    peak = std::max(peak, t.size());
  }
  EXPECT_LE(peak, 2 * ring.size() + 1024 + 1);
  for (auto& s : ring) s->cancel();
  EXPECT_FALSE(t.next_deadline().has_value());
  t.pop_due(kBase + 1h, due);
  EXPECT_TRUE(due.empty());
  EXPECT_TRUE(t.empty());
}

// Cancel is the one operation other threads perform: race it against pop_due, next_deadline and
// the sweeps. A timer fires if and only if its cancel() lost, and the fired ones keep their order.
TEST(TimerWheel, CancelFromAnotherThreadWhileTheOwnerPops) {
  Harness<TimerWheel> h;
  h.pop(kBase);
  constexpr int kN = 20000;
  std::vector<std::shared_ptr<TimerState>> st;
  for (int i = 0; i < kN; ++i) st.push_back(h.add(kBase + i * 50us, i));
  std::vector<char> cancelled(kN, 0);
  std::atomic<bool> go{false};
  std::thread canceller([&] {
    while (!go.load()) {
    }
    for (int i = kN - 1; i >= 0; i -= 3) {
      const auto k = static_cast<std::size_t>(i);
      cancelled[k] = st[k]->cancel();
    }
  });
  go.store(true);
  for (TimePoint now = kBase; now <= kBase + kN * 50us; now += 200us) {
    h.pop(now);
    h.timers.next_deadline();
    for (int k = 0; k < 50; ++k) h.add(kBase + 2s, kN);  // keeps adds (and sweeps) going
  }
  canceller.join();
  h.pop(kBase + 1s);
  std::vector<int> expected;
  for (int i = 0; i < kN; ++i) {
    if (!cancelled[static_cast<std::size_t>(i)]) expected.push_back(i);
  }
  EXPECT_EQ(h.fired, expected);
  EXPECT_EQ(h.early, 0);
}

TEST(TimerWheel, ClearDropsEverything) {
  TimerWheel w;
  for (int i = 0; i < 100; ++i) w.add(noop(kBase + i * 1s));
  w.clear();
  EXPECT_TRUE(w.empty());
  EXPECT_FALSE(w.next_deadline().has_value());
  std::vector<Callback> due;
  w.pop_due(kBase + 1000h, due);
  EXPECT_TRUE(due.empty());
}

// The same random sequence of add / cancel / pop_due / next_deadline on a TimerHeap and a
// TimerWheel: the same callbacks must come out in the same order.
void RunDifferential(TimePoint base, std::uint64_t seed, int ops) {
  Harness<TimerHeap> heap;
  Harness<TimerWheel> wheel;
  std::mt19937_64 rng(seed);
  std::vector<std::pair<std::shared_ptr<TimerState>, std::shared_ptr<TimerState>>> live;
  TimePoint now = base;
  heap.pop(now);
  wheel.pop(now);
  std::vector<TimePoint> recent;  // deadlines to reuse, for ties
  auto delay = [&]() -> std::chrono::nanoseconds {
    switch (rng() % 10) {
      case 0:
        return -std::chrono::nanoseconds(rng() % 5000000);  // already due
      case 1:
        return 0ns;
      case 2:
        return std::chrono::nanoseconds(rng() % 2000000);  // this tick or the next
      case 3:
      case 4:
      case 5:
        return std::chrono::nanoseconds(rng() % 100000000);  // 100 ms
      case 6:
        return std::chrono::nanoseconds(rng() % 10000000000);  // 10 s
      case 7:
        return std::chrono::nanoseconds(rng() % 3600000000000);  // 1 h
      case 8:
        return std::chrono::nanoseconds(rng() % (std::int64_t{1} << 58));  // ~9 years
      default:
        return 1ms * static_cast<int>(rng() % 64);  // tick-ish, many ties
    }
  };
  for (int i = 0; i < ops; ++i) {
    const unsigned op = rng() % 100;
    if (op < 50) {
      TimePoint when = now + delay();
      if (!recent.empty() && rng() % 4 == 0) when = recent[rng() % recent.size()];
      recent.push_back(when);
      if (recent.size() > 64) recent.erase(recent.begin());
      live.emplace_back(heap.add(when, i), wheel.add(when, i));
    } else if (op < 70) {
      if (live.empty()) continue;
      const std::size_t k = rng() % live.size();
      const bool a = live[k].first->cancel();
      const bool b = live[k].second->cancel();
      ASSERT_EQ(a, b);
      live[k] = std::move(live.back());
      live.pop_back();
    } else if (op < 80) {
      ASSERT_EQ(heap.timers.next_deadline(), wheel.timers.next_deadline()) << "op " << i;
    } else {
      switch (rng() % 6) {
        case 0:
          break;  // same now again
        case 1:
          now += std::chrono::nanoseconds(rng() % 1000);
          break;
        case 2:
          now += std::chrono::nanoseconds(rng() % 3000000);
          break;
        case 3:
          now += std::chrono::nanoseconds(rng() % 300000000);
          break;
        case 4:
          now += std::chrono::nanoseconds(rng() % 100000000000);
          break;
        default: {  // park until the next deadline, as the worker does
          if (std::optional<TimePoint> next = wheel.timers.next_deadline())
            now = std::max(now, *next);
        }
      }
      heap.pop(now);
      wheel.pop(now);
      ASSERT_EQ(heap.fired, wheel.fired) << "op " << i;
      if (rng() % 8 == 0) {
        std::erase_if(live, [](const auto& p) { return p.first->state.load() != 0; });
      }
    }
  }
  // Drain both.
  heap.pop(TimePoint::max());
  wheel.pop(TimePoint::max());
  EXPECT_EQ(heap.fired, wheel.fired);
  EXPECT_EQ(wheel.early, 0);
  EXPECT_TRUE(wheel.timers.empty());
  EXPECT_FALSE(wheel.timers.next_deadline().has_value());
}

TEST(TimerWheel, MatchesTheHeapOnRandomOperations) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    RunDifferential(kBase, seed, 20000);
  }
}

TEST(TimerWheel, MatchesTheHeapAcrossTheWheelsTopBoundary) {
  // 2^56 ns = 2^36 ticks: level 5 wraps around here.
  const TimePoint boundary = TimePoint{} + std::chrono::nanoseconds(std::int64_t{1} << 56);
  for (std::uint64_t seed = 100; seed < 105; ++seed) {
    SCOPED_TRACE(seed);
    RunDifferential(boundary - 30 * 24h, seed, 20000);
  }
}

TEST(TimerWheel, MatchesTheHeapFromTheClocksEpoch) {
  // The wheel starts at tick 0: the first pop_due walks it up to `now` (here the epoch itself,
  // with deadlines before it).
  RunDifferential(TimePoint{}, 7, 20000);
  RunDifferential(stealio::Clock::now(), 8, 20000);
}

}  // namespace
