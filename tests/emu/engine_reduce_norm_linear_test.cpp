// The engine's reductions, batch_norm2d and matmul/linear on Device::CUDA against the same ops on
// the CPU: forward values, autograd gradients, result devices, and batch norm's running
// statistics and num_batches_tracked updated on the device. emu: the emulator registered as the
// CUDA device; gpu: the real backend. Tolerances: tests/emu/tolerance.h.
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "engine/autograd.h"
#include "engine/ops/linear.h"
#include "engine/ops/norm.h"
#include "engine/ops/pointwise.h"
#include "engine/ops/reduce.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd {
void PrintTo(DType t, std::ostream* os);  // engine_pointwise_test.cpp
}  // namespace xgd

namespace xgd::test {
namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// Small integers: ties for max/min.
Tensor tie_tensor(const Shape& shape, DType dtype, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> v(shape_numel(shape));
  for (auto& x : v) x = double(int(rng() % 5) - 2);
  return Tensor::from_vector(v, shape, dtype);
}

double max_abs(const Tensor& t) {
  Tensor c = t.to(Device::CPU).to(DType::F64);
  double m = 0;
  for (int64_t i = 0; i < c.numel(); ++i) m = std::max(m, std::abs(c.data<double>()[i]));
  return m;
}

struct Result {
  Tensor out;
  std::vector<Tensor> grads;  // on the CPU
};

Result run(const Fn& f, const std::vector<Tensor>& inputs, const Tensor& grad, Device device) {
  std::vector<Tensor> in;
  for (const Tensor& t : inputs) in.push_back(t.to(device).detach().requires_grad_());
  Tensor out = f(in);
  EXPECT_EQ(out.device(), device) << "result of an op on " << device_name(device);
  if (is_floating(out.dtype())) out.backward(grad.to(device));
  Result r{out.detach().to(Device::CPU), {}};
  for (const Tensor& t : in) {
    if (!t.grad().defined()) {
      r.grads.push_back(Tensor());
      continue;
    }
    EXPECT_EQ(t.grad().device(), device) << "gradient of an input on " << device_name(device);
    r.grads.push_back(t.grad().to(Device::CPU));
  }
  return r;
}

// An element passes when |cuda - cpu| <= atol + rtol·|cpu|; atol_scale multiplies max|cpu|
// into atol (the rules of tolerance.h's rows, which say when they apply).
struct Rule {
  double atol, rtol, atol_scale;
};

void check(const std::string& what, const Fn& f, const std::vector<Tensor>& inputs, Rule out_rule,
           Rule grad_rule) {
  Tensor probe = f(inputs);
  Tensor grad = is_floating(probe.dtype()) ? random_tensor(probe.shape(), probe.dtype(), -1, 1, 99)
                                           : Tensor();
  Result c = run(f, inputs, grad, Device::CPU);
  Result d = run(f, inputs, grad, Device::CUDA);
  if (!is_floating(c.out.dtype())) {
    ASSERT_EQ(c.out.dtype(), d.out.dtype()) << what;
    ASSERT_EQ(c.out.shape(), d.out.shape()) << what;
    for (int64_t i = 0; i < c.out.numel(); ++i)
      EXPECT_EQ(d.out.data<int64_t>()[i], c.out.data<int64_t>()[i]) << what << " at " << i;
    return;
  }
  EXPECT_ALL_CLOSE(d.out, c.out, out_rule.atol + out_rule.atol_scale * max_abs(c.out),
                   out_rule.rtol)
      << what << " forward";
  for (size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_EQ(c.grads[i].defined(), d.grads[i].defined()) << what << " gradient " << i;
    if (!c.grads[i].defined()) continue;
    EXPECT_ALL_CLOSE(d.grads[i], c.grads[i],
                     grad_rule.atol + grad_rule.atol_scale * max_abs(c.grads[i]), grad_rule.rtol)
        << what << " gradient of input " << i << ", " << inputs[i].str();
  }
}

Rule table_rule(const std::string& op, bool f64, double length = 0, double max_in = 0) {
  Tol t = parity_tolerance(op, f64, length, max_in);
  return {t.atol, t.rtol, 0};
}
// gemm's rule for contractions of length k over values of magnitude <= m.
Rule gemm_rule(bool f64, double k, double m) {
  Tol t = parity_tolerance("gemm", f64);
  return {t.rtol * (k * m * m + 4), t.rtol, 0};
}
// batch_norm_backward's rule: rtol, and rtol · max|reference| as atol.
Rule bn_rule(bool f64) {
  Tol t = parity_tolerance("batch_norm_backward", f64);
  return {0, t.rtol, t.rtol};
}
// Training mode normalises with statistics summed in another order: alpha = invstd·w and
// beta = b - mean·alpha may differ by an ulp, so y = x·alpha + beta differs by ulps of
// |x|·|alpha| (large where a channel's variance is small), and dx by ulps of |dy|·|alpha|.
Rule bn_train_rule(const Tensor& x, const Tensor& w, bool f64) {
  Tensor xd = x.to(DType::F64), wd = w.defined() ? w.to(DType::F64) : Tensor();
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  double alpha = 0, xmax = 0;
  for (int64_t ch = 0; ch < c; ++ch) {
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < hw; ++j) {
        const double v = xd.data<double>()[(i * c + ch) * hw + j];
        s += v, s2 += v * v, xmax = std::max(xmax, std::abs(v));
      }
    const double m = s / double(n * hw), var = s2 / double(n * hw) - m * m;
    const double wc = wd.defined() ? std::abs(wd.data<double>()[ch]) : 1.0;
    alpha = std::max(alpha, wc / std::sqrt(std::max(var, 0.0) + 1e-5));
  }
  Rule r = bn_rule(f64);
  r.atol = r.rtol * 2 * std::max(xmax, 1.0) * alpha;
  return r;
}

