// The engine's conv2d on Device::CUDA against the same op on the CPU: forward values, the three
// autograd gradients (input, weight, bias), result devices, and a conv feeding a pointwise op so
// the gradient reaching conv2d's backward was itself computed on the device. emu: the emulator
// registered as the CUDA device; gpu: the real backend. Tolerances: tests/emu/tolerance.h.
#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "engine/autograd.h"
#include "engine/ops/conv.h"
#include "engine/ops/pointwise.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd {
void PrintTo(DType t, std::ostream* os);  // engine_pointwise_test.cpp
}  // namespace xgd

namespace xgd::test {
namespace {

Tensor random_tensor(const Shape& shape, DType dtype, uint64_t seed) {
  return test::random_tensor(shape, dtype, -1, 1, seed);
}

struct Result {
  Tensor out;
  std::vector<Tensor> grads;  // x, weight, bias, on the CPU
};

// conv2d (then relu(·)·1.5 when `chain`) on copies of x, w, b on `device`, backward with `grad`.
Result run(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p, bool chain,
           const Tensor& grad, Device device) {
  std::vector<Tensor> in;
  for (const Tensor& t : {x, w, b}) in.push_back(t.to(device).detach().requires_grad_());
  Tensor out = conv2d(in[0], in[1], in[2], p);
  if (chain) out = relu(out) * 1.5;
  EXPECT_EQ(out.device(), device) << "conv2d result on " << device_name(device);
  out.backward(grad.to(device));
  Result r{out.detach().to(Device::CPU), {}};
  for (const Tensor& t : in) {
    EXPECT_EQ(t.grad().device(), device) << "gradient on " << device_name(device);
    r.grads.push_back(t.grad().to(Device::CPU));
  }
  return r;
}

// Dot products of L terms |a·b| <= 1 (inputs in [-1, 1]; the chain's 1.5 on the gradients).
Tol dot_tol(const char* op, bool f64, double length, double scale) {
  const double to_t =
      f64 ? 1.0
          : double(std::numeric_limits<float>::epsilon()) / std::numeric_limits<double>::epsilon();
  return parity_tolerance(op, f64, length, scale * to_t);
}

struct Case {
  Shape x, w;
  Conv2dParams p;
};

class EngineConvCuda : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override {
    XGD_REQUIRE_DEVICE();
    use_cuda_backend();
  }
};

TEST_P(EngineConvCuda, ForwardAndGradientsMatchCpu) {
  const DType dt = GetParam();
  const bool f64 = dt == DType::F64;
  const Case cases[] = {
      {{2, 5, 9, 8}, {7, 5, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 1}},
      {{1, 3, 15, 13}, {6, 3, 7, 7}, {{2, 2}, {3, 3}, {1, 1}, 1}},
      {{2, 4, 10, 11}, {6, 2, 3, 3}, {{1, 2}, {2, 2}, {2, 2}, 2}},
      {{1, 6, 7, 7}, {9, 6, 1, 1}, {{2, 2}, {0, 0}, {1, 1}, 1}},
  };
  uint64_t seed = 1;
  for (const Case& c : cases) {
    for (bool chain : {false, true}) {
      Tensor x = random_tensor(c.x, dt, seed++), w = random_tensor(c.w, dt, seed++);
      Tensor b = random_tensor({c.w[0]}, dt, seed++);
      Tensor probe = conv2d(x, w, b, c.p);
      Tensor grad = random_tensor(probe.shape(), dt, seed++);
      Result cpu = run(x, w, b, c.p, chain, grad, Device::CPU);
      Result dev = run(x, w, b, c.p, chain, grad, Device::CUDA);
      const std::string what = x.str() + " * " + w.str() + (chain ? " -> relu·1.5" : "");
      const int64_t taps = c.w[2] * c.w[3], groups = c.p.groups;
      const double s = chain ? 1.5 : 1.0;
      const int64_t pixels = probe.size(0) * probe.size(2) * probe.size(3);
      // relu(y) with y within atol of the CPU's y: an element within atol of 0 may differ by y.
      Tol f = dot_tol("conv2d_forward", f64, double(c.w[1] * taps), 1.0);
      EXPECT_ALL_CLOSE(dev.out, cpu.out, s * f.atol, f.rtol) << "forward " << what;
      Tol d = dot_tol("conv2d_backward_data", f64, double(c.w[0] / groups * taps), s);
      Tol wt = dot_tol("conv2d_backward_weight", f64, double(pixels), s);
      Tol bt = dot_tol("conv2d_backward_bias", f64, double(pixels), s);
      if (chain) {
        // The relu mask follows each backend's own forward values; none of these random
        // outputs lies within atol of 0, so the masks agree (checked here).
        Tensor y = conv2d(x, w, b, c.p);
        const auto yv = y.to_vector();
        for (double v : yv) ASSERT_GT(std::fabs(v), 4 * f.atol) << "pick another seed: " << what;
      }
      EXPECT_ALL_CLOSE(dev.grads[0], cpu.grads[0], d.atol, d.rtol) << "d input " << what;
      EXPECT_ALL_CLOSE(dev.grads[1], cpu.grads[1], wt.atol, wt.rtol) << "d weight " << what;
      EXPECT_ALL_CLOSE(dev.grads[2], cpu.grads[2], bt.atol, bt.rtol) << "d bias " << what;
    }
  }
}

TEST_P(EngineConvCuda, WithoutBiasAndOnlyWeightGradient) {
  const DType dt = GetParam();
  Tensor x = random_tensor({3, 4, 12, 10}, dt, 7).to(Device::CUDA);
  Tensor w = random_tensor({5, 4, 3, 3}, dt, 8).to(Device::CUDA).requires_grad_();
  Tensor y = conv2d(x, w, Tensor(), {{1, 1}, {1, 1}, {1, 1}, 1});
  ASSERT_EQ(y.device(), Device::CUDA);
  y.backward(Tensor::ones(y.shape(), dt, Device::CUDA));
  Tensor ref_w = w.detach().to(Device::CPU).requires_grad_();
  Tensor ref = conv2d(x.to(Device::CPU), ref_w, Tensor(), {{1, 1}, {1, 1}, {1, 1}, 1});
  ref.backward(Tensor::ones(ref.shape(), dt));
  const bool f64 = dt == DType::F64;
  Tol f = dot_tol("conv2d_forward", f64, 36, 1.0);
  EXPECT_ALL_CLOSE(y.detach().to(Device::CPU), ref.detach(), f.atol, f.rtol);
  Tol wt = dot_tol("conv2d_backward_weight", f64, 3 * 12 * 10, 1.0);
  EXPECT_ALL_CLOSE(w.grad().to(Device::CPU), ref_w.grad(), wt.atol, wt.rtol);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, EngineConvCuda, ::testing::Values(DType::F32, DType::F64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace xgd::test
