// Optimizer CUDA kernels (kernels/cuda/optim.cu) against the CPU kernels (kernels/cpu/optim.cpp)
// on the same inputs, several steps in a row (state carried over), float and double, odd sizes,
// partial blocks and grid-stride loops (set_max_grid_blocks). Both sides run the per-element
// maths of kernels/common/optim.h, so they agree bit for bit (tests/emu/tolerance.h: budget 0).
// Label emu (the kernels under the CPU execution of CUDA) and gpu (the same on a device).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "engine/tensor.h"
#include "kernels/cpu/optim.h"
#include "kernels/cuda/optim.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd::test {
namespace {

namespace cpu = kernels::cpu;
namespace gpu = kernels::cuda;

// One element, odd, one block minus/exactly/plus one (256-thread blocks), several blocks.
constexpr int64_t kSizes[] = {1, 7, 255, 256, 257, 1000, 4099};

template <class T>
void expect_parity(const std::string& op, const std::vector<T>& device, const std::vector<T>& host,
                   const std::string& what) {
  Tol tol = parity_tolerance(op, std::is_same_v<T, double>);
  Shape s{static_cast<int64_t>(host.size())};
  EXPECT_ALL_CLOSE(Tensor::from_data(device.data(), s), Tensor::from_data(host.data(), s), tol.atol,
                   tol.rtol)
      << op << " " << what;
}

template <class T>
void upload(DeviceBuffer<T>& d, const std::vector<T>& v) {
  XGD_CUDA_CHECK(cudaMemcpy(d.get(), v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
}

class OptimParity : public ::testing::Test {
 protected:
  void SetUp() override { gpu::set_max_grid_blocks(0); }
  void TearDown() override { gpu::set_max_grid_blocks(0); }
};

struct SgdCase {
  double lr, wd, momentum, dampening;
  bool nesterov;
};

template <class T>
void sgd_cases() {
  const SgdCase cases[] = {{0.1, 0, 0, 0, false},
                           {0.05, 1e-2, 0, 0, false},
                           {0.1, 0, 0.9, 0, false},
                           {0.1, 5e-4, 0.9, 0.1, false},
                           {0.01, 1e-3, 0.9, 0, true}};
  uint64_t seed = 1;
  for (int64_t n : kSizes)
    for (const SgdCase& c : cases) {
      auto p = random_vec<T>(n, -1, 1, seed++);
      DeviceBuffer<T> dp(p), dg(n), dbuf(n);  // dbuf: fresh (NaN under the emulator)
      std::vector<T> buf(n, T(0));
      const bool momentum = c.momentum != 0;
      for (int step = 0; step < 3; ++step) {
        auto g = random_vec<T>(n, -2, 2, seed++);
        upload(dg, g);
        kernels::SgdHyper<T> h{T(-c.lr),   T(c.wd),  T(c.momentum), T(1.0 - c.dampening),
                               c.nesterov, step == 0};
        cpu::sgd_step<T>(p.data(), g.data(), momentum ? buf.data() : nullptr, n, h);
        gpu::sgd_step<T>(dp.get(), dg.get(), momentum ? dbuf.get() : nullptr, n, h, nullptr);
        const std::string what = "n=" + std::to_string(n) + " step " + std::to_string(step) +
                                 " momentum " + std::to_string(c.momentum) +
                                 (c.nesterov ? " nesterov" : "");
        expect_parity("sgd_step", dp.to_host(), p, "param, " + what);
        if (momentum) expect_parity("sgd_step", dbuf.to_host(), buf, "momentum buffer, " + what);
      }
    }
}

TEST_F(OptimParity, Sgd) {
  XGD_REQUIRE_DEVICE();
  sgd_cases<float>();
  sgd_cases<double>();
}

TEST_F(OptimParity, SgdGridStride) {
  XGD_REQUIRE_DEVICE();
  gpu::set_max_grid_blocks(2);  // 4099 elements over 2 blocks of 256: 8+ grid-stride rounds
  sgd_cases<float>();
}

template <class T>
void adam_cases() {
  struct Case {
    double lr, wd, beta1, beta2, eps;
    bool decoupled;
  };
  const Case cases[] = {{1e-3, 0, 0.9, 0.999, 1e-8, false},
                        {1e-2, 1e-2, 0.9, 0.999, 1e-8, false},
                        {1e-3, 1e-2, 0.8, 0.99, 1e-6, true}};
  uint64_t seed = 100;
  for (int64_t n : kSizes)
    for (const Case& c : cases) {
      auto p = random_vec<T>(n, -1, 1, seed++);
      std::vector<T> m(n, T(0)), v(n, T(0));
      DeviceBuffer<T> dp(p), dg(n), dm(m), dv(v);
      for (int step = 1; step <= 4; ++step) {
        auto g = random_vec<T>(n, -1, 1, seed++);
        g[0] = T(0);  // a zero gradient: denom is eps alone at the first step
        upload(dg, g);
        // The host scalars as engine/optim/optimizer.cpp builds them.
        const double bc1 = 1.0 - std::pow(c.beta1, step), bc2 = 1.0 - std::pow(c.beta2, step);
        kernels::AdamHyper<T> h;
        h.l2 = c.decoupled ? T(0) : T(c.wd);
        h.decay = c.decoupled && c.wd != 0 ? T(1.0 - c.lr * c.wd) : T(1);
        h.lerp_weight = T(1.0 - c.beta1);
        h.beta2 = T(c.beta2);
        h.one_minus_beta2 = T(1.0 - c.beta2);
        h.bc2_sqrt = T(std::pow(bc2, 0.5));
        h.eps = T(c.eps);
        h.neg_step_size = T(-(c.lr / bc1));
        cpu::adam_step<T>(p.data(), g.data(), m.data(), v.data(), n, h);
        gpu::adam_step<T>(dp.get(), dg.get(), dm.get(), dv.get(), n, h, nullptr);
        const std::string what = "n=" + std::to_string(n) + " step " + std::to_string(step) +
                                 (c.decoupled ? " AdamW" : " Adam") + " wd " + std::to_string(c.wd);
        expect_parity("adam_step", dp.to_host(), p, "param, " + what);
        expect_parity("adam_step", dm.to_host(), m, "exp_avg, " + what);
        expect_parity("adam_step", dv.to_host(), v, "exp_avg_sq, " + what);
      }
    }
}

TEST_F(OptimParity, AdamAndAdamW) {
  XGD_REQUIRE_DEVICE();
  adam_cases<float>();
  adam_cases<double>();
}

TEST_F(OptimParity, AdamGridStride) {
  XGD_REQUIRE_DEVICE();
  gpu::set_max_grid_blocks(3);
  adam_cases<double>();
}

}  // namespace
}  // namespace xgd::test