class EngineReduceNormLinearCuda : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override {
    XGD_REQUIRE_DEVICE();
    use_cuda_backend();
  }
};

TEST_P(EngineReduceNormLinearCuda, ReductionsWithGradients) {
  const DType dt = GetParam();
  const bool f64 = dt == DType::F64;
  Tensor a = random_tensor({3, 5, 7, 9}, dt, -2, 2, 1);
  Tensor t = tie_tensor({4, 6, 5}, dt, 2);
  // Gradients of sums and means are g broadcast (· 1/count): exact.
  const Rule exact{0, 0, 0};
  check(
      "sum all", [](auto& x) { return sum(x[0]); }, {a}, table_rule("reduce_sum", f64, 945, 2),
      exact);
  check(
      "sum {0,2,3} keepdim",
      [](auto& x) {
        return sum(x[0], {0, 2, 3}, true);
      },
      {a}, table_rule("reduce_sum", f64, 189, 2), exact);
  check(
      "mean {1}", [](auto& x) { return mean(x[0], {1}); }, {a}, table_rule("reduce_sum", f64, 5, 2),
      exact);
  check(
      "mean {-1, 1}",
      [](auto& x) {
        return mean(x[0], {-1, 1}, true);
      },
      {a}, table_rule("reduce_sum", f64, 45, 2), exact);
  check(
      "mean all", [](auto& x) { return mean(x[0]); }, {a}, table_rule("reduce_sum", f64, 945, 2),
      exact);
  // max/min select; their gradients copy g or divide it by an exact tie count.
  check(
      "max all (ties)", [](auto& x) { return max(x[0]); }, {t}, exact, exact);
  check(
      "max {1} (ties: first index)", [](auto& x) { return max(x[0], {1}); }, {t}, exact, exact);
  check(
      "min {0, 2} keepdim (ties)",
      [](auto& x) {
        return min(x[0], {0, 2}, true);
      },
      {t}, exact, exact);
  check(
      "min {2}", [](auto& x) { return min(x[0], {2}); }, {a}, exact, exact);
  check(
      "max {-1} rows", [](auto& x) { return max(x[0], {-1}); }, {a}, exact, exact);
  check(
      "argmax {1}", [](auto& x) { return argmax(x[0], 1); }, {a}, exact, exact);
  check(
      "argmax {-1} keepdim (ties)", [](auto& x) { return argmax(x[0], -1, true); }, {t}, exact,
      exact);
}

TEST_P(EngineReduceNormLinearCuda, MatmulAndLinearWithGradients) {
  const DType dt = GetParam();
  const bool f64 = dt == DType::F64;
  Tensor a = random_tensor({37, 19}, dt, -1, 1, 11), b = random_tensor({19, 70}, dt, -1, 1, 12);
  // dA = dC·Bᵀ contracts 70, dB = Aᵀ·dC contracts 37 (|dC| <= 1).
  check(
      "matmul 2-d", [](auto& x) { return matmul(x[0], x[1]); }, {a, b}, gemm_rule(f64, 19, 1),
      gemm_rule(f64, 70, 1));
  // EigenGradCAM's shapes: (N, C, C) · (N, C, P).
  Tensor s = random_tensor({2, 24, 24}, dt, -1, 1, 13),
         p = random_tensor({2, 24, 81}, dt, -1, 1, 14);
  check(
      "matmul batched", [](auto& x) { return matmul(x[0], x[1]); }, {s, p}, gemm_rule(f64, 24, 1),
      gemm_rule(f64, 81, 1));
  Tensor x3 = random_tensor({3, 5, 33}, dt, -1, 1, 15), w = random_tensor({21, 33}, dt, -1, 1, 16);
  Tensor bias = random_tensor({21}, dt, -1, 1, 17);
  // dx contracts 21, dW contracts the 15 rows, db sums 15 rows.
  check(
      "linear with bias", [](auto& x) { return linear(x[0], x[1], x[2]); }, {x3, w, bias},
      gemm_rule(f64, 33, 1), gemm_rule(f64, 21, 1));
  check(
      "linear without bias", [](auto& x) { return linear(x[0], x[1], Tensor()); }, {x3, w},
      gemm_rule(f64, 33, 1), gemm_rule(f64, 21, 1));
}

