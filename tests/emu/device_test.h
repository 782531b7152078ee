// Shared by the emu tests (kernels run by the CPU execution of the CUDA model) and the gpu tests
// (the same test sources on a real device, XGD_GPU_TEST): device memory, device presence, and
// the engine's CUDA backend.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>
#include <string>
#include <vector>

#if defined(XGD_GPU_TEST)
#include <cuda_runtime_api.h>
#else
#include "kernels/emu/emu.h"
#endif
#include "engine/tensor.h"
#include "kernels/cuda/check.h"

namespace xgd::test {

// gpu: whether a usable device is present (why not, otherwise); emu: always true.
bool device_present(std::string* why);
// Makes the engine's Device::CUDA the real backend (gpu) or the emulator (emu).
void use_cuda_backend();

// Test inputs: uniform in [lo, hi), reproducible from the seed.
template <class T>
std::vector<T> random_vec(size_t n, double lo, double hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(u(rng));
  return v;
}
inline Tensor random_tensor(const Shape& shape, DType dtype, double lo, double hi, uint64_t seed) {
  const std::vector<double> v =
      random_vec<double>(static_cast<size_t>(shape_numel(shape)), lo, hi, seed);
  return Tensor::from_vector(v, shape, dtype);
}

// An engine op (or graph) under test, inputs -> output.
using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;
struct OpResult {
  Tensor out;
  std::vector<Tensor> grads;  // on the CPU
};
// f on copies of `inputs` on `device`, then backward with `grad`; everything returned on the CPU.
// Expects the output and every input's gradient on `device`.
inline OpResult run_op(const OpFn& f, const std::vector<Tensor>& inputs, const Tensor& grad,
                       Device device) {
  std::vector<Tensor> in;
  for (const Tensor& t : inputs) in.push_back(t.to(device).detach().requires_grad_());
  Tensor out = f(in);
  EXPECT_EQ(out.device(), device) << "result of an op on " << device_name(device);
  out.backward(grad.to(device));
  OpResult r{out.detach().to(Device::CPU), {}};
  for (const Tensor& t : in) {
    EXPECT_TRUE(t.grad().defined()) << "no gradient on " << device_name(device);
    if (!t.grad().defined()) continue;
    EXPECT_EQ(t.grad().device(), device) << "gradient of an input on " << device_name(device);
    r.grads.push_back(t.grad().to(Device::CPU));
  }
  return r;
}

// Device memory for the raw-kernel tests; fresh memory reads NaN under the emulator.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n) : n_(n) {
    XGD_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), std::max<size_t>(n, 1) * sizeof(T)));
  }
  explicit DeviceBuffer(const std::vector<T>& v) : DeviceBuffer(v.size()) {
    XGD_CUDA_CHECK(cudaMemcpy(p_, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~DeviceBuffer() { cudaFree(p_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return p_; }
  std::vector<T> to_host() const {
    XGD_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<T> v(n_);
    XGD_CUDA_CHECK(cudaMemcpy(v.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return v;
  }

 private:
  T* p_ = nullptr;
  size_t n_;
};

}  // namespace xgd::test

// First line of every test that needs the device: skips with the reason on a machine without one.
#define XGD_REQUIRE_DEVICE()                                                                     \
  do {                                                                                           \
    std::string xgd_why_;                                                                        \
    if (!::xgd::test::device_present(&xgd_why_)) GTEST_SKIP() << "no CUDA device: " << xgd_why_; \
  } while (0)
