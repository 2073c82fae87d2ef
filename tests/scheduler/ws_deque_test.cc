// Whitebox tests of internal::WsDeque, the Chase–Lev deque of runnable steps: the owner's LIFO
// end, the thieves' FIFO end, growth past the initial ring, and a concurrent stress in which one
// owner pushes and pops while thieves steal and every item must be taken exactly once.
#include "scheduler/internal/ws_deque.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "scheduler/internal/mutex.h"  // STEALIO_TSAN

namespace {

using stealio::internal::WsDeque;

// Items are pointers into one array, so a taken pointer names its index.
struct Items {
  explicit Items(int n) : v(static_cast<std::size_t>(n)) {
    for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
  }
  int* at(int i) { return &v[static_cast<std::size_t>(i)]; }
  std::vector<int> v;
};

// The single-threaded tests run on both kinds of deque: one that thieves may steal from, and one
// only its owner takes from (a lone worker's), whose pop and steal skip the fence and the CAS.
using Thieves = WsDeque<int*>::Thieves;
class WsDequeSerial : public ::testing::TestWithParam<Thieves> {};
INSTANTIATE_TEST_SUITE_P(Deques, WsDequeSerial,
                         ::testing::Values(Thieves::kAnyThread, Thieves::kOwnerOnly),
                         [](const ::testing::TestParamInfo<Thieves>& info) {
                           return info.param == Thieves::kAnyThread ? "AnyThread" : "OwnerOnly";
                         });

TEST_P(WsDequeSerial, EmptyPopAndStealReturnNull) {
  WsDeque<int*> d(1024, GetParam());
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.pop(), nullptr);
  EXPECT_EQ(d.steal(), nullptr);
  // An empty pop must leave the deque usable (it decrements and restores bottom).
  Items it(1);
  d.push(it.at(0));
  EXPECT_EQ(d.size(), 1);
  EXPECT_EQ(d.pop(), it.at(0));
  EXPECT_TRUE(d.empty());
}

TEST_P(WsDequeSerial, OwnerPopIsLifo) {
  Items it(10);
  WsDeque<int*> d(1024, GetParam());
  for (int i = 0; i < 10; ++i) d.push(it.at(i));
  EXPECT_EQ(d.size(), 10);
  for (int i = 9; i >= 0; --i) EXPECT_EQ(d.pop(), it.at(i));
  EXPECT_EQ(d.pop(), nullptr);
}

TEST_P(WsDequeSerial, StealIsFifo) {
  Items it(10);
  WsDeque<int*> d(1024, GetParam());
  for (int i = 0; i < 10; ++i) d.push(it.at(i));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(d.steal(), it.at(i));
  EXPECT_EQ(d.steal(), nullptr);
  EXPECT_EQ(d.pop(), nullptr);
}

TEST_P(WsDequeSerial, PopAndStealMeetInTheMiddle) {
  Items it(5);
  WsDeque<int*> d(1024, GetParam());
  for (int i = 0; i < 5; ++i) d.push(it.at(i));
  EXPECT_EQ(d.steal(), it.at(0));
  EXPECT_EQ(d.pop(), it.at(4));
  EXPECT_EQ(d.steal(), it.at(1));
  EXPECT_EQ(d.pop(), it.at(3));
  EXPECT_EQ(d.size(), 1);
  EXPECT_EQ(d.pop(), it.at(2));  // the last item (with thieves, through the top_ CAS)
  EXPECT_EQ(d.pop(), nullptr);
  EXPECT_EQ(d.steal(), nullptr);
  // Still usable after the last-item path.
  d.push(it.at(0));
  EXPECT_EQ(d.steal(), it.at(0));
}

TEST_P(WsDequeSerial, GrowsPastInitialCapacityKeepingLifoOrder) {
  constexpr int kN = 1000;
  Items it(kN);
  WsDeque<int*> d(2, GetParam());
  for (int i = 0; i < kN; ++i) d.push(it.at(i));
  EXPECT_EQ(d.size(), kN);
  for (int i = kN - 1; i >= 0; --i) ASSERT_EQ(d.pop(), it.at(i)) << i;
  EXPECT_TRUE(d.empty());
}