TEST_P(EngineReduceNormLinearCuda, BatchNormTrainingUpdatesRunningStatsOnTheDevice) {
  const DType dt = GetParam();
  const bool f64 = dt == DType::F64;
  Tensor x = random_tensor({3, 6, 5, 7}, dt, -1, 3, 21);
  Tensor w = random_tensor({6}, dt, 0.5, 1.5, 22), b = random_tensor({6}, dt, -1, 1, 23);
  Tensor rm0 = random_tensor({6}, dt, -0.5, 0.5, 24), rv0 = random_tensor({6}, dt, 0.5, 2, 25);
  auto make_state = [&](Device d) {  // fresh storage: the updates must not reach rm0/rv0
    return BatchNormState{rm0.clone().to(d), rv0.clone().to(d),
                          Tensor::zeros({}, DType::I64).to(d)};
  };
  BatchNormState cpu_state = make_state(Device::CPU), cuda_state = make_state(Device::CUDA);
  for (int step = 0; step < 2; ++step) {  // two steps: the counter and the stats accumulate
    check(
        "batch_norm2d train",
        [&](auto& in) {
          BatchNormState& st = in[0].device() == Device::CPU ? cpu_state : cuda_state;
          return batch_norm2d(in[0], in[1], in[2], st, true, 0.1, 1e-5);
        },
        {x, w, b}, bn_train_rule(x, w, f64), bn_train_rule(x, w, f64));
  }
  // check() runs f three times per step (a probe on the CPU, then each device): the CPU state
  // saw 4 updates, the device state 2. Replay the CPU side to the same count for the comparison.
  BatchNormState ref = make_state(Device::CPU);
  for (int i = 0; i < 2; ++i) batch_norm2d(x, w, b, ref, true, 0.1, 1e-5);
  EXPECT_EQ(cuda_state.running_mean.device(), Device::CUDA);
  EXPECT_EQ(cuda_state.num_batches_tracked.device(), Device::CUDA);
  EXPECT_EQ(cuda_state.num_batches_tracked.to(Device::CPU).data<int64_t>()[0], 2);
  // The batch mean and variance come in to ulps of max|x| = 3 and max|x|² (summation order).
  const double r = bn_rule(f64).rtol;
  EXPECT_ALL_CLOSE(cuda_state.running_mean.to(Device::CPU), ref.running_mean, r * 3, r);
  EXPECT_ALL_CLOSE(cuda_state.running_var.to(Device::CPU), ref.running_var, r * 9, r);
}

TEST_P(EngineReduceNormLinearCuda, BatchNormEvalAndWithoutAffine) {
  const DType dt = GetParam();
  const bool f64 = dt == DType::F64;
  Tensor x = random_tensor({2, 5, 3, 3}, dt, -2, 2, 31);
  Tensor w = random_tensor({5}, dt, 0.5, 1.5, 32), b = random_tensor({5}, dt, -1, 1, 33);
  Tensor rm = random_tensor({5}, dt, -0.5, 0.5, 34), rv = random_tensor({5}, dt, 0.5, 2, 35);
  // Eval: running statistics copied per device, never updated.
  check(
      "batch_norm2d eval",
      [&](auto& in) {
        BatchNormState st{rm.to(in[0].device()), rv.to(in[0].device()), Tensor()};
        return batch_norm2d(in[0], in[1], in[2], st, false, 0.1, 1e-5);
      },
      {x, w, b}, table_rule("batch_norm_forward", f64), bn_rule(f64));
  // Training without weight, bias or running statistics (affine=False, track_running_stats=False).
  check(
      "batch_norm2d train plain",
      [&](auto& in) {
        BatchNormState st;
        return batch_norm2d(in[0], Tensor(), Tensor(), st, true, 0.1, 1e-5);
      },
      {x}, bn_train_rule(x, Tensor(), f64), bn_train_rule(x, Tensor(), f64));
  // 1×1 planes (ASPP's pooled branch).
  Tensor x1 = random_tensor({4, 5, 1, 1}, dt, -2, 2, 36);
  check(
      "batch_norm2d train 1x1",
      [&](auto& in) {
        BatchNormState st;
        return batch_norm2d(in[0], in[1], in[2], st, true, 0.1, 1e-5);
      },
      {x1, w, b}, bn_train_rule(x1, w, f64), bn_train_rule(x1, w, f64));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, EngineReduceNormLinearCuda,
                         ::testing::Values(DType::F32, DType::F64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace xgd::test
