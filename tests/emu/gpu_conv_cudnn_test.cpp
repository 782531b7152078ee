// gpu only (xgd_gpu_tests, built where cuDNN is found): our dense conv2d CUDA kernels against
// cuDNN on the dense layer shapes of ResNet18-DeepLabV3+ at 512×512 (apps/xgd_bench/
// conv_cases.h) at batch 2, float: forward, backward-data and backward-weight. cuDNN runs its
// implicit-GEMM forward and deterministic GEMM backward algorithms with FP32 FMA math, so both
// sides are plain FP32 dot products in different orders, held to the conv2d rows of
// tests/emu/tolerance.h (atol = 2·L·eps(float)·max|a|·max|b|).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "apps/xgd_bench/conv_cases.h"
#include "apps/xgd_bench/cudnn_conv.h"
#include "engine/tensor.h"
#include "kernels/cuda/conv.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd::test {
namespace {

namespace gpu = kernels::cuda;
using kernels::cpu::ConvGeom;

std::vector<float> random_vec(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

// Inputs lie in [-1, 1]: max|a|·max|b| <= 1.
Tol dot_tol(const char* op, double length) {
  const double to_float =
      double(std::numeric_limits<float>::epsilon()) / std::numeric_limits<double>::epsilon();
  return parity_tolerance(op, false, length, to_float);
}

void expect_close(const std::vector<float>& ours, const std::vector<float>& ref, const Tol& tol,
                  const std::string& what) {
  Shape s{static_cast<int64_t>(ref.size())};
  EXPECT_ALL_CLOSE(Tensor::from_data(ours.data(), s), Tensor::from_data(ref.data(), s), tol.atol,
                   tol.rtol)
      << what << " (atol " << tol.atol << ")";
}

TEST(GpuConvCudnn, ResNet18DeepLabV3PlusLayers) {
  XGD_REQUIRE_DEVICE();
  constexpr int64_t kBatch = 2;
  uint64_t seed = 1;
  for (const bench::ConvCase& c : bench::kConvCases) {
    const ConvGeom g = kernels::cpu::conv_geom(kBatch, c.C, c.H, c.W, c.K, c.k, c.k, c.s, c.s, c.p,
                                               c.p, c.d, c.d, c.groups);
    if (g.is_depthwise()) continue;  // the depthwise family's kernels, not these
    SCOPED_TRACE(c.name);
    const size_t xn = g.N * g.C * g.H * g.W, wn = g.K * g.Cg() * g.KH * g.KW;
    const size_t yn = g.N * g.K * g.OH * g.OW;
    DeviceBuffer<float> x(random_vec(xn, seed++)), w(random_vec(wn, seed++));
    DeviceBuffer<float> dy(random_vec(yn, seed++));
    DeviceBuffer<float> y(yn), y_ref(yn), dx(xn), dx_ref(xn), dw(wn), dw_ref(wn);
    bench::CudnnConv ref(g, nullptr, bench::CudnnAlgo::Gemm);

    gpu::conv2d_forward<float>(g, x.get(), w.get(), nullptr, y.get(), nullptr);
    ref.forward(x.get(), w.get(), y_ref.get());
    expect_close(y.to_host(), y_ref.to_host(),
                 dot_tol("conv2d_forward", double(g.Cg() * g.KH * g.KW)), "forward");

    gpu::conv2d_backward_data<float>(g, dy.get(), w.get(), dx.get(), nullptr);
    ref.backward_data(dy.get(), w.get(), dx_ref.get());
    expect_close(dx.to_host(), dx_ref.to_host(),
                 dot_tol("conv2d_backward_data", double(g.Kg() * g.KH * g.KW)), "backward data");

    const size_t ws_bytes = gpu::conv2d_backward_weight_workspace_bytes<float>(g);
    DeviceBuffer<unsigned char> ws(ws_bytes);
    gpu::conv2d_backward_weight<float>(g, x.get(), dy.get(), dw.get(), ws.get(), ws_bytes, nullptr);
    ref.backward_weight(x.get(), dy.get(), dw_ref.get());
    expect_close(dw.to_host(), dw_ref.to_host(),
                 dot_tol("conv2d_backward_weight", double(g.N * g.OH * g.OW)), "backward weight");
  }
}

}  // namespace
}  // namespace xgd::test
