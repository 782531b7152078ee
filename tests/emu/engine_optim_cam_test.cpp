// The optimizers and the Grad-CAM weighting ops on Device::CUDA against the same on the CPU.
// Optimizers: a few steps of SGD (momentum, nesterov, weight decay), Adam and AdamW on
// parameters living on the device (state created there, bias corrections from the host's step
// count), equal bit for bit to the CPU steps; a device checkpoint restores onto the device.
// Cam ops: forward values and autograd gradients on the device, device errors.
// emu: the emulator registered as the CUDA device; gpu: the real backend.
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "engine/autograd.h"
#include "engine/ops/cam.h"
#include "engine/ops/pointwise.h"
#include "engine/optim.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd::test {
namespace {

class EngineOptimCamCuda : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override {
    XGD_REQUIRE_DEVICE();
    use_cuda_backend();
  }
};

// Parameters of odd sizes on `device` (copies of the same values), as one group.
nn::NamedTensors make_params(DType dt, Device device) {
  nn::NamedTensors ps;
  const Shape shapes[] = {{3, 5, 3, 3}, {257}, {1}, {2, 300}};
  uint64_t seed = 1;
  for (const Shape& s : shapes) {
    Tensor t = random_tensor(s, dt, -1, 1, seed++).to(device).detach().requires_grad_();
    ps.emplace_back("p" + std::to_string(seed), t);
  }
  return ps;
}

using MakeOptim = std::function<std::unique_ptr<optim::Optimizer>(std::vector<optim::ParamGroup>)>;

// `steps` steps with the same gradients on both devices; parameters and every state tensor
// compared after each step with the optimizer's tolerance (0: bit for bit).
void check_steps(const MakeOptim& make, const char* tol_op, DType dt, int steps) {
  auto cpu_params = make_params(dt, Device::CPU), dev_params = make_params(dt, Device::CUDA);
  auto cpu = make({optim::ParamGroup{cpu_params, 0.05, 1e-2}});
  auto dev = make({optim::ParamGroup{dev_params, 0.05, 1e-2}});
  const Tol tol = parity_tolerance(tol_op, dt == DType::F64);
  for (int step = 0; step < steps; ++step) {
    for (size_t i = 0; i < cpu_params.size(); ++i) {
      Tensor g = random_tensor(cpu_params[i].second.shape(), dt, -2, 2, 100 * step + i);
      if (step == 1 && i == 1) continue;  // no gradient: skipped, its state does not advance
      cpu_params[i].second.set_grad(g);
      dev_params[i].second.set_grad(g.to(Device::CUDA));
    }
    cpu->step();
    dev->step();
    cpu->zero_grad();
    dev->zero_grad();
    for (size_t i = 0; i < cpu_params.size(); ++i) {
      EXPECT_EQ(dev_params[i].second.device(), Device::CUDA);
      EXPECT_ALL_CLOSE(dev_params[i].second.to(Device::CPU), cpu_params[i].second, tol.atol,
                       tol.rtol)
          << cpu->name() << " step " << step << " " << cpu_params[i].first;
    }
    auto cs = cpu->state_dict(), ds = dev->state_dict();
    ASSERT_EQ(cs.size(), ds.size());
    for (auto& [k, t] : cs) {
      ASSERT_TRUE(ds.count(k)) << k;
      if (k.ends_with(".step")) {
        EXPECT_EQ(ds[k].item(), t.item()) << k;
        continue;
      }
      EXPECT_EQ(ds[k].device(), Device::CUDA) << "optimizer state " << k;
      EXPECT_ALL_CLOSE(ds[k].to(Device::CPU), t, tol.atol, tol.rtol) << cpu->name() << " " << k;
    }
  }
}

TEST_P(EngineOptimCamCuda, SgdStepsOnDeviceMatchCpu) {
  const DType dt = GetParam();
  check_steps([](auto g) { return std::make_unique<optim::SGD>(std::move(g)); }, "sgd_step", dt, 3);
  check_steps(
      [](auto g) {
        return std::make_unique<optim::SGD>(std::move(g), optim::SGDOptions{0.9, 0.1, false});
      },
      "sgd_step", dt, 3);
  check_steps(
      [](auto g) {
        return std::make_unique<optim::SGD>(std::move(g), optim::SGDOptions{0.9, 0.0, true});
      },
      "sgd_step", dt, 3);
}

