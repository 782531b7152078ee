// LR schedules: closed forms, warmup composition, clamping, application to param groups.
// Values against torch.optim.lr_scheduler are in tests/reference/optim_test.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/optim.h"

namespace xgd::optim {
namespace {

TEST(LrSchedule, ClosedForms) {
  auto c = LrSchedule::constant(0.1);
  EXPECT_EQ(c.lr(0), 0.1);
  EXPECT_EQ(c.lr(1000), 0.1);

  auto p = LrSchedule::poly(0.1, 10);  // 0.1·(1 − t/10)^0.9
  EXPECT_EQ(p.lr(0), 0.1);
  EXPECT_DOUBLE_EQ(p.lr(5), 0.1 * std::pow(0.5, 0.9));
  EXPECT_EQ(p.lr(10), 0.0);
  EXPECT_EQ(p.lr(25), 0.0);  // past the end: stays 0 (as PolynomialLR)
  EXPECT_DOUBLE_EQ(LrSchedule::poly(1.0, 4, 2.0).lr(1), 0.5625);

  auto k = LrSchedule::cosine(0.1, 8, 0.01);
  EXPECT_EQ(k.lr(0), 0.1);
  EXPECT_DOUBLE_EQ(k.lr(4), 0.055);  // half way: the mean of base and min
  EXPECT_DOUBLE_EQ(k.lr(8), 0.01);
  EXPECT_DOUBLE_EQ(k.lr(100), 0.01);  // held at the minimum after the end
  for (int t = 1; t <= 8; ++t) EXPECT_LT(k.lr(t), k.lr(t - 1)) << t;
}

TEST(LrSchedule, WarmupThenSchedule) {
  auto s = LrSchedule::poly(0.2, 10).with_warmup(4, 0.25);
  // LinearLR: factor 0.25 → 1 over 4 steps; then poly from its own step 0.
  EXPECT_DOUBLE_EQ(s.lr(0), 0.05);
  EXPECT_DOUBLE_EQ(s.lr(1), 0.2 * (0.25 + 0.75 / 4));
  EXPECT_DOUBLE_EQ(s.lr(3), 0.2 * (0.25 + 0.75 * 3 / 4));
  EXPECT_DOUBLE_EQ(s.lr(4), 0.2);
  EXPECT_DOUBLE_EQ(s.lr(9), 0.2 * std::pow(0.5, 0.9));
  EXPECT_EQ(s.lr(14), 0.0);
  EXPECT_DOUBLE_EQ(s.factor(0), 0.25);
  auto w = LrSchedule::constant(1e-3).with_warmup(10, 0.1);
  EXPECT_DOUBLE_EQ(w.lr(5), 1e-3 * 0.55);
  EXPECT_DOUBLE_EQ(w.lr(10), 1e-3);
}

TEST(LrSchedule, AppliesToGroupsInProportion) {
  Tensor a = Tensor::zeros({1}).requires_grad_(), b = Tensor::zeros({1}).requires_grad_();
  SGD opt({ParamGroup{{{"a", a}}, 0.1}, ParamGroup{{{"b", b}}, 0.01}});
  auto s = LrSchedule::cosine(0.1, 10, 0.0);
  s.apply(opt, 5);
  EXPECT_DOUBLE_EQ(opt.param_groups()[0].lr, 0.05);
  EXPECT_DOUBLE_EQ(opt.param_groups()[1].lr, 0.005);
  s.apply(opt, 0);  // a pure function of the step: going back restores the values
  EXPECT_DOUBLE_EQ(opt.param_groups()[0].lr, 0.1);
  EXPECT_DOUBLE_EQ(opt.param_groups()[1].lr, 0.01);
}

TEST(LrSchedule, BadInputs) {
  EXPECT_THROW(LrSchedule::constant(0.0), Error);
  EXPECT_THROW(LrSchedule::constant(-1.0), Error);
  EXPECT_THROW(LrSchedule::poly(0.1, 0), Error);
  EXPECT_THROW(LrSchedule::poly(0.1, 10, 0.0), Error);
  EXPECT_THROW(LrSchedule::cosine(0.1, 10, 0.2), Error);
  EXPECT_THROW(LrSchedule::cosine(0.1, -1), Error);
  EXPECT_THROW(LrSchedule::constant(0.1).with_warmup(0, 0.5), Error);
  EXPECT_THROW(LrSchedule::constant(0.1).with_warmup(5, 0.0), Error);
  EXPECT_THROW(LrSchedule::constant(0.1).with_warmup(5, 0.5).with_warmup(2, 0.5), Error);
  EXPECT_THROW(LrSchedule::constant(0.1).lr(-1), Error);
}

}  // namespace
}  // namespace xgd::optim
