// Whitebox tests of internal::Magazines and internal::Depot (tasks/internal/magazine.h), the
// layer through which frame_alloc moves freed blocks between threads: the current magazine's
// bounds, the spare, the depot's bound, draining at thread exit, and a stress in which blocks
// made on some threads are freed on others and none is ever handed out twice or lost.
//
// frame_alloc.cc uses these classes only outside sanitizer builds (there frames come from
// operator new, so that ASan sees each one); this test instantiates them directly, so TSan and
// ASan check them too.
#include "tasks/internal/magazine.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <latch>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace {

using stealio::internal::Depot;
using stealio::internal::FreeBlock;
using stealio::internal::Magazines;
using stealio::internal::release_chain;

constexpr std::size_t kSize = Magazines::kSize;

// A block as frame_alloc hands one out: the first word is the free list's link while cached.
struct Block {
  FreeBlock link;
  std::uint64_t state;
};
constexpr std::uint64_t kInUse = 0x11;
constexpr std::uint64_t kFree = 0x22;

// Owns the blocks a test makes; frees whatever is still allocated at the end.
struct Blocks {
  std::vector<Block*> made(std::size_t n) {
    std::vector<Block*> v;
    for (std::size_t i = 0; i < n; ++i) v.push_back(all.emplace_back(new Block{}));
    return v;
  }
  ~Blocks() {
    for (Block* b : all) delete b;
  }
  std::vector<Block*> all;
};

void push_all(Magazines& m, const std::vector<Block*>& blocks) {
  for (Block* b : blocks) ASSERT_TRUE(m.push(b));
}

std::set<void*> as_set(const std::vector<Block*>& v) { return {v.begin(), v.end()}; }

TEST(Magazines, TheCurrentMagazineHoldsUpToItsSizeAndPopsTheLastFreedFirst) {
  Blocks blocks;
  Magazines m;
  EXPECT_EQ(m.pop(), nullptr);
  std::vector<Block*> v = blocks.made(kSize + 1);
  for (std::size_t i = 0; i < kSize; ++i) ASSERT_TRUE(m.push(v[i]));
  EXPECT_FALSE(m.push(v[kSize])) << "a full current magazine takes no more";
  EXPECT_EQ(m.count(), kSize);
  EXPECT_EQ(m.pop(), v[kSize - 1]);
  EXPECT_EQ(m.pop(), v[kSize - 2]);
  EXPECT_EQ(m.count(), kSize - 2);
}

TEST(Magazines, AFullMagazineBecomesTheSpareAndTheOldSpareGoesToTheDepot) {
  Blocks blocks;
  Depot depot;
  Magazines m;
  push_all(m, blocks.made(kSize));
  Block* next = blocks.made(1)[0];
  EXPECT_EQ(m.push_retiring(next, depot), nullptr);
  EXPECT_TRUE(m.has_spare());
  EXPECT_EQ(m.count(), 1u);
  EXPECT_EQ(depot.size(), 0u) << "the first full magazine stays as this thread's spare";

  push_all(m, blocks.made(kSize - 1));
  EXPECT_EQ(m.push_retiring(blocks.made(1)[0], depot), nullptr);
  EXPECT_EQ(depot.size(), 1u) << "a second full magazine sends the spare to the depot";
}

TEST(Magazines, AnAllocatingThreadTakesWhatAnotherFreedAWholeMagazineAtATime) {
  Blocks blocks;
  Depot depot;
  Magazines freer;
  Magazines allocator;
  std::vector<Block*> first = blocks.made(kSize);
  push_all(freer, first);
  for (Block* b : blocks.made(2 * kSize)) {
    if (!freer.push(b)) {
      ASSERT_EQ(freer.push_retiring(b, depot), nullptr);
    }
  }
  ASSERT_EQ(depot.size(), 1u);

  EXPECT_EQ(allocator.pop(), nullptr);
  std::set<void*> got;
  for (std::size_t i = 0; i < kSize; ++i) {
    void* p = allocator.pop();
    if (!p) p = allocator.pop_refilling(depot);
    ASSERT_NE(p, nullptr);
    got.insert(p);
  }
  EXPECT_EQ(got, as_set(first)) << "the depot's magazine is the oldest one the freer filled";
  EXPECT_EQ(depot.size(), 0u);
  EXPECT_EQ(allocator.pop_refilling(depot), nullptr) << "nothing left: the caller asks the system";
}

TEST(Magazines, ARefillPrefersTheSpareToTheDepot) {
  Blocks blocks;
  Depot depot;
  Magazines m;
  std::vector<Block*> spare = blocks.made(kSize);
  push_all(m, spare);
  Block* one = blocks.made(1)[0];
  ASSERT_EQ(m.push_retiring(one, depot), nullptr);
  ASSERT_TRUE(depot.put(&blocks.made(1)[0]->link)) << "a depot magazine the refill must not take";
  EXPECT_EQ(m.pop(), one);
  void* p = m.pop_refilling(depot);
  EXPECT_TRUE(as_set(spare).count(p));
  EXPECT_FALSE(m.has_spare());
  EXPECT_EQ(depot.size(), 1u);
  EXPECT_EQ(m.count(), kSize - 1);
}

