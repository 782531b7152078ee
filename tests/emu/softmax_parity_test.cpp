// Softmax CUDA kernels (kernels/cuda/softmax.cu) against the CPU backend
// (kernels/cpu/softmax.cpp) on the same inputs, float and double: the pixel kernel (inner > 1,
// the classes of N×C×H×W) and the row kernel (inner = 1), odd sizes, partial blocks, more and
// fewer classes than a warp's lanes, large logits, grid-stride loops. Label emu and gpu.
// Tolerances: tests/emu/tolerance.h, plus the class sums (class_tol below).
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "engine/tensor.h"
#include "kernels/cpu/softmax.h"
#include "kernels/cuda/api.h"
#include "kernels/cuda/softmax.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd::test {
namespace {

namespace cpu = kernels::cpu;
namespace gpu = kernels::cuda;

// The op's per-element budget plus 2·C ulps for the class sums (both backends add C terms in
// T: (C − 1)·eps each, Higham), relative and absolute in units of `scale` (1 for
// probabilities and gradients of unit upstream, 1 + max|x| for log-domain values, where the
// log-sum-exp's absolute error is carried into every class).
Tol class_tol(const std::string& op, bool f64, int64_t C, double scale) {
  const double eps =
      f64 ? std::numeric_limits<double>::epsilon() : double(std::numeric_limits<float>::epsilon());
  const double k = parity_tolerance(op, f64).rtol / eps + 2.0 * double(C);
  return {k * eps * scale, k * eps};
}

template <class T>
void expect_close(const std::vector<T>& got, const std::vector<T>& ref, Tol tol,
                  const std::string& what) {
  Shape s{static_cast<int64_t>(ref.size())};
  EXPECT_ALL_CLOSE(Tensor::from_data(got.data(), s), Tensor::from_data(ref.data(), s), tol.atol,
                   tol.rtol)
      << what;
}

struct Case {
  int64_t outer, C, inner;
  double range;  // logits uniform in [−range, range]
};
// Pixel kernel: one class, odd sizes, a block ±1 (256 threads), classes of a segmentation
// head (21), large logits (exp(x − max) spans the whole float range). Row kernel (inner = 1):
// fewer classes than lanes, exactly 32, more (lanes loop), many short rows.
constexpr Case kCases[] = {{1, 1, 1, 1},   {3, 5, 7, 3},   {2, 21, 255, 4},  {1, 3, 257, 2},
                           {2, 4, 33, 80}, {1, 1, 300, 5}, {2, 21, 1, 4},    {3, 32, 1, 3},
                           {5, 70, 1, 2},  {41, 3, 1, 60}, {4, 130, 1, 100}, {1, 7, 2, 1}};

template <class T>
void softmax_cases() {
  constexpr bool f64 = std::is_same_v<T, double>;
  uint64_t seed = 1;
  for (const Case& c : kCases) {
    const int64_t n = c.outer * c.C * c.inner;
    auto x = random_vec<T>(n, -c.range, c.range, seed++);
    auto dy = random_vec<T>(n, -1, 1, seed++);
    const std::string what = "(outer, C, inner) = (" + std::to_string(c.outer) + ", " +
                             std::to_string(c.C) + ", " + std::to_string(c.inner) + ")";
    for (bool log : {false, true}) {
      const std::string name = log ? "log_softmax" : "softmax";
      std::vector<T> ref(n), dref(n);
      cpu::softmax_forward<T>(x.data(), ref.data(), c.outer, c.C, c.inner, log);
      DeviceBuffer<T> dx_in(x), dout(n);
      gpu::softmax_forward<T>(dx_in.get(), dout.get(), c.outer, c.C, c.inner, log, nullptr);
      expect_close(dout.to_host(), ref, class_tol(name, f64, c.C, log ? 1 + c.range : 1.0),
                   name + " " + what);
      // Backward from the CPU's y, so only the backward kernels differ.
      cpu::softmax_backward<T>(ref.data(), dy.data(), dref.data(), c.outer, c.C, c.inner, log);
      DeviceBuffer<T> dy_dev(ref), dg(dy), dgrad(n);
      gpu::softmax_backward<T>(dy_dev.get(), dg.get(), dgrad.get(), c.outer, c.C, c.inner, log,
                               nullptr);
      expect_close(dgrad.to_host(), dref, class_tol(name + "_backward", f64, c.C, 1.0),
                   name + "_backward " + what);
    }
  }
}

class SoftmaxParity : public ::testing::Test {
 protected:
  void SetUp() override { gpu::set_max_grid_blocks(0); }
  void TearDown() override { gpu::set_max_grid_blocks(0); }
};

TEST_F(SoftmaxParity, ForwardBackwardFloat) {
  XGD_REQUIRE_DEVICE();
  softmax_cases<float>();
}
TEST_F(SoftmaxParity, ForwardBackwardDouble) {
  XGD_REQUIRE_DEVICE();
  softmax_cases<double>();
}
TEST_F(SoftmaxParity, GridStrideLoopsWithOneBlock) {
  XGD_REQUIRE_DEVICE();
  gpu::set_max_grid_blocks(1);  // one block: threads loop over pixels, warps over rows
  softmax_cases<float>();
}

// Rows of equal logits and a row dominated by one huge logit: exact probabilities 1/C, 1, 0.
TEST_F(SoftmaxParity, ExactCases) {
  XGD_REQUIRE_DEVICE();
  for (int64_t inner : {1, 5}) {
    const int64_t C = 8, n = C * inner;
    std::vector<float> x(n, 3.0f);
    for (int64_t i = 0; i < inner; ++i) x[2 * inner + i] = i % 2 ? 3.0f : 1e4f;
    std::vector<float> ref(n);
    cpu::softmax_forward<float>(x.data(), ref.data(), 1, C, inner, false);
    DeviceBuffer<float> dx(x), dy(n);
    gpu::softmax_forward<float>(dx.get(), dy.get(), 1, C, inner, false, nullptr);
    auto got = dy.to_host();
    for (int64_t j = 0; j < n; ++j) {
      const int64_t c = j / inner, i = j % inner;
      // Even pixels: one logit 1e4 above the rest (exp underflows to 0); odd: all equal.
      const float want = i % 2 == 0 ? (c == 2 ? 1.0f : 0.0f) : 0.125f;
      EXPECT_EQ(got[j], want) << "inner " << inner << " class " << c << " pixel " << i;
      EXPECT_EQ(ref[j], want) << "cpu: inner " << inner << " class " << c << " pixel " << i;
    }
  }
}

}  // namespace
}  // namespace xgd::test
