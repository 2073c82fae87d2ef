// uts: Unbalanced Tree Search (Olivier et al., LCPC 2006), geometric "fixed" shape like the
// reference T1 tree: every node below the depth limit has a geometrically distributed number of
// children with mean kBranch, so subtrees range from empty to millions of nodes and the work
// cannot be split up front. One task per node.
//
// The reference UTS derives a child's state with SHA-1; here a child's state is kMixRounds of
// splitmix64's finaliser over (parent state, child index), which keeps the tree deterministic
// (a fixed root seed), cheap to share between variants, and costs roughly what SHA-1 does per
// node. `n` is the depth limit; kKnown holds the node counts the serial variant found.
#ifndef STEALIO_PERF_COMPARE_UTS_UTS_H_
#define STEALIO_PERF_COMPARE_UTS_UTS_H_

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace uts {

constexpr long kDefaultN = 10;
constexpr std::uint64_t kRootSeed = 19;
constexpr double kBranch = 4.0;   // mean children per node
constexpr int kMaxChildren = 64;  // a cap so tasks can keep child results in a fixed array
constexpr int kMixRounds = 24;    // per-node work standing in for SHA-1

struct Node {
  std::uint64_t state;
  int depth;
};

inline std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline Node root() { return {mix(kRootSeed), 0}; }

inline Node child(const Node& parent, int index) {
  std::uint64_t s = parent.state + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(index + 1);
  for (int r = 0; r < kMixRounds; ++r) s = mix(s);
  return {s, parent.depth + 1};
}

// Geometric with mean kBranch (P(k) = p (1-p)^k, p = 1 / (1 + kBranch)), none past the limit.
inline int num_children(const Node& node, long max_depth) {
  if (node.depth >= max_depth) return 0;
  const double u = static_cast<double>(node.state >> 11) * 0x1.0p-53;  // [0, 1)
  const double p = 1.0 / (1.0 + kBranch);
  const double k = std::floor(std::log1p(-u) / std::log1p(-p));
  return static_cast<int>(std::min(k, static_cast<double>(kMaxChildren)));
}

struct Known {
  long depth;
  std::uint64_t nodes;
};
constexpr Known kKnown[] = {
    {0, 1}, {8, 364956}, {9, 1463238}, {10, 5851189}, {11, 23399024}, {12, 93624712},
};

// The expected node count for depth limit n, or 0 when it is not in kKnown.
inline std::uint64_t expected_nodes(long n) {
  for (const Known& k : kKnown) {
    if (k.depth == n) return k.nodes;
  }
  return 0;
}

}  // namespace uts

#endif  // STEALIO_PERF_COMPARE_UTS_UTS_H_
