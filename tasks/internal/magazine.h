// Magazines: how freed blocks of one size class move between threads (Bonwick and Adams'
// magazine layer, "Magazines and Vmem", USENIX 2001; Solaris' kmem cache works this way).
//
// Each thread holds, per size class, a Magazines: a current magazine (a list of up to kSize
// blocks) and one full spare. Allocation pops from the current one; free pushes onto it. Only
// when the current magazine is empty (or full) does the thread swap in its spare, or trade a
// whole magazine with the Depot, the shared pool of full magazines of that class. So a thread
// that only allocates (an outside spawner) and one that only frees (the worker that finishes its
// tasks) exchange one magazine, under one spin lock, per kSize blocks, instead of one remote free
// and one malloc per block.
//
// The spare keeps a thread that allocates and frees around a magazine boundary from going to the
// depot on every call: it only swaps current and spare.
//
// Example (what frame_alloc.cc does, per class):
//   Depot depot;                                  // shared; bounded to kMaxMagazines
//   Magazines mine;                               // per thread
//   void* p = mine.pop();                         // fast path; null when current is empty
//   if (!p) p = mine.pop_refilling(depot);        // the spare or a depot magazine; may be null
//   if (!p) p = system_malloc(size);
//   ...
//   if (!mine.push(p))                            // fast path; false when current is full
//     release(mine.push_retiring(p, depot));      // a magazine the depot had no room for
//
// Blocks must be at least sizeof(FreeBlock) bytes; a held block's first word is overwritten.
#ifndef STEALIO_TASKS_INTERNAL_MAGAZINE_H_
#define STEALIO_TASKS_INTERNAL_MAGAZINE_H_

#include <atomic>
#include <cstddef>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "scheduler/internal/mutex.h"

namespace stealio {
inline namespace v1 {
namespace internal {

struct FreeBlock {
  FreeBlock* next;
};

// The full magazines of one size class that no thread holds. Thread-safe.
class Depot {
 public:
  static constexpr std::size_t kMaxMagazines = 32;

  Depot() = default;
  Depot(const Depot&) = delete;
  Depot& operator=(const Depot&) = delete;

  // Keeps `m`, a full magazine; false (and `m` stays the caller's) when the depot is full.
  bool put(FreeBlock* m) noexcept {
    SpinLock lock(&mu_);
    const std::size_t n = size_.load(std::memory_order_relaxed);
    if (n == kMaxMagazines) return false;
    mags_[n] = m;
    size_.store(n + 1, std::memory_order_relaxed);
    return true;
  }

  // A full magazine, or null. An empty depot is seen without taking the lock.
  FreeBlock* take() noexcept {
    if (size_.load(std::memory_order_relaxed) == 0) return nullptr;
    SpinLock lock(&mu_);
    const std::size_t n = size_.load(std::memory_order_relaxed);
    if (n == 0) return nullptr;
    size_.store(n - 1, std::memory_order_relaxed);
    return mags_[n - 1];
  }

  // The number of magazines held (a snapshot).
  std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }

 private:
  SpinMutex mu_;
  std::atomic<std::size_t> size_{0};  // written under mu_; read without it as a hint
  FreeBlock* mags_[kMaxMagazines] ABSL_GUARDED_BY(mu_);
};

// One thread's blocks of one size class. Not thread-safe: each thread has its own.
class Magazines {
 public:
  static constexpr std::size_t kSize = 256;

  // A block from the current magazine, or null when it is empty.
  void* pop() noexcept {
    FreeBlock* b = head_;
    if (!b) return nullptr;
    head_ = b->next;
    --count_;
    return b;
  }

  // Takes `p` into the current magazine; false when it is full.
  bool push(void* p) noexcept {
    if (count_ == kSize) return false;
    auto* b = static_cast<FreeBlock*>(p);
    b->next = head_;
    head_ = b;
    ++count_;
    return true;
  }

  // pop(), and when the current magazine is empty first makes the spare, else a magazine from
  // `depot`, the current one. Null when neither has one.
  void* pop_refilling(Depot& depot) noexcept {
    if (!head_) {
      head_ = spare_ ? std::exchange(spare_, nullptr) : depot.take();
      if (!head_) return nullptr;
      count_ = kSize;
    }
    return pop();
  }

  // push(p), and when the current magazine is full first makes it the spare (the old spare goes
  // to `depot`), so that `p` starts a new one. Returns a full magazine the depot had no room for
  // (the caller frees its blocks: release_chain), or null.
  [[nodiscard]] FreeBlock* push_retiring(void* p, Depot& depot) noexcept {
    FreeBlock* refused = nullptr;
    if (count_ == kSize) {
      if (spare_ && !depot.put(spare_)) refused = spare_;
      spare_ = std::exchange(head_, nullptr);
      count_ = 0;
    }
    push(p);
    return refused;
  }

  // Gives everything up (at thread exit): full magazines to `depot`; returns the chain of blocks
  // it did not take (the caller frees them: release_chain). Leaves this empty.
  [[nodiscard]] FreeBlock* drain(Depot& depot) noexcept {
    FreeBlock* rest = nullptr;
    if (spare_ && !depot.put(spare_)) rest = spare_;
    spare_ = nullptr;
    if (head_ && (count_ != kSize || !depot.put(head_))) {
      FreeBlock* last = head_;
      while (last->next) last = last->next;
      last->next = rest;
      rest = head_;
    }
    head_ = nullptr;
    count_ = 0;
    return rest;
  }

  std::size_t count() const noexcept { return count_; }
  bool has_spare() const noexcept { return spare_ != nullptr; }

 private:
  FreeBlock* head_ = nullptr;   // the current magazine
  std::size_t count_ = 0;       // its length
  FreeBlock* spare_ = nullptr;  // a full magazine, or null
};

// Calls release(block) for every block of a chain (linked through `next`, null-terminated).
template <class Release>
void release_chain(FreeBlock* b, Release release) noexcept {
  while (b) {
    FreeBlock* next = b->next;
    release(b);
    b = next;
  }
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio

#endif  // STEALIO_TASKS_INTERNAL_MAGAZINE_H_