TEST_P(EngineOptimCamCuda, AdamAndAdamWStepsOnDeviceMatchCpu) {
  const DType dt = GetParam();
  check_steps([](auto g) { return std::make_unique<optim::Adam>(std::move(g)); }, "adam_step", dt,
              4);
  check_steps([](auto g) { return std::make_unique<optim::AdamW>(std::move(g)); }, "adam_step", dt,
              4);
}

TEST_P(EngineOptimCamCuda, DeviceStateRoundTripsThroughCheckpoint) {
  // State exported from the device and loaded into a fresh device optimizer continues exactly
  // as the original (the loaded tensors are copied onto the parameter's device).
  const DType dt = GetParam();
  auto pa = make_params(dt, Device::CUDA), pb = make_params(dt, Device::CUDA);
  optim::AdamW a({optim::ParamGroup{pa, 0.01, 1e-2}}), b({optim::ParamGroup{pb, 0.01, 1e-2}});
  auto set_grads = [&](nn::NamedTensors& ps, int step) {
    for (size_t i = 0; i < ps.size(); ++i)
      ps[i].second.set_grad(
          random_tensor(ps[i].second.shape(), dt, -1, 1, 7 * step + i).to(Device::CUDA));
  };
  set_grads(pa, 0);
  a.step();
  std::map<std::string, Tensor> host_state;
  for (auto& [k, t] : a.state_dict()) host_state[k] = t.to(Device::CPU);
  for (size_t i = 0; i < pa.size(); ++i) pb[i].second.copy_(pa[i].second);
  b.load_state_dict(host_state);
  for (auto& [k, t] : b.state_dict())
    if (!k.ends_with(".step")) {
      EXPECT_EQ(t.device(), Device::CUDA) << k;
    }
  set_grads(pa, 1);
  set_grads(pb, 1);
  a.step();
  b.step();
  for (size_t i = 0; i < pa.size(); ++i)
    EXPECT_ALL_CLOSE(pb[i].second.to(Device::CPU), pa[i].second.to(Device::CPU), 0, 0);
}

// ---------------------------------------------------------------- cam ops
struct Result {
  Tensor out;
  std::vector<Tensor> grads;  // on the CPU; undefined where an input has no gradient
};

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

Result run(const Fn& f, const std::vector<Tensor>& inputs, const std::vector<bool>& differentiable,
           const Tensor& grad, Device device) {
  std::vector<Tensor> in;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor t = inputs[i].to(device).detach();
    if (differentiable[i]) t.requires_grad_();
    in.push_back(t);
  }
  Tensor out = f(in);
  EXPECT_EQ(out.device(), device);
  Result r{out.detach().to(Device::CPU), {}};
  if (grad.defined()) {
    out.backward(grad.to(device));
    for (size_t i = 0; i < in.size(); ++i) {
      if (!differentiable[i]) {
        r.grads.emplace_back();
        continue;
      }
      EXPECT_EQ(in[i].grad().device(), device);
      r.grads.push_back(in[i].grad().to(Device::CPU));
    }
  }
  return r;
}

// fwd_tol / bwd_tol: (atol, rtol) of the forward and each gradient.
void check(const std::string& what, const Fn& f, const std::vector<Tensor>& inputs,
           const std::vector<bool>& differentiable, Tol fwd_tol, Tol bwd_tol) {
  Tensor probe;
  {
    autograd::NoGradGuard ng;
    probe = f(inputs);
  }
  Tensor grad = random_tensor(probe.shape(), probe.dtype(), -1, 1, 99);
  bool any = false;
  for (bool d : differentiable) any |= d;
  Result c = run(f, inputs, differentiable, any ? grad : Tensor(), Device::CPU);
  Result d = run(f, inputs, differentiable, any ? grad : Tensor(), Device::CUDA);
  EXPECT_ALL_CLOSE(d.out, c.out, fwd_tol.atol, fwd_tol.rtol) << what << " forward";
  for (size_t i = 0; i < c.grads.size(); ++i)
    if (c.grads[i].defined()) {
      EXPECT_ALL_CLOSE(d.grads[i], c.grads[i], bwd_tol.atol, bwd_tol.rtol)
          << what << " gradient of input " << i;
    }
}

