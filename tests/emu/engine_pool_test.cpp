// The engine's pooling ops and depthwise conv2d on Device::CUDA against the same ops on the
// CPU, through autograd: forward values, input (and weight, bias) gradients, result devices.
// emu: the emulator registered as the CUDA device; gpu: the real backend.
// Tolerances: tests/emu/tolerance.h.
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <random>

#include "engine/autograd.h"
#include "engine/ops/conv.h"
#include "engine/ops/pointwise.h"
#include "engine/ops/pool.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd::test {
namespace {

using Fn = OpFn;

// The tolerance of `op` over sums of `terms` terms of magnitude <= max_term; accumulate_in_t:
// both backends sum in T (the depthwise rows), so the table's atol is taken at T's epsilon.
Tol tolerance(const std::string& op, bool f64, double terms, double max_term,
              bool accumulate_in_t) {
  const double eps_t =
      f64 ? std::numeric_limits<double>::epsilon() : double(std::numeric_limits<float>::epsilon());
  const double scale = accumulate_in_t ? eps_t / std::numeric_limits<double>::epsilon() : 1.0;
  return parity_tolerance(op, f64, terms, max_term * scale);
}

struct Check {
  const char* op;
  Tol out;
  std::vector<Tol> grads;  // per input
};

void check(const Check& c, const Fn& f, const std::vector<Tensor>& inputs) {
  Tensor probe = f(inputs);
  Tensor grad = random_tensor(probe.shape(), probe.dtype(), -1, 1, 99);
  OpResult h = run_op(f, inputs, grad, Device::CPU);
  OpResult d = run_op(f, inputs, grad, Device::CUDA);
  EXPECT_ALL_CLOSE(d.out, h.out, c.out.atol, c.out.rtol) << c.op << " forward, " << probe.str();
  for (size_t i = 0; i < inputs.size(); ++i)
    EXPECT_ALL_CLOSE(d.grads[i], h.grads[i], c.grads[i].atol, c.grads[i].rtol)
        << c.op << " gradient of input " << i << ", " << inputs[i].str();
}

class EnginePoolCuda : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override {
    XGD_REQUIRE_DEVICE();
    use_cuda_backend();
  }
};

TEST_P(EnginePoolCuda, MaxAndAvgPoolWithGradients) {
  const DType dt = GetParam();
  const bool f64 = dt == DType::F64;
  Tensor x = random_tensor({2, 3, 17, 18}, dt, -2, 2, 1);
  Pool2dParams stem;  // ResNet's stem pool
  stem.kernel = {3, 3}, stem.stride = {2, 2}, stem.padding = {1, 1};
  Pool2dParams ceil3;
  ceil3.kernel = {3, 2}, ceil3.stride = {2, 1}, ceil3.padding = {1, 1}, ceil3.ceil_mode = true;
  ceil3.count_include_pad = false;
  for (const Pool2dParams& p : {stem, ceil3, Pool2dParams{}}) {
    const Check mx{"max_pool2d",
                   parity_tolerance("max_pool2d", f64),
                   {parity_tolerance("max_pool2d_backward", f64)}};
    check(mx, [p](auto& v) { return max_pool2d(v[0], p); }, {x});
    const Check av{"avg_pool2d",
                   parity_tolerance("avg_pool2d", f64),
                   {parity_tolerance("avg_pool2d_backward", f64)}};
    check(av, [p](auto& v) { return avg_pool2d(v[0], p); }, {x});
  }
}

TEST_P(EnginePoolCuda, AdaptiveAvgPoolBinsWithGradients) {
  const DType dt = GetParam();
  const bool f64 = dt == DType::F64;
  Tensor x = random_tensor({2, 4, 13, 15}, dt, -2, 2, 2);
  for (int64_t bin : {1, 2, 3, 6}) {  // PSPNet's pyramid; 1 is also ASPP's image pool
    const Check c{"adaptive_avg_pool2d",
                  parity_tolerance("adaptive_avg_pool2d", f64, 13 * 15, 2.0),
                  {parity_tolerance("adaptive_avg_pool2d_backward", f64)}};
    check(c, [bin](auto& v) { return adaptive_avg_pool2d(v[0], bin, bin); }, {x});
  }
}

