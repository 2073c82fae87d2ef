// Whitebox tests of internal::WsRing, the Tokio-style bounded ring kept as a benchmark reference
// against WsDeque: the owner's FIFO pops, the overflow of half the ring plus the new item, the
// thief's steal of half into its own ring, and a concurrent stress in which one owner pushes and
// pops while thieves steal halves and every item must be taken exactly once.
#include "scheduler/internal/ws_ring.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <memory>
#include <random>
#include <span>
#include <thread>
#include <vector>

#include "scheduler/internal/mutex.h"  // STEALIO_TSAN

namespace {

using stealio::internal::WsRing;
using Ring = WsRing<int*>;

constexpr int kCap = static_cast<int>(Ring::kCapacity);
constexpr int kHalf = static_cast<int>(Ring::kHalf);

// Items are pointers into one array, so a taken pointer names its index.
struct Items {
  explicit Items(int n) : v(static_cast<std::size_t>(n)) {
    for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
  }
  int* at(int i) { return &v[static_cast<std::size_t>(i)]; }
  std::vector<int> v;
};

// An overflow sink that must not be called.
auto no_overflow() {
  return [](std::span<int*>) { ADD_FAILURE() << "unexpected overflow"; };
}

TEST(WsRing, EmptyPopAndStealReturnNull) {
  Ring r;
  Ring dst;
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.pop(), nullptr);
  EXPECT_EQ(r.steal_half_into(dst), nullptr);
  EXPECT_TRUE(dst.empty());
  Items it(1);
  EXPECT_TRUE(r.push(it.at(0), no_overflow()));
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(r.pop(), it.at(0));
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.pop(), nullptr);
}

TEST(WsRing, OwnerPopIsFifo) {
  Items it(10);
  Ring r;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(r.push(it.at(i), no_overflow()));
  EXPECT_EQ(r.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(r.pop(), it.at(i));
  EXPECT_EQ(r.pop(), nullptr);
}

// Indices wrap around the 256 slots many times and keep FIFO order.
TEST(WsRing, FifoAcrossWraparound) {
  Items it(2000);
  Ring r;
  int next_pop = 0;
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(r.push(it.at(i), no_overflow()));
    if (i % 3 != 0) {
      ASSERT_EQ(r.pop(), it.at(next_pop++));
    }
    if (r.size() > 200) {
      while (next_pop <= i) ASSERT_EQ(r.pop(), it.at(next_pop++));
    }
  }
  while (next_pop < 2000) ASSERT_EQ(r.pop(), it.at(next_pop++));
  EXPECT_EQ(r.pop(), nullptr);
}

TEST(WsRing, OverflowHandsOutTheOldestHalfPlusTheNewItem) {
  Items it(kCap + 1);
  Ring r;
  for (int i = 0; i < kCap; ++i) ASSERT_TRUE(r.push(it.at(i), no_overflow()));
  EXPECT_EQ(r.size(), static_cast<std::uint32_t>(kCap));
  std::vector<int*> injected;
  int calls = 0;
  EXPECT_FALSE(r.push(it.at(kCap), [&](std::span<int*> batch) {
    ++calls;
    injected.assign(batch.begin(), batch.end());
  }));
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(injected.size(), static_cast<std::size_t>(kHalf + 1));
  for (int i = 0; i < kHalf; ++i) EXPECT_EQ(injected[static_cast<std::size_t>(i)], it.at(i));
  EXPECT_EQ(injected.back(), it.at(kCap));
  // The newer half stays, in order, and the ring takes pushes again.
  EXPECT_EQ(r.size(), static_cast<std::uint32_t>(kHalf));
  EXPECT_TRUE(r.push(it.at(0), no_overflow()));
  for (int i = kHalf; i < kCap; ++i) ASSERT_EQ(r.pop(), it.at(i));
  EXPECT_EQ(r.pop(), it.at(0));
  EXPECT_EQ(r.pop(), nullptr);
}