// Growth when top_ is not at slot 0: the copy must keep logical indices, so the items wrapped
// around the old ring come out in order.
TEST_P(WsDequeSerial, GrowsWithWrappedIndicesKeepingFifoOrder) {
  constexpr int kN = 64;
  Items it(kN);
  WsDeque<int*> d(4, GetParam());
  int next_push = 0;
  int next_steal = 0;
  // Move top_ and bottom_ around the 4-slot ring several times without growing.
  for (int round = 0; round < 5; ++round) {
    d.push(it.at(next_push++));
    d.push(it.at(next_push++));
    ASSERT_EQ(d.steal(), it.at(next_steal++));
    ASSERT_EQ(d.steal(), it.at(next_steal++));
  }
  // Now fill far past the capacity, interleaving steals.
  while (next_push < kN) {
    d.push(it.at(next_push++));
    if (next_push % 5 == 0) {
      ASSERT_EQ(d.steal(), it.at(next_steal++));
    }
  }
  while (next_steal < kN) ASSERT_EQ(d.steal(), it.at(next_steal++));
  EXPECT_EQ(d.steal(), nullptr);
}

// pop_if_bottom: the owner takes back the step it pushed last (the inline join of an awaited
// child), and only that one.
TEST_P(WsDequeSerial, HoldsNearBottomLooksInTheWindowAndRemembersWhere) {
  Items it(8);
  WsDeque<int*> d(4, GetParam());  // grows below
  for (int i = 0; i < 6; ++i) d.push(it.at(i));
  std::int64_t at = -1;
  EXPECT_FALSE(d.holds_near_bottom(it.at(1), 3, at));  // present, but below the window
  EXPECT_EQ(at, -1);
  EXPECT_TRUE(d.holds_near_bottom(it.at(3), 3, at));
  EXPECT_EQ(at, 3);  // the index it was pushed at, kept through the growth
  // The joiner pops the entries above it one by one; the remembered index still answers.
  EXPECT_EQ(d.pop(), it.at(5));
  EXPECT_TRUE(d.holds_near_bottom(it.at(3), 3, at));
  EXPECT_EQ(d.pop(), it.at(4));
  EXPECT_TRUE(d.holds_near_bottom(it.at(3), 3, at));
  EXPECT_TRUE(d.pop_if_bottom(it.at(3)));
  // Popped: the slot still holds the pointer, above bottom now, and the answer is no.
  EXPECT_FALSE(d.holds_near_bottom(it.at(3), 3, at));
  // A stale index that names another item now: the window is scanned again.
  d.push(it.at(6));  // reuses index 3
  d.push(it.at(7));
  EXPECT_TRUE(d.holds_near_bottom(it.at(2), 3, at));
  EXPECT_EQ(at, 2);
  // Stolen: thieves took indices 0..2, so index 2 no longer counts, whatever the slot holds.
  EXPECT_EQ(d.steal(), it.at(0));
  EXPECT_EQ(d.steal(), it.at(1));
  EXPECT_TRUE(d.holds_near_bottom(it.at(2), 3, at));
  EXPECT_EQ(d.steal(), it.at(2));
  EXPECT_FALSE(d.holds_near_bottom(it.at(2), 3, at));
}

TEST_P(WsDequeSerial, PopIfBottomTakesOnlyTheBottomItem) {
  Items it(4);
  WsDeque<int*> d(1024, GetParam());
  EXPECT_FALSE(d.pop_if_bottom(it.at(0)));  // empty
  d.push(it.at(0));
  d.push(it.at(1));
  d.push(it.at(2));
  EXPECT_FALSE(d.pop_if_bottom(it.at(1)));  // present, but not the bottom
  EXPECT_FALSE(d.pop_if_bottom(it.at(3)));  // never pushed
  EXPECT_EQ(d.size(), 3);
  EXPECT_TRUE(d.pop_if_bottom(it.at(2)));
  EXPECT_EQ(d.size(), 2);
  EXPECT_TRUE(d.pop_if_bottom(it.at(1)));
  // The last item (with thieves, taken through the top_ CAS).
  EXPECT_TRUE(d.pop_if_bottom(it.at(0)));
  EXPECT_TRUE(d.empty());
  EXPECT_FALSE(d.pop_if_bottom(it.at(0)));
  // After a thief took the only item, the slot still holds the pointer: it must not be taken
  // twice.
  d.push(it.at(3));
  EXPECT_EQ(d.steal(), it.at(3));
  EXPECT_FALSE(d.pop_if_bottom(it.at(3)));
  EXPECT_EQ(d.pop(), nullptr);
}

