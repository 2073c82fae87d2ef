// nqueens(n): count the placements of n non-attacking queens, one task per queen placed.
// The board is three bitmasks (columns and both diagonals taken); a call for row r spawns one
// child per free column of row r.
#ifndef STEALIO_PERF_COMPARE_NQUEENS_NQUEENS_H_
#define STEALIO_PERF_COMPARE_NQUEENS_NQUEENS_H_

#include <cstdint>

namespace nqueens {

constexpr long kDefaultN = 12;
constexpr int kMaxN = 14;  // the largest board in kKnown

struct Known {
  std::uint64_t solutions;
  std::uint64_t placements;  // search-tree nodes below the root: queens placed in total
};
// Index n; counted once with the serial variant (solutions are OEIS A000170).
constexpr Known kKnown[kMaxN + 1] = {
    {0, 0},       {1, 1},         {0, 2},          {0, 5},           {2, 16},
    {10, 53},     {4, 152},       {40, 551},       {92, 2056},       {352, 8393},
    {724, 35538}, {2680, 166925}, {14200, 856188}, {73712, 4674889}, {365596, 27358552},
};

inline bool valid_size(long n) { return n >= 1 && n <= kMaxN; }

// One task per call: the root plus one per placement.
inline std::uint64_t tasks(long n) { return kKnown[n].placements + 1; }

inline bool ok(long n, std::uint64_t solutions) { return solutions == kKnown[n].solutions; }

// The rows still to fill, as the three "taken" masks seen from the next row.
struct Board {
  unsigned cols;
  unsigned diag_left;
  unsigned diag_right;
  unsigned full;  // (1 << n) - 1; cols == full means every row holds a queen

  bool complete() const { return cols == full; }
  unsigned free_squares() const { return ~(cols | diag_left | diag_right) & full; }
  Board place(unsigned bit) const {
    return {cols | bit, ((diag_left | bit) << 1) & full, (diag_right | bit) >> 1, full};
  }
  static Board empty(long n) { return {0, 0, 0, (1u << n) - 1}; }
};

// Calls fn(child_board) for every free square of the next row, in a fixed order.
template <class F>
void for_each_placement(const Board& b, F&& fn) {
  for (unsigned avail = b.free_squares(); avail != 0; avail &= avail - 1)
    fn(b.place(avail & -avail));
}

}  // namespace nqueens

#endif  // STEALIO_PERF_COMPARE_NQUEENS_NQUEENS_H_
