// kernels/cpu gemm (float: packed micro-kernel GEMM, every ISA path this CPU runs; double:
// blocked GEMM) against a naive double-precision reference.
//
// Tolerance: the deterministic bound of a length-K dot product in precision u (Higham §3.1),
// |ĉ - c| <= γ·(|alpha|·Σ_k |a_ik||b_kj| + |beta|·|c0_ij|) with γ = (K + 2)·u, doubled for
// slack. It cannot fail for a correct kernel whatever the summation order, and any indexing,
// packing or edge bug gives an O(1) relative error, far above it.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <vector>

#include "engine/error.h"
#include "kernels/cpu/gemm.h"

namespace xgd {
namespace {

using kernels::cpu::gemm;
using kernels::cpu::GemmIsa;

constexpr double kSentinel = 12345.0;  // fills the ld padding of C: gemm must not touch it

template <class T>
std::vector<T> random_vec(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> d(-1.0, 1.0);
  std::vector<T> v(n);
  for (auto& x : v) x = T(d(rng));
  return v;
}

struct Case {
  bool ta, tb;
  int64_t M, N, K;
  double alpha = 1.0, beta = 0.0;
  int64_t pad = 0;     // lda, ldb, ldc exceed the stored row length by pad
  bool nan_c = false;  // C starts as NaN (only meaningful with beta = 0)
};

std::string describe(const Case& c) {
  std::ostringstream s;
  s << "ta=" << c.ta << " tb=" << c.tb << " M=" << c.M << " N=" << c.N << " K=" << c.K
    << " alpha=" << c.alpha << " beta=" << c.beta << " pad=" << c.pad << " nan_c=" << c.nan_c;
  return s.str();
}

// Runs gemm<T> on one case and compares with the naive double reference.
template <class T>
::testing::AssertionResult check(const Case& c, uint32_t seed = 7) {
  // Stored shapes: A (M, K) or (K, M) when ta; B (K, N) or (N, K) when tb; C (M, N).
  const int64_t a_rows = c.ta ? c.K : c.M, a_cols = c.ta ? c.M : c.K;
  const int64_t b_rows = c.tb ? c.N : c.K, b_cols = c.tb ? c.K : c.N;
  const int64_t lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.N + c.pad;
  auto A = random_vec<T>(static_cast<size_t>(std::max<int64_t>(a_rows * lda, 1)), seed);
  auto B = random_vec<T>(static_cast<size_t>(std::max<int64_t>(b_rows * ldb, 1)), seed + 1);
  auto C = random_vec<T>(static_cast<size_t>(std::max<int64_t>(c.M * ldc, 1)), seed + 2);
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < ldc; ++j) {
      T& x = C[i * ldc + j];
      if (j >= c.N)
        x = T(kSentinel);
      else if (c.nan_c)
        x = std::numeric_limits<T>::quiet_NaN();
    }
  const std::vector<T> C0 = C;
  auto a = [&](int64_t i, int64_t k) { return double(c.ta ? A[k * lda + i] : A[i * lda + k]); };
  auto b = [&](int64_t k, int64_t j) { return double(c.tb ? B[j * ldb + k] : B[k * ldb + j]); };

  gemm<T>(c.ta, c.tb, c.M, c.N, c.K, T(c.alpha), A.data(), lda, B.data(), ldb, T(c.beta), C.data(),
          ldc);

  const double u = std::numeric_limits<T>::epsilon() / 2;
  const double gamma = 2.0 * double(c.K + 2) * u;
  int bad = 0;
  std::ostringstream msg;
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < ldc; ++j) {
      const double got = double(C[i * ldc + j]);
      if (j >= c.N) {
        if (got != kSentinel && bad++ < 5)
          msg << "\n  padding C[" << i << "][" << j << "] overwritten with " << got;
        continue;
      }
      double dot = 0, abs_dot = 0;
      for (int64_t k = 0; k < c.K; ++k)
        dot += a(i, k) * b(k, j), abs_dot += std::fabs(a(i, k) * b(k, j));
      const double c0 = double(C0[i * ldc + j]);
      const double ref = c.alpha * dot + (c.beta == 0.0 ? 0.0 : c.beta * c0);
      const double tol =
          gamma * (std::fabs(c.alpha) * abs_dot + (c.beta == 0.0 ? 0.0 : std::fabs(c.beta * c0))) +
          std::numeric_limits<T>::denorm_min();
      if (!(std::fabs(got - ref) <= tol) && bad++ < 5)
        msg << "\n  C[" << i << "][" << j << "] = " << got << ", expected " << ref << " (tol "
            << tol << ")";
    }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << describe(c) << ": " << bad << " wrong elements (isa "
         << kernels::cpu::gemm_isa_name(kernels::cpu::sgemm_isa()) << ")" << msg.str();
}

