// The engine's softmax, losses, dropout and random fills on Device::CUDA against the same calls
// on the CPU: forward values, autograd gradients, result devices, the bad-label error, the
// Philox stream (dropout masks and fills identical for the same generator state).
// emu: the emulator registered as the CUDA device; gpu: the real backend.
// Tolerances: tests/emu/tolerance.h (+ 2·C ulps for the class sums, as the parity tests).
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/loss.h"
#include "engine/rng.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd::test {
namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

Tensor labels_tensor(const Shape& shape, int64_t C, int64_t ignore_every, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> v(shape_numel(shape));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = ignore_every && i % ignore_every == 2 ? 255.0 : double(rng() % C);
  return Tensor::from_vector(v, shape, DType::I64);
}

struct Result {
  Tensor out;
  std::vector<Tensor> grads;  // on the CPU
};

// f on copies of the float `inputs` (and of `fixed`, no gradient) on `device`, then backward
// with `grad`; everything returned on the CPU.
Result run(const Fn& f, const std::vector<Tensor>& inputs, const std::vector<Tensor>& fixed,
           const Tensor& grad, Device device) {
  std::vector<Tensor> in;
  for (const Tensor& t : inputs) in.push_back(t.to(device).detach().requires_grad_());
  for (const Tensor& t : fixed) in.push_back(t.to(device));
  Tensor out = f(in);
  EXPECT_EQ(out.device(), device) << "result on " << device_name(device);
  out.backward(grad.to(device));
  Result r{out.detach().to(Device::CPU), {}};
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ(in[i].grad().device(), device) << "gradient on " << device_name(device);
    r.grads.push_back(in[i].grad().to(Device::CPU));
  }
  return r;
}

// Tolerance of `op` with C classes (as class_tol of the parity tests), absolute in `scale`.
Tol class_tol(const std::string& op, bool f64, int64_t C, double scale) {
  const double eps =
      f64 ? std::numeric_limits<double>::epsilon() : double(std::numeric_limits<float>::epsilon());
  const double k = parity_tolerance(op, f64).rtol / eps + 2.0 * double(C);
  return {k * eps * scale, k * eps * scale};
}

// The op on CUDA against the CPU; out_tol / grad_tol for the value and the gradients.
void check(const std::string& what, const Fn& f, const std::vector<Tensor>& inputs,
           const std::vector<Tensor>& fixed, Tol out_tol, Tol grad_tol) {
  std::vector<Tensor> probe_in = inputs;
  probe_in.insert(probe_in.end(), fixed.begin(), fixed.end());
  Tensor probe = f(probe_in);
  Tensor grad = random_tensor(probe.shape(), probe.dtype(), 0.5, 1.5, 99);
  Result c = run(f, inputs, fixed, grad, Device::CPU);
  Result d = run(f, inputs, fixed, grad, Device::CUDA);
  EXPECT_ALL_CLOSE(d.out, c.out, out_tol.atol, out_tol.rtol) << what << " forward";
  for (size_t i = 0; i < inputs.size(); ++i)
    EXPECT_ALL_CLOSE(d.grads[i], c.grads[i], grad_tol.atol, grad_tol.rtol)
        << what << " gradient of input " << i;
}

class EngineSoftmaxLossCuda : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override {
    XGD_REQUIRE_DEVICE();
    use_cuda_backend();
  }
};

TEST_P(EngineSoftmaxLossCuda, SoftmaxAndLogSoftmaxWithGradients) {
  const DType dt = GetParam();
  const bool f64 = dt == DType::F64;
  // Class dim of N×C×H×W (pixel kernel), last dim (row kernel), a middle dim.
  const std::pair<Shape, int64_t> cases[] = {{{2, 5, 3, 7}, 1}, {{4, 37}, -1}, {{3, 6, 5}, 1}};
  uint64_t seed = 1;
  for (auto& [shape, dim] : cases) {
    Tensor x = random_tensor(shape, dt, -4, 4, seed++);
    const int64_t C = shape[dim < 0 ? shape.size() - 1 : dim];
    const std::string what = shape_str(shape) + " dim " + std::to_string(dim);
    // The upstream gradient is in [0.5, 1.5]: gradients carry 1.5 × the tolerance of dy = 1.
    check(
        "softmax " + what, [dim](auto& v) { return softmax(v[0], dim); }, {x}, {},
        class_tol("softmax", f64, C, 1), class_tol("softmax_backward", f64, 2 * C, 1.5));
    check(
        "log_softmax " + what, [dim](auto& v) { return log_softmax(v[0], dim); }, {x}, {},
        class_tol("log_softmax", f64, C, 5), class_tol("log_softmax_backward", f64, 2 * C, 7.5));
  }
}