TEST_P(EngineOptimCamCuda, CamOpsWithAutograd) {
  const DType dt = GetParam();
  const bool f64 = dt == DType::F64;
  Tensor A = random_tensor({2, 6, 9, 11}, dt, -1, 1, 1);
  Tensor G = random_tensor({2, 6, 9, 11}, dt, -1, 1, 2);
  Tensor wc = random_tensor({2, 6, 1, 1}, dt, -1, 1, 3);
  const double P = 99;

  // GradCAM's weights and their gradient (dα/P broadcast, through the pointwise ops).
  Tol mean_tol = parity_tolerance("cam_channel_mean", f64, P, 1.0 / P);
  check(
      "cam_channel_weights", [](auto& x) { return cam_channel_weights(x[0]); }, {G}, {true},
      mean_tol, parity_tolerance("scalar_affine", f64));
  // Non-negative activations (as after a ReLU): Σ A > 0 (about 50 per channel), so no term's
  // denominator cancels and every term is at most relu(g)·g²/(2g²) = 1/2. max_abs as in
  // cam_parity_test: 1/2 + Σ|a|/|Σ A|·Σ|term| = 1/2 + Σ|term| <= 1/2 + 99/2 (A >= 0).
  Tensor Apos = random_tensor({2, 6, 9, 11}, dt, 0, 1, 5);
  check(
      "gradcampp_channel_weights", [](auto& x) { return gradcampp_channel_weights(x[0], x[1]); },
      {Apos, G}, {false, false}, parity_tolerance("gradcampp_weights", f64, P, 50.0), Tol{0, 0});
  // Weighted sum + ReLU, channel and pixel weights, differentiable in A.
  for (const Tensor& w : {wc, G})
    check(
        "cam_weighted_sum_relu", [](auto& x) { return cam_weighted_sum_relu(x[0], x[1]); }, {A, w},
        {true, false}, parity_tolerance("cam_weighted_sum_relu", f64),
        parity_tolerance("cam_weighted_sum_relu_backward", f64));
  // Min-max normalisation of N×h×w maps: one chunk and several (4096-pixel chunks).
  for (const Shape& s : {Shape{3, 9, 11}, Shape{2, 70, 90}}) {
    Tensor x = random_tensor(s, dt, 0, 2, 4);
    const double length = double(shape_numel(s) / s[0]);
    check(
        "minmax_normalise", [](auto& x) { return minmax_normalise(x[0], 1e-7); }, {x}, {true},
        parity_tolerance("minmax_normalise", f64),
        parity_tolerance("minmax_normalise_backward", f64, length, 2.0 / 1.9));
  }
  // The CAM pipeline of xgd/cam.cpp (GradCAM): weights, map, normalisation, dA on the device.
  check(
      "gradcam map",
      [](auto& x) { return minmax_normalise(cam_weighted_sum_relu(x[0], x[1]), 1e-7); },
      {A, cam_channel_weights(G)}, {true, false}, parity_tolerance("cam_weighted_sum_relu", f64),
      parity_tolerance("minmax_normalise_backward", f64, P, 2.0 / 0.1));
}

TEST_P(EngineOptimCamCuda, CamOpErrors) {
  const DType dt = GetParam();
  Tensor A = random_tensor({1, 2, 3, 3}, dt, -1, 1, 1).to(Device::CUDA);
  Tensor w = random_tensor({1, 2, 1, 1}, dt, -1, 1, 2);
  EXPECT_THROW(cam_weighted_sum_relu(A, w), Error);  // devices differ
  EXPECT_THROW(cam_weighted_sum_relu(A, w.to(Device::CUDA).reshape({1, 2, 1})), Error);
  // No gradient for the weights: asking for one is an error, not a silent zero.
  Tensor wd = w.to(Device::CUDA).detach().requires_grad_();
  Tensor Ad = A.detach().requires_grad_();
  Tensor m = cam_weighted_sum_relu(Ad, wd);
  EXPECT_THROW(m.backward(Tensor::ones(m.shape(), dt).to(Device::CUDA)), Error);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, EngineOptimCamCuda, ::testing::Values(DType::F32, DType::F64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace xgd::test