struct StressParams {
  int thieves;
  int items;
  std::int64_t capacity;
};

// One owner pushes `items` items, popping some of them itself, while `thieves` threads steal.
// Every item is taken exactly once: each taker flips that item's flag, which must have been clear.
void run_stress(const StressParams& p) {
  Items it(p.items);
  std::unique_ptr<std::atomic<bool>[]> taken(new std::atomic<bool>[p.items]);
  for (int i = 0; i < p.items; ++i) taken[i].store(false, std::memory_order_relaxed);
  std::atomic<int> count{0};
  std::atomic<int> twice{0};
  std::atomic<int> bogus{0};
  std::atomic<int> stolen{0};

  auto take = [&](int* item) {
    if (item < it.at(0) || item > it.at(p.items - 1)) {
      bogus.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (taken[*item].exchange(true, std::memory_order_relaxed)) {
      twice.fetch_add(1, std::memory_order_relaxed);
    }
    count.fetch_add(1, std::memory_order_relaxed);
  };

  WsDeque<int*> d(p.capacity);
  std::latch start(p.thieves + 1);
  std::vector<std::thread> thieves;
  for (int k = 0; k < p.thieves; ++k) {
    thieves.emplace_back([&] {
      start.arrive_and_wait();
      while (count.load(std::memory_order_relaxed) < p.items) {
        if (int* item = d.steal()) {
          take(item);
          stolen.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }

  start.arrive_and_wait();
  std::minstd_rand rng(42);
  for (int i = 0; i < p.items; ++i) {
    d.push(it.at(i));
    // Pop about a third of the time, take the item just pushed back with pop_if_bottom about a
    // quarter of the time (false: a thief has it), and now and then drain to empty so that the
    // owner and the thieves race on the last item (the top_ CAS in pop()).
    unsigned r = rng() % 64;
    if (r < 21) {
      if (int* item = d.pop()) take(item);
    } else if (r == 21) {
      while (int* item = d.pop()) take(item);
    } else if (r < 38) {
      if (d.pop_if_bottom(it.at(i))) take(it.at(i));
    }
  }
  while (int* item = d.pop()) take(item);
  for (std::thread& t : thieves) t.join();

  EXPECT_EQ(count.load(), p.items);
  EXPECT_EQ(twice.load(), 0) << "an item was taken twice";
  EXPECT_EQ(bogus.load(), 0) << "a steal or pop returned a pointer that was never pushed";
  for (int i = 0; i < p.items; ++i) ASSERT_TRUE(taken[i].load()) << "item " << i << " lost";
  EXPECT_TRUE(d.empty());
  // Each thief either stole or spun; the owner's pops took the rest. Not asserted > 0: on a
  // loaded machine a thief may be descheduled for the whole run.
  EXPECT_LE(stolen.load(), p.items);
}

#if defined(STEALIO_TSAN) || defined(__SANITIZE_ADDRESS__)
constexpr int kStressItems = 20000;
#else
constexpr int kStressItems = 200000;
#endif

class WsDequeStress : public ::testing::TestWithParam<int> {};

TEST_P(WsDequeStress, EveryItemTakenExactlyOnce) {
  run_stress({.thieves = GetParam(), .items = kStressItems, .capacity = 1024});
}

// A tiny initial ring: the owner grows it while thieves read the old one.
TEST_P(WsDequeStress, EveryItemTakenExactlyOnceWhileGrowing) {
  run_stress({.thieves = GetParam(), .items = kStressItems / 2, .capacity = 2});
}

INSTANTIATE_TEST_SUITE_P(Thieves, WsDequeStress, ::testing::Values(1, 2, 3, 7),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "thieves";
                         });

}  // namespace
