// Depthwise conv2d CUDA kernels (kernels/cuda/conv_depthwise.cu) against the CPU backend
// (kernels/cpu/conv_depthwise.cpp): forward (+bias), data and weight gradients, float and
// double, over MobileNetV2 (3×3 stride 1/2), separable ASPP (dilation 12/24/36), channel
// multipliers 2 and 3, odd sizes, partial tiles, the shared-memory and direct paths, the split
// weight reduction, and grid-stride loops over few blocks. Tolerances: tests/emu/tolerance.h.
// Label emu (the kernels under the CPU execution of CUDA) and gpu (the same on a device).
#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <random>
#include <string>

#include "engine/tensor.h"
#include "kernels/cpu/conv.h"
#include "kernels/cuda/conv_depthwise.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd::test {
namespace {

namespace cpu = kernels::cpu;
namespace gpu = kernels::cuda;
using cpu::ConvGeom;

// The depthwise sums accumulate in T on both backends: the table's reduction atol
// (2 · terms · eps(double) · max_abs) taken at T's epsilon (tests/emu/tolerance.h).
template <class T>
void expect_parity(const std::string& op, const std::vector<T>& device, const std::vector<T>& host,
                   const std::string& what, double terms, double max_term) {
  const double scale =
      double(std::numeric_limits<T>::epsilon()) / std::numeric_limits<double>::epsilon();
  Tol tol = parity_tolerance(op, std::is_same_v<T, double>, terms, max_term * scale);
  Shape s{static_cast<int64_t>(host.size())};
  EXPECT_ALL_CLOSE(Tensor::from_data(device.data(), s), Tensor::from_data(host.data(), s), tol.atol,
                   tol.rtol)
      << op << " " << what;
}

struct Case {
  int64_t N, C, H, W, m, KH, KW, sh, sw, ph, pw, dh, dw;
  bool bias;
  const char* name;
};

// Sizes chosen around the 16×32 tiles: odd, partial tiles, several tiles per plane.
const Case kCases[] = {
    {1, 5, 17, 19, 1, 3, 3, 1, 1, 1, 1, 1, 1, true, "mobilenet 3x3 s1"},
    {3, 2, 33, 35, 1, 3, 3, 2, 2, 1, 1, 1, 1, false, "mobilenet 3x3 s2, batch 3"},
    {1, 3, 29, 30, 1, 3, 3, 1, 1, 12, 12, 12, 12, false, "aspp dilation 12"},
    {1, 2, 27, 27, 1, 3, 3, 1, 1, 24, 24, 24, 24, true, "aspp dilation 24"},
    {1, 2, 20, 21, 1, 3, 3, 1, 1, 36, 36, 36, 36, false, "aspp dilation 36"},
    {2, 2, 21, 36, 2, 5, 5, 1, 1, 2, 2, 1, 1, true, "5x5 multiplier 2"},
    {3, 2, 23, 37, 3, 3, 1, 2, 1, 1, 0, 2, 1, true, "3x1 s(2,1) d(2,1) multiplier 3"},
    {1, 2, 15, 16, 1, 7, 7, 2, 2, 3, 3, 1, 1, false, "7x7 s2 (49 taps)"},
    {3, 2, 40, 40, 1, 3, 3, 1, 1, 1, 1, 1, 1, false, "batch 3, split weight reduction"},
    {2, 3, 10, 9, 1, 3, 3, 1, 1, 0, 0, 1, 1, true, "3x3 no padding"},
    {1, 4, 6, 7, 2, 1, 1, 1, 1, 0, 0, 1, 1, true, "1x1 multiplier 2"},
    {1, 3, 9, 11, 1, 3, 3, 3, 2, 1, 0, 2, 3, false, "stride 3/2 dilation 2/3"},
};

template <class T>
void run_case(const Case& c, uint64_t seed) {
  const ConvGeom g = cpu::conv_geom(c.N, c.C, c.H, c.W, c.C * c.m, c.KH, c.KW, c.sh, c.sw, c.ph,
                                    c.pw, c.dh, c.dw, c.C);
  ASSERT_TRUE(g.is_depthwise() && g.OH > 0 && g.OW > 0) << c.name;
  const int64_t KK = g.KH * g.KW, nx = g.N * g.C * g.H * g.W, ny = g.N * g.K * g.OH * g.OW;
  auto x = random_vec<T>(nx, -1, 1, seed);
  auto w = random_vec<T>(g.K * KK, -1, 1, seed + 1);
  auto b = random_vec<T>(g.K, -1, 1, seed + 2);
  auto dy = random_vec<T>(ny, -1, 1, seed + 3);
  const std::string what = std::string(c.name) + (sizeof(T) == 8 ? " f64" : " f32");

  std::vector<T> y(ny), dx(nx), dw(g.K * KK);
  cpu::depthwise_forward<T>(g, x.data(), w.data(), c.bias ? b.data() : nullptr, y.data());
  cpu::depthwise_backward_data<T>(g, dy.data(), w.data(), dx.data());
  cpu::depthwise_backward_weight<T>(g, x.data(), dy.data(), dw.data());

  DeviceBuffer<T> dx_(x), dw_(w), db_(b), ddy(dy), dout(ny), ddx(nx), ddw(g.K * KK);
  const size_t n_ws = gpu::depthwise_backward_weight_workspace(g);
  DeviceBuffer<T> work(n_ws);
  gpu::depthwise_forward<T>(g, dx_.get(), dw_.get(), c.bias ? db_.get() : nullptr, dout.get(),
                            nullptr);
  gpu::depthwise_backward_data<T>(g, ddy.get(), dw_.get(), ddx.get(), nullptr);
  gpu::depthwise_backward_weight<T>(g, dx_.get(), ddy.get(), ddw.get(), n_ws ? work.get() : nullptr,
                                    nullptr);
  // Terms of magnitude <= 1 (inputs and weights in [-1, 1]).
  expect_parity("depthwise_forward", dout.to_host(), y, what, double(KK + 1), 1.0);
  expect_parity("depthwise_backward_data", ddx.to_host(), dx, what, double(c.m * KK), 1.0);
  expect_parity("depthwise_backward_weight", ddw.to_host(), dw, what, double(g.N * g.OH * g.OW),
                1.0);
}

class DepthwiseParity : public ::testing::Test {
 protected:
  void SetUp() override { gpu::set_max_grid_blocks(0); }
  void TearDown() override { gpu::set_max_grid_blocks(0); }
};

TEST_F(DepthwiseParity, ForwardAndGradients) {
  XGD_REQUIRE_DEVICE();
  uint64_t seed = 1;
  for (const Case& c : kCases) {
    run_case<float>(c, seed);
    run_case<double>(c, seed);
    seed += 10;
  }
}

TEST_F(DepthwiseParity, SplitWeightReductionUsesItsWorkspace) {
  // The 3·40·40 terms per channel are split into slices (the geometry decides, not the GPU);
  // the 17·18·3 of the stride-2 case are not.
  const ConvGeom split = cpu::conv_geom(3, 2, 40, 40, 2, 3, 3, 1, 1, 1, 1, 1, 1, 2);
  const ConvGeom whole = cpu::conv_geom(3, 2, 33, 35, 2, 3, 3, 2, 2, 1, 1, 1, 1, 2);
  EXPECT_GT(gpu::depthwise_backward_weight_workspace(split), 0u);
  EXPECT_EQ(gpu::depthwise_backward_weight_workspace(whole), 0u);
}

TEST_F(DepthwiseParity, GridStrideLoopsWithFewBlocks) {
  XGD_REQUIRE_DEVICE();
  // Two blocks loop over every tile, (channel, slice) item and output.
  gpu::set_max_grid_blocks(2);
  for (int i : {1, 4, 5, 8}) {  // s2 batch 3, d36 (direct path in double), 5x5 m2, split
    run_case<float>(kCases[i], 500 + i);
    run_case<double>(kCases[i], 500 + i);
  }
}

TEST_F(DepthwiseParity, RerunsAreBitIdentical) {
  XGD_REQUIRE_DEVICE();
  const Case& c = kCases[8];  // the split weight reduction
  const ConvGeom g = cpu::conv_geom(c.N, c.C, c.H, c.W, c.C * c.m, c.KH, c.KW, c.sh, c.sw, c.ph,
                                    c.pw, c.dh, c.dw, c.C);
  auto x = random_vec<float>(g.N * g.C * g.H * g.W, -1, 1, 7);
  auto dy = random_vec<float>(g.N * g.K * g.OH * g.OW, -1, 1, 8);
  DeviceBuffer<float> dx_(x), ddy(dy), work(gpu::depthwise_backward_weight_workspace(g));
  std::vector<float> first;
  for (int run = 0; run < 2; ++run) {
    DeviceBuffer<float> dw(g.K * g.KH * g.KW);
    gpu::depthwise_backward_weight<float>(g, dx_.get(), ddy.get(), dw.get(), work.get(), nullptr);
    if (run == 0)
      first = dw.to_host();
    else
      EXPECT_EQ(dw.to_host(), first);
  }
}

}  // namespace
}  // namespace xgd::test