// Shapes straddling every block size of every micro-kernel (AVX-512 MR×NR = 14×32, AVX2 6×16,
// generic 4×16; KC 384/256, NC 480/512, MC 1680/1536/512), degenerate 1×N, M×1, K=1, and sizes
// big enough (> 2 MFLOP) to split C across threads.
std::vector<Case> shape_cases() {
  const int64_t shapes[][3] = {
      {1, 1, 1},       {1, 37, 5},     {29, 1, 7},     {13, 17, 1},    {14, 32, 8},
      {15, 33, 9},     {6, 16, 3},     {7, 17, 4},     {5, 15, 2},     {3, 100, 383},
      {17, 31, 384},   {9, 47, 385},   {31, 65, 769},  {12, 479, 13},  {5, 481, 31},
      {3, 961, 10},    {513, 20, 6},   {1537, 9, 3},   {1681, 33, 5},  {100, 100, 100},
      {127, 129, 131}, {61, 1000, 97}, {250, 70, 300}, {45, 530, 400},
  };
  std::vector<Case> cases;
  for (auto& s : shapes)
    for (int t = 0; t < 4; ++t) cases.push_back({bool(t & 1), bool(t & 2), s[0], s[1], s[2]});
  return cases;
}

class GemmFloat : public ::testing::TestWithParam<GemmIsa> {
 protected:
  void SetUp() override {
    GemmIsa isa = GetParam();
    if ((isa == GemmIsa::Avx512 && !__builtin_cpu_supports("avx512f")) ||
        (isa == GemmIsa::Avx2 && !__builtin_cpu_supports("avx2")))
      GTEST_SKIP() << "this CPU lacks " << kernels::cpu::gemm_isa_name(isa);
    kernels::cpu::set_sgemm_isa(isa);
    ASSERT_EQ(kernels::cpu::sgemm_isa(), isa);
  }
  void TearDown() override { kernels::cpu::set_sgemm_isa(GemmIsa::Auto); }
};

TEST_P(GemmFloat, ShapesAndTransposes) {
  for (const Case& c : shape_cases()) EXPECT_TRUE(check<float>(c));
}

TEST_P(GemmFloat, AlphaBetaAndLeadingDims) {
  for (int t = 0; t < 4; ++t) {
    bool ta = t & 1, tb = t & 2;
    EXPECT_TRUE(check<float>({ta, tb, 23, 45, 67, 0.5, 0.0, 3}));
    EXPECT_TRUE(check<float>({ta, tb, 23, 45, 67, -1.5, 1.0, 5}));
    EXPECT_TRUE(check<float>({ta, tb, 23, 45, 67, 2.0, -0.75, 1}));
    EXPECT_TRUE(check<float>({ta, tb, 130, 140, 400, 0.25, 2.0, 7}));  // two threads, two KC steps
    EXPECT_TRUE(check<float>({ta, tb, 19, 33, 5, 0.0, 0.5, 2}));       // alpha 0: C = beta·C
    EXPECT_TRUE(check<float>({ta, tb, 19, 33, 0, 1.0, 3.0, 2}));       // K 0: C = beta·C
  }
}

