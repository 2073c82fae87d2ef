// matmul: C += A * B for n x n doubles (n a power of two), split recursively into quadrants down
// to kBase x kBase blocks. An inner call runs two phases of four independent quadrant products
// (C_ij += A_i0 B_0j, then C_ij += A_i1 B_1j), each product a task. The entries of A and B are
// small integers, so every entry of C is exact and sampled entries are checked against a dot
// product computed directly.
#ifndef STEALIO_PERF_COMPARE_MATMUL_MATMUL_H_
#define STEALIO_PERF_COMPARE_MATMUL_MATMUL_H_

#include <array>
#include <cstdint>
#include <vector>

namespace matmul {

constexpr long kDefaultN = 1024;
constexpr long kBase = 64;

inline double a_at(long i, long k) { return static_cast<double>((i * 7 + k * 3) % 11 - 5); }
inline double b_at(long k, long j) { return static_cast<double>((k * 5 + j * 2) % 13 - 6); }

inline bool valid_size(long n) { return n >= 1 && (n & (n - 1)) == 0; }

// A square block inside a row-major matrix with leading dimension ld.
struct View {
  double* p;
  long ld;
  View at(long row, long col) const { return {p + row * ld + col, ld}; }
  double* row(long i) const { return p + i * ld; }
};

// Rows are padded by one cache line: with a power-of-two row stride (8 KiB for n = 1024) the
// rows of a 64x64 block fall into a few cache sets, and whether they collide depended on the
// physical pages a run got: the same binary took 0.21 s or 0.38-0.47 s at one thread, run to run,
// for every system.
constexpr long kRowPad = 8;

struct Matrices {
  long n;
  long ld;
  std::vector<double> a, b, c;
  View va() { return {a.data(), ld}; }
  View vb() { return {b.data(), ld}; }
  View vc() { return {c.data(), ld}; }
};

inline Matrices make_input(long n) {
  const long ld = n + kRowPad;
  const auto size = static_cast<std::size_t>(n * ld);
  Matrices m{n, ld, std::vector<double>(size), std::vector<double>(size),
             std::vector<double>(size, 0.0)};
  for (long i = 0; i < n; ++i) {
    for (long j = 0; j < n; ++j) {
      m.a[i * ld + j] = a_at(i, j);
      m.b[i * ld + j] = b_at(i, j);
    }
  }
  return m;
}

// The leaf: C += A * B on an n x n block, i-k-j order so the inner loop vectorises.
inline void kernel(View c, View a, View b, long n) {
  for (long i = 0; i < n; ++i) {
    double* __restrict ci = c.row(i);
    for (long k = 0; k < n; ++k) {
      const double aik = a.row(i)[k];
      const double* __restrict bk = b.row(k);
      for (long j = 0; j < n; ++j) ci[j] += aik * bk[j];
    }
  }
}

struct Product {
  View c, a, b;
};

// The four independent products of `phase` (0 or 1) for blocks of half size h:
// C_ij += A_i,phase * B_phase,j for i, j in {0, 1}.
inline std::array<Product, 4> quadrant_products(View c, View a, View b, long h, int phase) {
  std::array<Product, 4> out;
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) {
      out[2 * i + j] = {c.at(i * h, j * h), a.at(i * h, phase * h), b.at(phase * h, j * h)};
    }
  }
  return out;
}

// Calls in the recursion, root included.
inline std::uint64_t tasks(long n) { return n <= kBase ? 1 : 1 + 8 * tasks(n / 2); }

// Compares 64 pseudo-randomly sampled entries of C, and the corners, with direct dot products.
inline bool check(const Matrices& m) {
  const long n = m.n;
  std::uint64_t x = 12345;
  for (int s = 0; s < 68; ++s) {
    long i = 0, j = 0;
    if (s < 64) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      i = static_cast<long>((x >> 33) % static_cast<std::uint64_t>(n));
      j = static_cast<long>((x >> 13) % static_cast<std::uint64_t>(n));
    } else {
      i = (s & 1) ? n - 1 : 0;
      j = (s & 2) ? n - 1 : 0;
    }
    double want = 0;
    for (long k = 0; k < n; ++k) want += a_at(i, k) * b_at(k, j);
    if (m.c[i * m.ld + j] != want) return false;
  }
  return true;
}

}  // namespace matmul

#endif  // STEALIO_PERF_COMPARE_MATMUL_MATMUL_H_
