#include <gtest/gtest.h>

#include <cmath>

#include "engine/ops/pointwise.h"
#include "engine/rng.h"
#include "engine/tensor.h"
#include "kernels/common/philox.h"

namespace xgd {
namespace {

TEST(Tensor, FactoriesAndMetadata) {
  Tensor t = Tensor::zeros({2, 3, 4});
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.dim(), 3);
  EXPECT_EQ(t.size(-1), 4);
  EXPECT_EQ(t.dtype(), DType::F32);
  EXPECT_EQ(t.device(), Device::CPU);
  EXPECT_EQ(t.str(), "float32[2, 3, 4] cpu");
  EXPECT_THROW(t.size(3), Error);
  Tensor f = Tensor::full({2}, 2.5, DType::F64);
  EXPECT_EQ(f.to_vector(), (std::vector<double>{2.5, 2.5}));
  EXPECT_THROW(Tensor::from_vector({1, 2, 3}, {2, 2}), Error);
  EXPECT_THROW(f.data<float>(), Error);
  EXPECT_THROW(Tensor().shape(), Error);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u);
}

TEST(Tensor, ReshapeSharesStorage) {
  Tensor t = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor r = t.reshape({3, -1});
  EXPECT_EQ(r.shape(), (Shape{3, 2}));
  r.data<float>()[0] = 42;
  EXPECT_EQ(t.data<float>()[0], 42);
  EXPECT_THROW(t.reshape({4, -1}), Error);
  EXPECT_THROW(t.reshape({-1, -1}), Error);
  Tensor c = t.clone();
  c.data<float>()[1] = -1;
  EXPECT_EQ(t.data<float>()[1], 2);
}

TEST(Tensor, DtypeConversionAndItem) {
  Tensor t = Tensor::from_vector({1.5, -2.5}, {2}, DType::F64);
  Tensor f = t.to(DType::F32);
  EXPECT_EQ(f.dtype(), DType::F32);
  EXPECT_EQ(f.to_vector(), (std::vector<double>{1.5, -2.5}));
  Tensor i = t.to(DType::I64);
  EXPECT_EQ(i.to_vector(), (std::vector<double>{1, -2}));  // truncation, as PyTorch
  EXPECT_EQ(Tensor::scalar(3.0).item(), 3.0);
  EXPECT_THROW(t.item(), Error);
}

TEST(Tensor, NoCudaBackendIsAClearError) {
  try {
    Tensor::zeros({2}, DType::F32, Device::CUDA);
    // A CUDA build with a registered runtime may allocate; nothing else to check then.
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cuda"), std::string::npos);
  }
}

TEST(Philox, KnownAnswers) {
  // Random123's kat_vectors for philox4x32_10.
  auto r = kernels::philox4x32_10(0, 0, 0);
  EXPECT_EQ(r.v[0], 0x6627e8d5u);
  EXPECT_EQ(r.v[1], 0xe169c58du);
  EXPECT_EQ(r.v[2], 0xbc57ac4cu);
  EXPECT_EQ(r.v[3], 0x9b00dbd8u);
  r = kernels::philox4x32_10(~0ull, ~0ull, ~0ull);
  EXPECT_EQ(r.v[0], 0x408f276du);
  EXPECT_EQ(r.v[1], 0x41c83b0eu);
  EXPECT_EQ(r.v[2], 0xa20bc7c6u);
  EXPECT_EQ(r.v[3], 0x6d5451fdu);
  r = kernels::philox4x32_10(0x85a308d3243f6a88ull, 0x0370734413198a2eull,
                             0x299f31d0a4093822ull);
  EXPECT_EQ(r.v[0], 0xd16cfe09u);
  EXPECT_EQ(r.v[1], 0x94fdcceb);
  EXPECT_EQ(r.v[2], 0x5001e420u);
  EXPECT_EQ(r.v[3], 0x24126ea1u);
}

TEST(Rng, ReproducibleAndDisjointStreams) {
  Generator g1(7), g2(7);
  Tensor a = Tensor::empty({1000}), b = Tensor::empty({1000}), c = Tensor::empty({1000});
  uniform_(a, 0, 1, g1);
  uniform_(b, 0, 1, g2);
  uniform_(c, 0, 1, g1);  // continues the stream
  EXPECT_EQ(a.to_vector(), b.to_vector());
  EXPECT_NE(a.to_vector(), c.to_vector());
  double mean = 0;
  for (double v : a.to_vector()) {
    EXPECT_GE(v, 0.0);
    EXPECT_LT(v, 1.0);
    mean += v / 1000;
  }
  EXPECT_NEAR(mean, 0.5, 0.03);  // 3.3 sigma for n=1000 (sigma = 0.289/sqrt(1000))
  Tensor n = Tensor::empty({20000});
  normal_(n, 1.0, 2.0, g1);
  double m = 0, v2 = 0;
  for (double v : n.to_vector()) m += v / 20000;
  for (double v : n.to_vector()) v2 += (v - m) * (v - m) / 20000;
  EXPECT_NEAR(m, 1.0, 0.05);           // 3.5 sigma (2/sqrt(20000) = 0.014)
  EXPECT_NEAR(std::sqrt(v2), 2.0, 0.05);
}

TEST(Rng, KaimingBoundsFollowPyTorch) {
  Generator g(1);
  Tensor w = Tensor::empty({64, 32, 3, 3});
  EXPECT_EQ(fan_in(w), 32 * 9);
  EXPECT_EQ(fan_out(w), 64 * 9);
  kaiming_uniform_(w, std::sqrt(5.0), true, g);  // nn.Conv2d default: bound 1/sqrt(fan_in)
  double bound = 1.0 / std::sqrt(32.0 * 9), mx = 0;
  for (double v : w.to_vector()) mx = std::max(mx, std::abs(v));
  EXPECT_LE(mx, bound);
  EXPECT_GT(mx, 0.99 * bound);
}

}  // namespace
}  // namespace xgd