TEST_P(EngineSoftmaxLossCuda, CrossEntropyWithIgnoreAndGradients) {
  const DType dt = GetParam();
  const bool f64 = dt == DType::F64;
  const std::tuple<Shape, Shape, int64_t> cases[] = {
      {{2, 5, 3, 7}, {2, 3, 7}, 3}, {{6, 4}, {6}, 4}, {{1, 21, 9, 31}, {1, 9, 31}, 5}};
  uint64_t seed = 10;
  for (auto& [xs, ys, every] : cases) {
    Tensor x = random_tensor(xs, dt, -5, 5, seed++);
    Tensor y = labels_tensor(ys, xs[1], every, seed++);
    const Tol t = class_tol("cross_entropy", f64, xs[1], 6);
    check(
        "cross_entropy " + shape_str(xs), [](auto& v) { return cross_entropy(v[0], v[1]); }, {x},
        {y}, t, class_tol("cross_entropy_backward", f64, xs[1], 6 * 1.5));
  }
  // All pixels ignored: 0 with zero gradient on both devices.
  Tensor x = random_tensor({2, 3, 4, 5}, dt, -2, 2, 30);
  Tensor y = Tensor::full({2, 4, 5}, 255, DType::I64);
  Tensor xd = x.to(Device::CUDA).detach().requires_grad_();
  Tensor l = cross_entropy(xd, y.to(Device::CUDA));
  EXPECT_EQ(l.item(), 0.0);
  l.backward();
  for (double v : xd.grad().to_vector()) ASSERT_EQ(v, 0.0);
}

TEST_P(EngineSoftmaxLossCuda, BadLabelIsTheCpuError) {
  const DType dt = GetParam();
  Tensor x = random_tensor({2, 4, 3, 5}, dt, -1, 1, 40);
  Tensor y = labels_tensor({2, 3, 5}, 4, 0, 41);
  std::vector<double> v = y.to_vector();
  v[1 * 15 + 2 * 5 + 3] = 4;   // (n, h, w) = (1, 2, 3): the first bad label
  v[1 * 15 + 2 * 5 + 4] = -7;  // a later one
  y = Tensor::from_vector(v, y.shape(), DType::I64);
  std::string cpu_msg, cuda_msg;
  try {
    cross_entropy(x, y);
  } catch (const Error& e) {
    cpu_msg = e.what();
  }
  try {
    cross_entropy(x.to(Device::CUDA), y.to(Device::CUDA));
  } catch (const Error& e) {
    cuda_msg = e.what();
  }
  EXPECT_NE(cpu_msg.find("label 4 at (n, h, w) = (1, 2, 3)"), std::string::npos) << cpu_msg;
  EXPECT_EQ(cuda_msg, cpu_msg);
  // Labels on another device than the logits.
  EXPECT_THROW(cross_entropy(x.to(Device::CUDA), labels_tensor({2, 3, 5}, 4, 0, 41)), Error);
}

TEST_P(EngineSoftmaxLossCuda, KlDivBothGradientsAtTau1And2) {
  const DType dt = GetParam();
  const bool f64 = dt == DType::F64;
  const Shape shapes[] = {{2, 5, 3, 7}, {5, 9}, {1, 21, 8, 33}};
  uint64_t seed = 50;
  for (const Shape& s : shapes)
    for (double tau : {1.0, 2.0}) {
      Tensor t = random_tensor(s, dt, -6, 6, seed++), st = random_tensor(s, dt, -6, 6, seed++);
      const double scale = 1 + 4 * 6 / tau;  // KL terms up to 4·max|z|, z = logits / tau
      check(
          "kl_div " + shape_str(s) + " tau " + std::to_string(tau),
          [tau](auto& v) { return kl_div(v[0], v[1], tau); }, {t, st}, {},
          class_tol("kl_div", f64, s[1], tau * tau * scale),
          class_tol("kl_div_backward", f64, s[1], 1.5 * tau * scale));
    }
}