TEST_P(GemmFloat, BetaZeroIgnoresNaN) {
  for (int t = 0; t < 4; ++t) {
    bool ta = t & 1, tb = t & 2;
    EXPECT_TRUE(check<float>({ta, tb, 15, 33, 9, 1.0, 0.0, 2, true}));
    EXPECT_TRUE(check<float>({ta, tb, 150, 130, 500, 1.0, 0.0, 0, true}));  // threads, 2 KC steps
    EXPECT_TRUE(check<float>({ta, tb, 15, 33, 9, 0.0, 0.0, 1, true}));      // alpha 0 too
    EXPECT_TRUE(check<float>({ta, tb, 15, 33, 0, 1.0, 0.0, 1, true}));      // K 0
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, GemmFloat,
                         ::testing::Values(GemmIsa::Avx512, GemmIsa::Avx2, GemmIsa::Generic),
                         [](const auto& info) { return kernels::cpu::gemm_isa_name(info.param); });

TEST(GemmDouble, ShapesTransposesAlphaBeta) {
  for (const Case& c : shape_cases()) EXPECT_TRUE(check<double>(c));
  for (int t = 0; t < 4; ++t) {
    bool ta = t & 1, tb = t & 2;
    EXPECT_TRUE(check<double>({ta, tb, 23, 45, 300, -1.5, 0.5, 3}));
    EXPECT_TRUE(check<double>({ta, tb, 9, 1100, 7, 1.0, 1.0, 2}));  // two N blocks
    EXPECT_TRUE(check<double>({ta, tb, 15, 33, 9, 1.0, 0.0, 2, true}));
    EXPECT_TRUE(check<double>({ta, tb, 15, 33, 9, 0.0, 0.0, 0, true}));
    EXPECT_TRUE(check<double>({ta, tb, 15, 33, 0, 1.0, 0.0, 0, true}));
  }
}

TEST(Gemm, EmptyOutputTouchesNothing) {
  float c = 7.0f;
  gemm<float>(false, false, 0, 5, 3, 1.0f, nullptr, 3, nullptr, 5, 0.0f, &c, 5);
  gemm<float>(false, false, 5, 0, 3, 1.0f, nullptr, 3, nullptr, 1, 0.0f, &c, 1);
  EXPECT_EQ(c, 7.0f);
}

// The conv code calls gemm per image from a parallel loop: gemm must then run on the calling
// thread (no nested team) and give the same answer.
TEST(Gemm, InsideParallelRegion) {
  const int64_t M = 70, N = 90, K = 400;  // > 2 MFLOP: would split across threads outside
  auto A = random_vec<float>(M * K, 1), B = random_vec<float>(K * N, 2);
  std::vector<float> expected(M * N);
  gemm<float>(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, expected.data(), N);
  const int jobs = 6;
  std::vector<std::vector<float>> out(jobs, std::vector<float>(M * N, -1.0f));
#pragma omp parallel for num_threads(2)
  for (int j = 0; j < jobs; ++j) {
    gemm<float>(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, out[j].data(), N);
  }
  for (int j = 0; j < jobs; ++j) {
    // Same blocking, same summation order per element, single- or multi-threaded: identical.
    for (int64_t i = 0; i < M * N; ++i)
      ASSERT_EQ(out[j][i], expected[i]) << "job " << j << " i " << i;
  }
  // Doubles too (the gradchecks may run inside parallel code).
  auto Ad = random_vec<double>(M * K, 3), Bd = random_vec<double>(K * N, 4);
  std::vector<double> ed(M * N), od(M * N);
  gemm<double>(true, true, M, N, K, 1.0, Ad.data(), M, Bd.data(), K, 0.0, ed.data(), N);
#pragma omp parallel num_threads(2)
  {
#pragma omp single
    gemm<double>(true, true, M, N, K, 1.0, Ad.data(), M, Bd.data(), K, 0.0, od.data(), N);
  }
  for (int64_t i = 0; i < M * N; ++i) ASSERT_EQ(od[i], ed[i]) << i;
}

TEST(Gemm, IsaNames) {
  EXPECT_STREQ(kernels::cpu::gemm_isa_name(GemmIsa::Avx512), "avx512");
  EXPECT_STREQ(kernels::cpu::gemm_isa_name(GemmIsa::Generic), "generic");
  kernels::cpu::set_sgemm_isa(GemmIsa::Auto);
  EXPECT_NE(kernels::cpu::sgemm_isa(), GemmIsa::Auto);  // Auto resolves to a real kernel
}

}  // namespace
}  // namespace xgd
