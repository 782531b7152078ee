// The CUDA runtime (kernels/cuda/runtime.*): start-up errors, checked calls, the caching
// allocator, device information. Label gpu; the tests that need no device run everywhere.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <iostream>

#include "engine/ops/pointwise.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/runtime.h"
#include "tests/emu/device_test.h"

namespace xgd::test {
namespace {

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(CudaRuntime, CheckedCallNamesFileLineCallAndError) {
  std::string m = message_of([] { XGD_CUDA_CHECK(cudaSetDevice(9999)); });
  EXPECT_NE(m.find("gpu_runtime_test.cpp:"), std::string::npos) << m;
  EXPECT_NE(m.find("cudaSetDevice(9999)"), std::string::npos) << m;
  EXPECT_NE(m.find("cudaError"), std::string::npos) << m;
}

TEST(CudaRuntime, BackendRegistersItselfAtStartUp) {
  // No ensure_registered() here: linking xgd::cuda_backend (whole archive) registered it. Run
  // alone (ctest runs each test in its own process) this fails if the registration was dropped.
  std::string m = message_of([] { Tensor::empty({4}, DType::F32, Device::CUDA); });
  EXPECT_EQ(m.find("has no CUDA backend"), std::string::npos) << m;
}

TEST(CudaRuntime, SizeClassesWasteAtMostAQuarter) {
  EXPECT_EQ(cuda::size_class(0), 512u);
  EXPECT_EQ(cuda::size_class(1), 512u);
  EXPECT_EQ(cuda::size_class(513), 1024u);
  EXPECT_EQ(cuda::size_class(1 << 20), size_t(1) << 20);
  EXPECT_EQ(cuda::size_class((1 << 20) + 1), size_t(5) << 18);  // 1.25 MiB
  for (size_t b = 1; b < (size_t(1) << 34); b = b * 3 / 2 + 7) {
    size_t c = cuda::size_class(b);
    ASSERT_GE(c, b);
    ASSERT_LE(c, std::max<size_t>(512, b + b / 4 + 512)) << b;
    ASSERT_EQ(cuda::size_class(c), c) << "a class is its own class: " << c;
  }
}

TEST(CudaRuntime, NoDeviceIsAClearError) {
  std::string why;
  if (cuda::device_available(&why)) GTEST_SKIP() << "a device is present";
  std::string m = message_of([] { Tensor::empty({4}, DType::F32, Device::CUDA); });
  EXPECT_NE(m.find("no usable CUDA device"), std::string::npos) << m;
  EXPECT_EQ(m, why);
}

TEST(CudaRuntime, DescribeNamesVersionsAndGpu) {
  XGD_REQUIRE_DEVICE();
  std::string d = cuda::describe();
  std::cout << d;  // scripts/gpu-check.sh logs it
  for (const char* key : {"CUDA runtime: ", "CUDA driver: ", "cuDNN: ", "GPU 0: ", "sm_"})
    EXPECT_NE(d.find(key), std::string::npos) << key << " missing in\n" << d;
  EXPECT_FALSE(cuda::device_info().name.empty());
}

TEST(CudaRuntime, AllocatorServesASteadyStateStepFromItsCache) {
  XGD_REQUIRE_DEVICE();
  auto step = [] {
    Tensor a = Tensor::ones({64, 1000}, DType::F32, Device::CUDA);
    Tensor b = Tensor::full({1000}, 2.0, DType::F32, Device::CUDA);
    Tensor y = relu(a * b + 1.0);
    return y.to_vector()[0];  // reads a value: one synchronisation
  };
  EXPECT_EQ(step(), 3.0);
  cuda::AllocatorStats warm = cuda::allocator_stats();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(step(), 3.0);
  cuda::AllocatorStats after = cuda::allocator_stats();
  EXPECT_EQ(after.device_mallocs, warm.device_mallocs) << "cudaMalloc in a steady-state step";
  EXPECT_GT(after.allocations, warm.allocations);
  EXPECT_GE(after.peak_in_use, size_t(64 * 1000 * 4) * 2);
  EXPECT_EQ(after.in_use, warm.in_use);  // every block of the steps was returned
}

TEST(CudaRuntime, OutOfMemoryNamesTheSizeAsked) {
  XGD_REQUIRE_DEVICE();
  const size_t huge = size_t(1) << 50;  // 1 PiB
  std::string m = message_of([&] { cuda::allocate(huge); });
  EXPECT_NE(m.find("out of memory allocating 1125899906842624 bytes"), std::string::npos) << m;
  void* p = cuda::allocate(1024);  // the allocator still works
  cuda::deallocate(p, 1024);
}

}  // namespace
}  // namespace xgd::test