TEST(Depot, RefusesMagazinesBeyondItsBoundAndTheFreerReleasesThem) {
  Blocks blocks;
  Depot depot;
  for (std::size_t i = 0; i < Depot::kMaxMagazines; ++i) {
    ASSERT_TRUE(depot.put(&blocks.made(1)[0]->link));
  }
  EXPECT_FALSE(depot.put(&blocks.made(1)[0]->link));
  EXPECT_EQ(depot.size(), Depot::kMaxMagazines);

  Magazines m;
  std::vector<Block*> spare = blocks.made(kSize);
  push_all(m, spare);
  ASSERT_EQ(m.push_retiring(blocks.made(1)[0], depot), nullptr);
  push_all(m, blocks.made(kSize - 1));
  FreeBlock* refused = m.push_retiring(blocks.made(1)[0], depot);
  std::set<void*> released;
  release_chain(refused, [&](FreeBlock* b) { released.insert(b); });
  EXPECT_EQ(released, as_set(spare)) << "the spare the full depot refused comes back whole";
}

TEST(Magazines, DrainGivesFullMagazinesToTheDepotAndReturnsTheRest) {
  Blocks blocks;
  Depot depot;
  Magazines m;
  push_all(m, blocks.made(kSize));
  ASSERT_EQ(m.push_retiring(blocks.made(1)[0], depot), nullptr);  // spare full, current 1
  std::vector<Block*> partial = blocks.made(9);
  push_all(m, partial);
  std::set<void*> rest;
  release_chain(m.drain(depot), [&](FreeBlock* b) { rest.insert(b); });
  EXPECT_EQ(depot.size(), 1u) << "the full spare";
  EXPECT_EQ(rest.size(), 10u) << "the partial current magazine";
  EXPECT_EQ(m.count(), 0u);
  EXPECT_FALSE(m.has_spare());
  EXPECT_EQ(m.pop_refilling(depot) != nullptr, true) << "drained blocks are usable again";
}

// Producers allocate (their magazines, the depot, else new) and hand each block to a consumer,
// which frees it into its own magazines: the outside-spawner pattern. Every block carries a
// state word: a block handed out while in use, or freed twice, breaks the expectation, and TSan
// reports any exchange through the depot that is not ordered by its lock. At the end every block
// made is found exactly once: in a thread's drained rest, in the depot, or released as refused.
TEST(MagazineStress, BlocksCrossThreadsWithoutBeingHandedOutTwiceOrLost) {
  constexpr int kProducers = 2;
  constexpr int kConsumers = 2;
  constexpr int kPerProducer = 100000;
  constexpr std::size_t kInFlight = 1024;  // producers wait for consumers beyond this
  Depot depot;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Block*> channel;
  int producers_left = kProducers;
  std::mutex made_mu;
  std::vector<Block*> made;
  std::mutex gone_mu;
  std::multiset<void*> gone;  // released as refused, or left over at thread exit
  auto give_up = [&](FreeBlock* chain) {
    std::lock_guard<std::mutex> lock(gone_mu);
    release_chain(chain, [&](FreeBlock* b) { gone.insert(b); });
  };
  std::latch start(kProducers + kConsumers);

  std::vector<std::thread> threads;
  for (int i = 0; i < kProducers; ++i) {
    threads.emplace_back([&] {
      Magazines m;
      start.arrive_and_wait();
      for (int n = 0; n < kPerProducer; ++n) {
        void* p = m.pop();
        if (!p) p = m.pop_refilling(depot);
        Block* b = static_cast<Block*>(p);
        if (b) {
          EXPECT_EQ(b->state, kFree);
        } else {
          b = new Block{};
          std::lock_guard<std::mutex> lock(made_mu);
          made.push_back(b);
        }
        b->state = kInUse;
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return channel.size() < kInFlight; });
        channel.push_back(b);
        cv.notify_all();
      }
      give_up(m.drain(depot));
      std::lock_guard<std::mutex> lock(mu);
      --producers_left;
      cv.notify_all();
    });
  }
  for (int i = 0; i < kConsumers; ++i) {
    threads.emplace_back([&] {
      Magazines m;
      start.arrive_and_wait();
      for (;;) {
        Block* b;
        {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return !channel.empty() || producers_left == 0; });
          if (channel.empty()) break;
          b = channel.front();
          channel.pop_front();
          cv.notify_all();
        }
        EXPECT_EQ(b->state, kInUse);
        b->state = kFree;
        if (!m.push(b)) give_up(m.push_retiring(b, depot));
      }
      give_up(m.drain(depot));
    });
  }
  for (std::thread& t : threads) t.join();

  std::multiset<void*> found = gone;
  while (FreeBlock* mag = depot.take()) {
    std::size_t n = 0;
    release_chain(mag, [&](FreeBlock* b) {
      found.insert(b);
      ++n;
    });
    EXPECT_EQ(n, kSize) << "the depot holds full magazines only";
  }
  EXPECT_EQ(found, std::multiset<void*>(made.begin(), made.end()));
  EXPECT_LT(made.size(), static_cast<std::size_t>(kProducers * kPerProducer) / 2)
      << "most blocks came back through the depot";
  for (Block* b : made) delete b;
}

}  // namespace
