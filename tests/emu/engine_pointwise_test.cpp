// The engine's pointwise ops on Device::CUDA against the same ops on the CPU: forward values,
// autograd gradients (through sum_to for broadcast inputs), result devices, device errors.
// emu: the emulator registered as the CUDA device (engine dispatch, autograd on device, copies
// all exercised without a GPU); gpu: the real backend. Tolerances: tests/emu/tolerance.h.
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "engine/autograd.h"
#include "engine/ops/pointwise.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd {
void PrintTo(DType t, std::ostream* os) {
  *os << dtype_name(t);
}  // test names in ctest
}  // namespace xgd

namespace xgd::test {
namespace {

using Fn = OpFn;

// Compares the op on CUDA with the op on the CPU. Gradients pass through sum_to and the
// backward formulas (products of IEEE-exact ops and the op's own derivative).
void check(const std::string& op, const Fn& f, const std::vector<Tensor>& inputs) {
  Tensor probe = f(inputs);
  Tensor grad = random_tensor(probe.shape(), probe.dtype(), -1, 1, 99);
  OpResult c = run_op(f, inputs, grad, Device::CPU);
  OpResult d = run_op(f, inputs, grad, Device::CUDA);
  const bool f64 = probe.dtype() == DType::F64;
  Tol t = parity_tolerance(op, f64);
  EXPECT_ALL_CLOSE(d.out, c.out, t.atol, t.rtol) << op << " forward, " << probe.str();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const double length = double(probe.numel()) / double(std::max<int64_t>(inputs[i].numel(), 1));
    Tol s = parity_tolerance("sum_to", f64, length, 10.0);
    Tol p = parity_tolerance("pow_backward", f64);  // the largest derivative budget
    // Backward sums terms of magnitude <= 10 (inputs and factors here), each within p's ulps.
    EXPECT_ALL_CLOSE(d.grads[i], c.grads[i], s.atol + 10 * p.rtol, s.rtol + p.rtol)
        << op << " gradient of input " << i << ", " << inputs[i].str();
  }
}

class EnginePointwiseCuda : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override {
    XGD_REQUIRE_DEVICE();
    use_cuda_backend();
  }
};

TEST_P(EnginePointwiseCuda, BinaryWithBroadcastAndGradients) {
  const DType dt = GetParam();
  const std::pair<Shape, Shape> shapes[] = {
      {{2, 3, 4}, {3, 1}}, {{5, 7}, {5, 7}}, {{1, 6, 1}, {4, 1, 9}}, {{130}, {}}};
  uint64_t seed = 1;
  for (auto& [sa, sb] : shapes) {
    Tensor a = random_tensor(sa, dt, -2, 2, seed++);
    Tensor b = random_tensor(sb, dt, 0.5, 2, seed++);
    check("add", [](auto& x) { return add(x[0], x[1]); }, {a, b});
    check("sub", [](auto& x) { return sub(x[0], x[1]); }, {a, b});
    check("mul", [](auto& x) { return mul(x[0], x[1]); }, {a, b});
    check("div", [](auto& x) { return div(x[0], x[1]); }, {a, b});
  }
}

TEST_P(EnginePointwiseCuda, ScalarAndUnaryWithGradients) {
  const DType dt = GetParam();
  Tensor a = random_tensor({3, 5, 17}, dt, -3, 3, 11);
  Tensor pos = random_tensor({4, 33}, dt, 0.1, 4, 12);
  check("scalar_affine", [](auto& x) { return x[0] * 1.5 + 0.75; }, {a});
  check("scalar_affine", [](auto& x) { return 2.0 - x[0]; }, {a});
  check("scalar_affine", [](auto& x) { return -x[0]; }, {a});
  check("scalar_rdiv", [](auto& x) { return 2.5 / x[0]; }, {pos});
  check("exp", [](auto& x) { return exp(x[0]); }, {a});
  check("log", [](auto& x) { return log(x[0]); }, {pos});
  check("sqrt", [](auto& x) { return sqrt(x[0]); }, {pos});
  check("abs", [](auto& x) { return abs(x[0]); }, {a});
  check("relu", [](auto& x) { return relu(x[0]); }, {a});
  check("relu6", [](auto& x) { return relu6(x[0] * 3.0); }, {a});
  check("clamp", [](auto& x) { return clamp(x[0], -0.5, 0.5); }, {a});
  check("pow", [](auto& x) { return pow(x[0], 3.0); }, {a});
  check("pow", [](auto& x) { return pow(x[0], 0.5); }, {pos});
}

TEST_P(EnginePointwiseCuda, CompositeGraphAccumulatesOnDevice) {
  // a is used twice (its gradients are accumulated by autograd on the device); b and c are
  // broadcast (their gradients come through sum_to on the device).
  const DType dt = GetParam();
  Tensor a = random_tensor({2, 8, 5, 5}, dt, -2, 2, 21);
  Tensor b = random_tensor({1, 8, 1, 1}, dt, 0.5, 1.5, 22);
  Tensor c = random_tensor({8, 1, 1}, dt, -1, 1, 23);
  check("composite", [](auto& x) { return relu(x[0] * x[1] + x[2]) * exp(x[0] * 0.25); },
        {a, b, c});
}

TEST_P(EnginePointwiseCuda, MixingDevicesIsAnError) {
  const DType dt = GetParam();
  Tensor a = random_tensor({3}, dt, -1, 1, 1);
  Tensor d = a.to(Device::CUDA);
  EXPECT_THROW(add(a, d), Error);
  EXPECT_THROW(mul(d, a), Error);
  try {
    sub(d, a);
    FAIL() << "sub of a cuda and a cpu tensor did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("different devices"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, EnginePointwiseCuda, ::testing::Values(DType::F32, DType::F64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace xgd::test