TEST_P(EngineSoftmaxLossCuda, MseBothGradients) {
  const DType dt = GetParam();
  const bool f64 = dt == DType::F64;
  for (const Shape& s : {Shape{3, 1, 17, 19}, Shape{1000}, Shape{1}}) {
    Tensor a = random_tensor(s, dt, -2, 2, 60), b = random_tensor(s, dt, -2, 2, 61);
    const Tol t = parity_tolerance("mse", f64, double(shape_numel(s)), 16.0);
    const Tol z = parity_tolerance("mse_backward", f64);
    check(
        "mse " + shape_str(s), [](auto& v) { return mse(v[0], v[1]); }, {a, b}, {},
        {t.atol / double(shape_numel(s)), t.rtol}, z);
  }
}

// The same generator state drops the same elements on both devices: values, gradients and the
// generator's offset afterwards are identical.
TEST_P(EngineSoftmaxLossCuda, DropoutMatchesTheCpuBitForBit) {
  const DType dt = GetParam();
  Tensor x = random_tensor({2, 6, 5, 7}, dt, -2, 2, 70);
  for (double p : {0.2, 0.5}) {
    for (bool two_d : {false, true}) {
      Generator gc(1234, 77), gd(1234, 77);
      auto f = [&](Generator& g) -> Fn {
        return [&g, p, two_d](auto& v) {
          return two_d ? dropout2d(v[0], p, true, g) : dropout(v[0], p, true, g);
        };
      };
      Tensor grad = random_tensor(x.shape(), dt, -1, 1, 71);
      Result c = run(f(gc), {x}, {}, grad, Device::CPU);
      Result d = run(f(gd), {x}, {}, grad, Device::CUDA);
      const std::string what =
          std::string(two_d ? "dropout2d" : "dropout") + " p " + std::to_string(p);
      EXPECT_ALL_CLOSE(d.out, c.out, 0, 0) << what;
      EXPECT_ALL_CLOSE(d.grads[0], c.grads[0], 0, 0) << what << " gradient";
      EXPECT_EQ(gd.offset(), gc.offset()) << what;
      // Some dropped, some kept.
      int zeros = 0;
      for (double v : d.out.to_vector()) zeros += v == 0.0;
      EXPECT_GT(zeros, 0) << what;
      EXPECT_LT(zeros, x.numel()) << what;
    }
  }
  // p = 1 and eval mode need no kernel; on the device too.
  Generator g(1);
  Tensor xd = x.to(Device::CUDA);
  EXPECT_TRUE(dropout(xd, 0.3, false, g).same(xd));
  for (double v : dropout(xd, 1.0, true, g).to_vector()) ASSERT_EQ(v, 0.0);
}

TEST_P(EngineSoftmaxLossCuda, FillsMatchTheCpuForTheSameGenerator) {
  const DType dt = GetParam();
  const bool f64 = dt == DType::F64;
  for (const Shape& s : {Shape{7, 1}, Shape{3, 5, 3, 3}, Shape{1031, 2}}) {
    Generator gc(9, 5), gd(9, 5);
    Tensor c = Tensor::empty(s, dt), d = Tensor::empty(s, dt, Device::CUDA);
    uniform_(c, -0.3, 0.7, gc);
    uniform_(d, -0.3, 0.7, gd);
    EXPECT_ALL_CLOSE(d.to(Device::CPU), c, 0, 0) << "uniform_ " << shape_str(s);
    kaiming_uniform_(c, std::sqrt(5.0), true, gc);
    kaiming_uniform_(d, std::sqrt(5.0), true, gd);
    EXPECT_ALL_CLOSE(d.to(Device::CPU), c, 0, 0) << "kaiming_uniform_ " << shape_str(s);
    normal_(c, 0.1, 2.0, gc);
    normal_(d, 0.1, 2.0, gd);
    const Tol t = parity_tolerance("normal_fill", f64);
    EXPECT_ALL_CLOSE(d.to(Device::CPU), c, t.rtol * 5.8 * 2.0, t.rtol)
        << "normal_ " << shape_str(s);
    EXPECT_EQ(gd.offset(), gc.offset());
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, EngineSoftmaxLossCuda, ::testing::Values(DType::F32, DType::F64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace xgd::test