TEST(WsRing, StealHalfTakesHalfAndReturnsOne) {
  Items it(10);
  Ring victim;
  Ring thief;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(victim.push(it.at(i), no_overflow()));
  // Half of 10 is 5: the thief runs the last one it copied and keeps 4 in its ring.
  EXPECT_EQ(victim.steal_half_into(thief), it.at(4));
  EXPECT_EQ(victim.size(), 5u);
  EXPECT_EQ(thief.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(thief.pop(), it.at(i));
  EXPECT_EQ(thief.pop(), nullptr);
  for (int i = 5; i < 10; ++i) EXPECT_EQ(victim.pop(), it.at(i));
  EXPECT_EQ(victim.pop(), nullptr);
}

TEST(WsRing, StealHalfRoundsUp) {
  Items it(3);
  Ring victim;
  Ring thief;
  // One item: the thief takes it and its own ring stays empty.
  ASSERT_TRUE(victim.push(it.at(0), no_overflow()));
  EXPECT_EQ(victim.steal_half_into(thief), it.at(0));
  EXPECT_TRUE(thief.empty());
  EXPECT_TRUE(victim.empty());
  EXPECT_EQ(victim.steal_half_into(thief), nullptr);
  // Three items: ceil(3/2) = 2 taken.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(victim.push(it.at(i), no_overflow()));
  EXPECT_EQ(victim.steal_half_into(thief), it.at(1));
  EXPECT_EQ(thief.pop(), it.at(0));
  EXPECT_EQ(victim.pop(), it.at(2));
}

// A thief whose own ring is more than half full does not steal (it has work and no room).
TEST(WsRing, StealRefusedWhenDestinationIsMoreThanHalfFull) {
  Items it(kHalf + 11);
  Ring victim;
  Ring thief;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(victim.push(it.at(i), no_overflow()));
  for (int i = 0; i <= kHalf; ++i) ASSERT_TRUE(thief.push(it.at(10 + i), no_overflow()));
  EXPECT_EQ(victim.steal_half_into(thief), nullptr);
  EXPECT_EQ(victim.size(), 10u);
  thief.pop();
  EXPECT_NE(victim.steal_half_into(thief), nullptr);
}

// One owner pushes `items` items, popping some itself and sending overflow to a local injection
// list, while `thieves` threads steal halves into their own rings and drain them. Every item is
// taken exactly once: each taker flips that item's flag, which must have been clear.
void run_stress(int n_thieves, int items) {
  Items it(items);
  std::unique_ptr<std::atomic<bool>[]> taken(new std::atomic<bool>[items]);
  for (int i = 0; i < items; ++i) taken[i].store(false, std::memory_order_relaxed);
  std::atomic<int> count{0};
  std::atomic<int> twice{0};
  std::atomic<int> bogus{0};
  std::atomic<int> stolen{0};

  auto take = [&](int* item) {
    if (item < it.at(0) || item > it.at(items - 1)) {
      bogus.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (taken[*item].exchange(true, std::memory_order_relaxed)) {
      twice.fetch_add(1, std::memory_order_relaxed);
    }
    count.fetch_add(1, std::memory_order_relaxed);
  };

  Ring victim;
  std::latch start(n_thieves + 1);
  std::vector<std::thread> thieves;
  for (int k = 0; k < n_thieves; ++k) {
    thieves.emplace_back([&] {
      Ring mine;
      start.arrive_and_wait();
      while (count.load(std::memory_order_relaxed) < items) {
        if (int* item = victim.steal_half_into(mine)) {
          take(item);
          stolen.fetch_add(1, std::memory_order_relaxed);
          while (int* more = mine.pop()) take(more);
        } else {
          // Two cores, up to four spinning threads: let the owner run.
          std::this_thread::yield();
        }
      }
    });
  }

  start.arrive_and_wait();
  std::minstd_rand rng(42);
  std::vector<int*> injected;
  auto to_inject = [&](std::span<int*> batch) {
    injected.insert(injected.end(), batch.begin(), batch.end());
  };
  for (int i = 0; i < items; ++i) {
    victim.push(it.at(i), to_inject);
    // Pop about a quarter of the time so the ring fills and overflows; now and then drain to
    // empty so that the owner's pop races a thief's claim on the last items.
    unsigned r = rng() % 64;
    if (r < 16) {
      if (int* item = victim.pop()) take(item);
    } else if (r == 16) {
      while (int* item = victim.pop()) take(item);
    }
    if (injected.size() > 4096) {
      for (int* item : injected) take(item);
      injected.clear();
    }
  }
  while (int* item = victim.pop()) take(item);
  for (int* item : injected) take(item);
  for (std::thread& t : thieves) t.join();

  EXPECT_EQ(count.load(), items);
  EXPECT_EQ(twice.load(), 0) << "an item was taken twice";
  EXPECT_EQ(bogus.load(), 0) << "a steal or pop returned a pointer that was never pushed";
  for (int i = 0; i < items; ++i) ASSERT_TRUE(taken[i].load()) << "item " << i << " lost";
  EXPECT_TRUE(victim.empty());
  EXPECT_LE(stolen.load(), items);
}

#if defined(STEALIO_TSAN) || defined(__SANITIZE_ADDRESS__)
constexpr int kStressItems = 50000;
#else
constexpr int kStressItems = 200000;
#endif

class WsRingStress : public ::testing::TestWithParam<int> {};

TEST_P(WsRingStress, EveryItemTakenExactlyOnce) { run_stress(GetParam(), kStressItems); }

INSTANTIATE_TEST_SUITE_P(Thieves, WsRingStress, ::testing::Values(1, 2, 3),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "thieves";
                         });

}  // namespace
