// The engine's bilinear resizing, concat/slice/transpose/one_hot and Tensor::fill_ /
// Tensor::to(DType) on Device::CUDA against the same on the CPU: forward values, autograd
// gradients (slice's backward = zero-fill + copy into the window, concat's = slices), result
// devices, errors. emu: the emulator registered as the CUDA device; gpu: the real backend.
// Everything here is exact (tests/emu/tolerance.h rows bilinear_*, copy, one_hot, cast).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>

#include "engine/autograd.h"
#include "engine/ops/interpolate.h"
#include "engine/ops/pointwise.h"
#include "engine/ops/shape_ops.h"
#include "tests/emu/device_test.h"
#include "tests/emu/tolerance.h"
#include "tests/support/fixture.h"

namespace xgd::test {
namespace {

using Fn = OpFn;

Tensor random_tensor(const Shape& shape, DType dtype, uint64_t seed) {
  return test::random_tensor(shape, dtype, -2, 2, seed);
}

// The op on CUDA against the op on the CPU, forward and every input's gradient, within the
// tolerance of `op` (all 0 here: the same bits).
void check(const std::string& op, const Fn& f, const std::vector<Tensor>& inputs) {
  Tensor probe = f(inputs);
  Tensor grad = random_tensor(probe.shape(), probe.dtype(), 99);
  OpResult c = run_op(f, inputs, grad, Device::CPU);
  OpResult d = run_op(f, inputs, grad, Device::CUDA);
  Tol t = parity_tolerance(op, probe.dtype() == DType::F64);
  EXPECT_ALL_CLOSE(d.out, c.out, t.atol, t.rtol) << op << " forward, " << probe.str();
  ASSERT_EQ(d.grads.size(), c.grads.size());
  for (size_t i = 0; i < d.grads.size(); ++i)
    EXPECT_ALL_CLOSE(d.grads[i], c.grads[i], t.atol, t.rtol)
        << op << " gradient of input " << i << ", " << inputs[i].str();
}

// Same dtype, shape and bytes (for integer results and exact copies).
void expect_same_bytes(const Tensor& cuda, const Tensor& cpu, const std::string& what) {
  ASSERT_EQ(cuda.device(), Device::CUDA) << what;
  const Tensor h = cuda.to(Device::CPU);
  ASSERT_EQ(h.dtype(), cpu.dtype()) << what;
  ASSERT_EQ(h.shape(), cpu.shape()) << what;
  EXPECT_EQ(0, std::memcmp(h.raw_data(), cpu.raw_data(), cpu.nbytes())) << what;
}

class EngineInterpolateShapeCuda : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override {
    XGD_REQUIRE_DEVICE();
    use_cuda_backend();
  }
};

TEST_P(EngineInterpolateShapeCuda, BilinearBySizeAndScaleWithGradients) {
  const DType dt = GetParam();
  Tensor x = random_tensor({2, 3, 5, 7}, dt, 1);
  for (bool ac : {false, true}) {
    check("bilinear_backward", [ac](auto& v) { return interpolate_bilinear(v[0], 20, 28, ac); },
          {x});
    check("bilinear_backward", [ac](auto& v) { return interpolate_bilinear(v[0], 3, 4, ac); }, {x});
    for (double s : {2.0, 4.0, 8.0, 0.5})
      check("bilinear_backward",
            [ac, s](auto& v) { return interpolate_bilinear_scale(v[0], s, s, ac); }, {x});
  }
}

TEST_P(EngineInterpolateShapeCuda, ConcatSliceTransposeWithGradients) {
  const DType dt = GetParam();
  Tensor a = random_tensor({2, 3, 4, 5}, dt, 11);
  Tensor b = random_tensor({2, 5, 4, 5}, dt, 12);
  Tensor c = random_tensor({2, 1, 4, 5}, dt, 13);
  Tensor d = random_tensor({2, 3, 4, 7}, dt, 14);
  check("copy", [](auto& v) { return concat({v[0], v[1], v[2]}, 1); }, {a, b, c});
  check("copy", [](auto& v) { return concat({v[0], v[0]}, 0); }, {a});  // a used twice
  check("copy", [](auto& v) { return concat({v[0], v[1]}, -1); }, {a, d});
  check("copy", [](auto& v) { return slice(v[0], 1, 2, 7); }, {b});
  check("copy", [](auto& v) { return slice(v[0], -1, -3, INT64_MAX); }, {b});
  check("copy", [](auto& v) { return slice(v[0], 0, 1, 2); }, {a});
  check("copy", [](auto& v) { return transpose(v[0], 1, 3); }, {a});
  check("copy", [](auto& v) { return transpose(v[0], 0, 2); }, {b});
  check("copy", [](auto& v) { return transpose(v[0], -1, -2); }, {c});
  // Concat of slices of one input: its gradient is accumulated from two slice backwards.
  check("copy",
        [](auto& v) {
          return concat({slice(v[0], 1, 0, 2), slice(v[0], 1, 3, 5), v[1]}, 1);
        },
        {b, a});
}

TEST_P(EngineInterpolateShapeCuda, DecoderLikeGraph) {
  // The DeepLabV3+ decoder's pattern: upsample ×4, concat with a skip feature, a pointwise op,
  // then upsample to the input size and slice a class; gradients flow back through all.
  const DType dt = GetParam();
  Tensor aspp = random_tensor({1, 4, 3, 5}, dt, 21);
  Tensor skip = random_tensor({1, 2, 12, 20}, dt, 22);
  check("bilinear_backward",
        [](auto& v) {
          Tensor up = interpolate_bilinear_scale(v[0], 4, 4, false);
          Tensor cat = concat({up, v[1]}, 1);
          Tensor y = interpolate_bilinear(cat * 0.5, 47, 81, true);
          return slice(y, 1, 1, 5);
        },
        {aspp, skip});
}

TEST_P(EngineInterpolateShapeCuda, OneHotAndItsErrors) {
  const DType dt = GetParam();
  std::vector<double> v;
  for (int i = 0; i < 2 * 3 * 37; ++i) v.push_back(i % 11 == 0 ? 255 : i % 5);
  Tensor labels = Tensor::from_vector(v, {2, 3, 37}, DType::I64);
  Tensor ref = one_hot(labels, 5, 255, dt);
  Tensor got = one_hot(labels.to(Device::CUDA), 5, 255, dt);
  expect_same_bytes(got, ref, "one_hot");
  v[40] = 5;  // outside [0, 5) and not ignore_index
  v[90] = -2;
  Tensor bad = Tensor::from_vector(v, {2, 3, 37}, DType::I64);
  std::string cpu_msg, cuda_msg;
  try {
    one_hot(bad, 5, 255, dt);
  } catch (const Error& e) {
    cpu_msg = e.what();
  }
  try {
    one_hot(bad.to(Device::CUDA), 5, 255, dt);
  } catch (const Error& e) {
    cuda_msg = e.what();
  }
  ASSERT_NE(cpu_msg.find("label 5 at flat index 40"), std::string::npos) << cpu_msg;
  EXPECT_NE(cuda_msg.find("label 5 at flat index 40"), std::string::npos) << cuda_msg;
}

INSTANTIATE_TEST_SUITE_P(Dtypes, EngineInterpolateShapeCuda,
                         ::testing::Values(DType::F32, DType::F64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

class EngineTensorCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    XGD_REQUIRE_DEVICE();
    use_cuda_backend();
  }
};

TEST_F(EngineTensorCuda, FillEveryDtype) {
  for (DType dt : {DType::F32, DType::F64, DType::I64, DType::U8})
    for (double value : {0.0, 1.0, 7.0, -3.5}) {
      if (dt == DType::U8 && value < 0) continue;  // out of range: undefined on the CPU
      const Shape shape{3, 5, 17};
      expect_same_bytes(Tensor::full(shape, value, dt, Device::CUDA),
                        Tensor::full(shape, value, dt, Device::CPU),
                        std::string("full ") + dtype_name(dt) + " " + std::to_string(value));
      Tensor t = random_tensor(shape, DType::F64, 5).to(dt).to(Device::CUDA);
      t.fill_(value);
      expect_same_bytes(t, Tensor::full(shape, value, dt), std::string("fill_ ") + dtype_name(dt));
    }
  expect_same_bytes(Tensor::zeros({0, 4}, DType::F32, Device::CUDA), Tensor::zeros({0, 4}),
                    "empty tensor");
}

TEST_F(EngineTensorCuda, ToDtypeEveryPair) {
  // Values in range of every dtype (0..250, with fractions), so each conversion is defined.
  std::vector<double> v;
  for (int i = 0; i < 300; ++i) v.push_back(std::fmod(i * 7.37, 250.0));
  const DType all[] = {DType::F32, DType::F64, DType::I64, DType::U8};
  for (DType from : all) {
    Tensor src = Tensor::from_vector(v, {3, 100}, from);
    for (DType to : all) {
      Tensor got = src.to(Device::CUDA).to(to);
      expect_same_bytes(got, src.to(to),
                        std::string("to ") + dtype_name(from) + " -> " + dtype_name(to));
    }
  }
}

TEST_F(EngineTensorCuda, ToDtypeKeepsAutogradBetweenFloats) {
  Tensor x = random_tensor({4, 9}, DType::F64, 31);
  Tensor g = random_tensor({4, 9}, DType::F32, 32);
  for (Device dev : {Device::CPU, Device::CUDA}) {
    Tensor leaf = x.to(dev).detach().requires_grad_();
    Tensor y = leaf.to(DType::F32) * 3.0;
    ASSERT_NE(y.grad_fn(), nullptr) << device_name(dev);
    y.backward(g.to(dev));
    ASSERT_TRUE(leaf.grad().defined()) << device_name(dev);
    EXPECT_EQ(leaf.grad().device(), dev);
    EXPECT_EQ(leaf.grad().dtype(), DType::F64);
    Tensor expected = (g * 3.0).to(DType::F64);
    EXPECT_ALL_CLOSE(leaf.grad().to(Device::CPU), expected, 0, 0) << device_name(dev);
  }
  // Integer results carry no gradient, on either device.
  Tensor leaf = x.to(Device::CUDA).detach().requires_grad_();
  EXPECT_EQ(leaf.to(DType::I64).grad_fn(), nullptr);
}

}  // namespace
}  // namespace xgd::test
