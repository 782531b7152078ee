// Optimizers and LR schedules against torch.optim (fixtures from tests/reference/ops_optim.py):
// two parameters in two param groups, 5 steps with fixed gradients, the parameters after
// every step compared.
// Tolerances: each step is a handful of float32 roundings per element, in the same order as
// ATen's (kernels/common/optim.h), and the only freedom left is where torch's compiled kernels
// fuse a multiply-add; that is < 1 ulp per step, so after 5 steps atol 1e-7 + rtol 2e-6
// (~16 ulp) for float32; float64 (adam_f64) 1e-15 + 1e-13. The schedules are closed forms in
// double on both sides: rtol 1e-12.
#include <gtest/gtest.h>

#include <algorithm>

#include "engine/optim.h"
#include "tests/support/fixture.h"

namespace xgd::optim {
namespace {

using test::Fixture;

Tensor row(const Tensor& stacked, int64_t i) {  // stacked (S, ...) -> (...), a copy
  Shape s(stacked.shape().begin() + 1, stacked.shape().end());
  int64_t n = shape_numel(s);
  std::vector<double> v = stacked.to_vector();
  return Tensor::from_vector(std::vector<double>(v.begin() + i * n, v.begin() + (i + 1) * n), s,
                             stacked.dtype());
}

double meta_or(const Fixture& f, const std::string& key, double fallback) {
  return f.metadata.count(key) ? f.number(key) : fallback;
}

std::unique_ptr<Optimizer> make(const Fixture& f, std::vector<ParamGroup> groups) {
  std::string kind = f.metadata.at("kind");
  if (kind == "\"sgd\"")
    return std::make_unique<SGD>(
        std::move(groups),
        SGDOptions{.momentum = meta_or(f, "momentum", 0.0),
                   .dampening = meta_or(f, "dampening", 0.0),
                   .nesterov = f.metadata.count("nesterov") > 0 && f.flag("nesterov")});
  AdamOptions o{.beta1 = meta_or(f, "beta1", 0.9),
                .beta2 = meta_or(f, "beta2", 0.999),
                .eps = meta_or(f, "eps", 1e-8)};
  if (kind == "\"adam\"") return std::make_unique<Adam>(std::move(groups), o);
  if (kind == "\"adamw\"") return std::make_unique<AdamW>(std::move(groups), o);
  ADD_FAILURE() << "unknown optimizer kind " << kind << " in " << f.path;
  return nullptr;
}

TEST(OptimReference, TrajectoriesMatchTorch) {
  auto cases = test::fixture_cases("optim");
  EXPECT_GE(cases.size(), 8u);
  for (auto& c : cases) {
    Fixture f = test::load_fixture("optim", c);
    SCOPED_TRACE(f.path);
    bool f64 = f["p0"].dtype() == DType::F64;
    double atol = f64 ? 1e-15 : 1e-7, rtol = f64 ? 1e-13 : 2e-6;
    Tensor p0 = f["p0"].clone().detach().requires_grad_();
    Tensor p1 = f["p1"].clone().detach().requires_grad_();
    auto opt = make(f, {ParamGroup{{{"p0", p0}}, f.number("lr0"), f.number("wd0")},
                        ParamGroup{{{"p1", p1}}, f.number("lr1"), f.number("wd1")}});
    ASSERT_TRUE(opt);
    std::vector<int64_t> skip = f.ints("skip1");
    int64_t steps = f["traj0"].size(0);
    for (int64_t s = 0; s < steps; ++s) {
      SCOPED_TRACE("step " + std::to_string(s));
      p0.set_grad(row(f["grads0"], s));
      bool skipped = std::find(skip.begin(), skip.end(), s) != skip.end();
      p1.set_grad(skipped ? Tensor() : row(f["grads1"], s));
      opt->step();
      EXPECT_ALL_CLOSE(p0, row(f["traj0"], s), atol, rtol);
      EXPECT_ALL_CLOSE(p1, row(f["traj1"], s), atol, rtol);
    }
    // The exported state holds torch's values under torch's state names.
    auto state = opt->state_dict();
    for (auto& [name, t] : f.tensors) {
      if (name.rfind("state0_", 0) != 0) continue;
      std::string key = "optim.p0." + name.substr(7);
      ASSERT_EQ(state.count(key), 1u) << key;
      EXPECT_ALL_CLOSE(state.at(key), t, atol, rtol);
    }
    if (f.number("step0") > 0) {
      EXPECT_EQ(state.at("optim.p0.step").item(), f.number("step0"));
    }
  }
}

TEST(OptimReference, SchedulesMatchTorch) {
  auto cases = test::fixture_cases("lr_schedule");
  EXPECT_GE(cases.size(), 5u);
  for (auto& c : cases) {
    Fixture f = test::load_fixture("lr_schedule", c);
    SCOPED_TRACE(f.path);
    std::string kind = f.metadata.at("kind");
    double base = f.number("base");
    LrSchedule s =
        kind == "\"poly\""     ? LrSchedule::poly(base, f.ints("total")[0], f.number("power"))
        : kind == "\"cosine\"" ? LrSchedule::cosine(base, f.ints("total")[0], f.number("min"))
                               : LrSchedule::constant(base);
    if (f.metadata.count("warmup"))
      s = s.with_warmup(f.ints("warmup")[0], f.number("start_factor"));
    std::vector<double> expected = f["lr"].to_vector();
    std::vector<double> actual;
    for (size_t i = 0; i < expected.size(); ++i) actual.push_back(s.lr(static_cast<int64_t>(i)));
    EXPECT_ALL_CLOSE(Tensor::from_vector(actual, {static_cast<int64_t>(actual.size())}, DType::F64),
                     f["lr"], 1e-15, 1e-12);
  }
}

}  // namespace
}  // namespace xgd::optim