// Depthwise conv2d through autograd: x, weight and bias gradients on the device.
TEST_P(EnginePoolCuda, DepthwiseConv2dWithGradients) {
  const DType dt = GetParam();
  const bool f64 = dt == DType::F64;
  struct Case {
    Shape x;
    int64_t m, k, stride, pad, dil;
  };
  const Case cases[] = {{{2, 4, 13, 14}, 1, 3, 1, 1, 1},
                        {{3, 3, 17, 15}, 1, 3, 2, 1, 1},
                        {{1, 2, 19, 19}, 1, 3, 1, 12, 12},
                        {{2, 3, 11, 9}, 2, 3, 1, 1, 1}};
  uint64_t seed = 10;
  for (const Case& c : cases) {
    const int64_t C = c.x[1], K = C * c.m;
    Tensor x = random_tensor(c.x, dt, -1, 1, seed++);
    Tensor w = random_tensor({K, 1, c.k, c.k}, dt, -1, 1, seed++);
    Tensor b = random_tensor({K}, dt, -1, 1, seed++);
    Conv2dParams p;
    p.stride = {c.stride, c.stride}, p.padding = {c.pad, c.pad}, p.dilation = {c.dil, c.dil};
    p.groups = C;
    const int64_t OH = (c.x[2] + 2 * c.pad - c.dil * (c.k - 1) - 1) / c.stride + 1;
    const int64_t OW = (c.x[3] + 2 * c.pad - c.dil * (c.k - 1) - 1) / c.stride + 1;
    const double kk = double(c.k * c.k), per_channel = double(c.x[0] * OH * OW);
    // Terms <= 1: inputs, weights, bias and the output gradient in [-1, 1].
    const Check chk{"depthwise conv2d",
                    tolerance("depthwise_forward", f64, kk + 1, 1.0, true),
                    {tolerance("depthwise_backward_data", f64, c.m * kk, 1.0, true),
                     tolerance("depthwise_backward_weight", f64, per_channel, 1.0, true),
                     // The CPU sums the bias gradient in T, the GPU (sum_to) in double.
                     tolerance("depthwise_backward_weight", f64, per_channel, 1.0, true)}};
    check(chk, [p](auto& v) { return conv2d(v[0], v[1], v[2], p); }, {x, w, b});
  }
}

// A MobileNetV2-like chain on the device: depthwise conv, ReLU6, max pool and PSPNet-like
// pools; y feeds two branches (its gradients accumulate on the device), the 1×1 branch is
// broadcast (its gradient comes through sum_to).
TEST_P(EnginePoolCuda, DepthwiseChainAccumulatesOnDevice) {
  const DType dt = GetParam();
  const bool f64 = dt == DType::F64;
  Tensor x = random_tensor({2, 3, 15, 16}, dt, -1, 1, 40);
  Tensor w = random_tensor({6, 1, 3, 3}, dt, -1, 1, 41);
  Conv2dParams p;
  p.padding = {1, 1}, p.groups = 3;
  Pool2dParams mp;
  mp.kernel = {3, 3}, mp.stride = {2, 2}, mp.padding = {1, 1};
  // The conv's sums dominate; the ×3 before ReLU6 scales terms to <= 3, the two branches'
  // gradients (shares <= 1 each) to <= 2·3 per dy term. The pools add exact or 1-ulp steps.
  const Tol t = tolerance("depthwise_forward", f64, 2 * (9 + 1), 3.0, true);
  const Tol gx = tolerance("depthwise_backward_data", f64, 2 * 9, 6.0, true);
  const Tol gw = tolerance("depthwise_backward_weight", f64, 2 * 15 * 16, 6.0, true);
  check({"depthwise chain", t, {gx, gw}},
        [p, mp](auto& v) {
          Tensor y = relu6(conv2d(v[0], v[1], Tensor(), p) * 3.0);
          return adaptive_avg_pool2d(max_pool2d(y, mp), 1, 1) + adaptive_avg_pool2d(y, 2, 2);
        },
        {x, w});
}

INSTANTIATE_TEST_SUITE_P(Dtypes, EnginePoolCuda, ::testing::Values(DType::F32, DType::F64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace xgd::test
