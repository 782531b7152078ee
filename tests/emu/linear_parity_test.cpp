// GEMM and bias-sum CUDA kernels (kernels/cuda/linear.cu) against the CPU backend
// (kernels/cpu/gemm.cpp, kernels/cpu/linear.cpp), float and double: all four transpose
// variants, partial 64×64 tiles and K steps (odd M, N, K), K = 0, K smaller than a step,
// batched products at element strides (EigenGradCAM's N×C×C · N×C×P), padded leading
// dimensions, alpha/beta/bias epilogues; each also with a 3-block grid (set_max_grid_blocks).
// Tolerances: tests/emu/tolerance.h ("gemm": atol = rtol · K · max|A| · max|B|). Labels emu, gpu.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "engine/tensor.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/linear.h"
#include "kernels/cuda/linear.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd::test {
namespace {

namespace cpu = kernels::cpu;
namespace gpu = kernels::cuda;

template <class T>
void expect_close(const std::vector<T>& got, const std::vector<T>& ref, double atol, double rtol,
                  const std::string& what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  Shape s{static_cast<int64_t>(ref.size())};
  EXPECT_ALL_CLOSE(Tensor::from_data(got.data(), s), Tensor::from_data(ref.data(), s), atol, rtol)
      << what;
}

class LinearParity : public ::testing::TestWithParam<unsigned> {
 protected:
  void SetUp() override { gpu::set_max_grid_blocks(GetParam()); }
  void TearDown() override { gpu::set_max_grid_blocks(0); }
};

struct GemmCase {
  int64_t batch, M, N, K;
  int64_t pad;  // extra elements at the end of each stored row (lda/ldb/ldc > the row)
};

template <class T>
void gemm_cases() {
  const GemmCase cases[] = {{1, 1, 1, 1, 0},    {1, 7, 5, 3, 0},     {1, 64, 64, 16, 0},
                            {1, 65, 63, 17, 0}, {1, 130, 70, 50, 3}, {3, 9, 9, 33, 0},
                            {2, 5, 21, 5, 1},   {1, 4, 6, 0, 0},     {2, 1, 130, 7, 0}};
  uint64_t seed = 1;
  for (const GemmCase& c : cases) {
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      // Stored shapes: A is M×K (K×M when transposed), B is K×N (N×K), C is M×N.
      const int64_t a_rows = ta ? c.K : c.M, a_cols = ta ? c.M : c.K;
      const int64_t b_rows = tb ? c.N : c.K, b_cols = tb ? c.K : c.N;
      const int64_t lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.N + c.pad;
      const int64_t sa = a_rows * lda, sb = b_rows * ldb, sc = c.M * ldc;
      auto A = random_vec<T>(std::max<int64_t>(c.batch * sa, 1), -1, 1, seed++);
      auto B = random_vec<T>(std::max<int64_t>(c.batch * sb, 1), -1, 1, seed++);
      auto C0 = random_vec<T>(c.batch * sc, -1, 1, seed++);
      auto bias = random_vec<T>(c.N, -1, 1, seed++);
      struct Epilogue {
        T alpha, beta;
        bool bias;
      };
      for (Epilogue e : {Epilogue{1, 0, false}, Epilogue{1, 0, true}, Epilogue{T(0.5), 2, false}}) {
        // CPU: bias as a first term (fill_rows, beta 1), as engine/ops/linear.cpp does.
        std::vector<T> ref = C0;
        for (int64_t b = 0; b < c.batch; ++b) {
          T beta = e.beta;
          T* Cb = ref.data() + b * sc;
          if (e.bias) {
            for (int64_t m = 0; m < c.M; ++m)
              for (int64_t n = 0; n < c.N; ++n) Cb[m * ldc + n] = bias[n];
            beta = 1;
          }
          cpu::gemm<T>(ta, tb, c.M, c.N, c.K, e.alpha, A.data() + b * sa, lda, B.data() + b * sb,
                       ldb, beta, Cb, ldc);
        }
        DeviceBuffer<T> dA(A), dB(B), dC(C0), dbias(bias);
        gpu::gemm<T>(ta, tb, c.batch, c.M, c.N, c.K, e.alpha, dA.get(), lda, sa, dB.get(), ldb, sb,
                     e.bias ? dbias.get() : nullptr, e.beta, dC.get(), ldc, sc, nullptr);
        std::string what = "gemm batch M N K pad:";
        for (int64_t v : {c.batch, c.M, c.N, c.K, c.pad}) {
          what += " ";
          what += std::to_string(v);
        }
        what += ta ? " Aᵀ" : " A";
        what += tb ? " Bᵀ" : " B";
        what += " alpha ";
        what += std::to_string(double(e.alpha));
        what += " beta ";
        what += std::to_string(double(e.beta));
        what += e.bias ? " bias" : "";
        Tol tol = parity_tolerance("gemm", std::is_same_v<T, double>);
        // |A|, |B| <= 1 and the epilogue's terms (|C0|, |bias| <= 1) add a few roundings.
        const double atol = tol.rtol * (double(c.K) * std::abs(double(e.alpha)) + 4);
        // The padding between rows (C0's values) must be left alone: compared whole.
        expect_close(dC.to_host(), ref, atol, tol.rtol, what);
      }
    }
  }
}
TEST_P(LinearParity, GemmTransposesTilesBatchesEpilogues) {
  XGD_REQUIRE_DEVICE();
  gemm_cases<float>();
  gemm_cases<double>();
}

template <class T>
void sum_rows_cases() {
  const std::pair<int64_t, int64_t> cases[] = {{1, 1}, {7, 5}, {300, 3}, {9, 70}, {0, 4}};
  uint64_t seed = 50;
  for (auto [rows, cols] : cases) {
    auto dy = random_vec<T>(std::max<int64_t>(rows * cols, 1), -1, 1, seed++);
    std::vector<T> ref(cols);
    cpu::sum_rows<T>(dy.data(), ref.data(), rows, cols);
    DeviceBuffer<T> ddy(dy), out(cols);
    gpu::sum_rows<T>(ddy.get(), out.get(), rows, cols, nullptr);
    Tol tol = parity_tolerance("sum_rows", std::is_same_v<T, double>);
    std::string what = "sum_rows ";
    what += std::to_string(rows);
    what += "x";
    what += std::to_string(cols);
    expect_close(out.to_host(), ref, tol.rtol * double(rows), tol.rtol, what);
  }
}
TEST_P(LinearParity, SumRows) {
  XGD_REQUIRE_DEVICE();
  sum_rows_cases<float>();
  sum_rows_cases<double>();
}

INSTANTIATE_TEST_SUITE_P(Grid, LinearParity, ::testing::Values(0u, 3u), [](const auto& info) {
  return "max_blocks_" + std::to_string(info.param);
});

}  // namespace
}  // namespace xgd::test
