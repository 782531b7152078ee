// Optimizers: training reduces a loss, parameter groups, weight-decay split, skipped parameters,
// state export/import (bit-identical resume through a safetensors checkpoint), bad inputs.
// The trajectories against torch.optim are in tests/reference/optim_test.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>

#include "engine/io/safetensors.h"
#include "engine/nn.h"
#include "engine/ops/pointwise.h"
#include "engine/optim.h"

namespace xgd::optim {
namespace {

namespace fs = std::filesystem;
using nn::Module;

// y = relu(x·a + b)·c + d per feature, x: (N, 3). The "bn" child stands for a normalisation
// layer (its weight and bias get no weight decay).
struct Norm : Module {
  Norm() : Module("BatchNorm2d") {
    weight = register_parameter("weight", Tensor::from_vector({1.0, 0.9, 1.1}, {3}));
    bias = register_parameter("bias", Tensor::from_vector({0.0, 0.1, -0.1}, {3}));
  }
  bool is_normalization() const override { return true; }
  Tensor forward(const Tensor& x) override { return add(mul(x, weight), bias); }
  Tensor weight, bias;
};

struct Affine : Module {
  Affine(std::vector<double> w, std::vector<double> b) : Module("Affine") {
    weight = register_parameter("weight", Tensor::from_vector(w, {3}));
    bias = register_parameter("bias", Tensor::from_vector(b, {3}));
  }
  Tensor forward(const Tensor& x) override { return add(mul(x, weight), bias); }
  Tensor weight, bias;
};

struct Tiny : Module {
  Tiny() : Module("Tiny") {
    fc1 = register_module("fc1", std::make_shared<Affine>(std::vector<double>{0.3, 0.2, 0.5},
                                                          std::vector<double>{0.1, 0.2, 0.3}));
    bn = register_module("bn", std::make_shared<Norm>());
    fc2 = register_module("fc2", std::make_shared<Affine>(std::vector<double>{0.5, 0.4, 0.3},
                                                          std::vector<double>{0.0, 0.0, 0.0}));
  }
  Tensor forward(const Tensor& x) override { return (*fc2)(relu((*bn)((*fc1)(x)))); }
  std::shared_ptr<Affine> fc1, fc2;
  std::shared_ptr<Norm> bn;
};

Tensor inputs() {  // (16, 3)
  std::vector<double> v(48);
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.7 * i + 0.3) * 1.5;
  return Tensor::from_vector(v, {16, 3});
}
Tensor targets(const Tensor& x) {  // a reachable target: 2·relu(x + 0.5) − 0.3
  std::vector<double> v = x.to_vector();
  for (double& e : v) e = 2.0 * std::max(e + 0.5, 0.0) - 0.3;
  return Tensor::from_vector(v, x.shape());
}

// One step of mean squared error; returns the loss before the update.
double train_step(Module& m, Optimizer& opt, const Tensor& x, const Tensor& t) {
  opt.zero_grad();
  Tensor y = m(x);
  std::vector<double> yv = y.to_vector(), tv = t.to_vector(), dy(yv.size());
  double loss = 0;
  for (size_t i = 0; i < yv.size(); ++i) {
    double d = yv[i] - tv[i];
    loss += d * d / yv.size();
    dy[i] = 2.0 * d / yv.size();  // d(mean((y − t)²))/dy
  }
  y.backward(Tensor::from_vector(dy, y.shape()));
  opt.step();
  return loss;
}

using Factory = std::function<std::unique_ptr<Optimizer>(std::vector<ParamGroup>)>;
const std::vector<std::pair<std::string, Factory>>& factories() {
  static const std::vector<std::pair<std::string, Factory>> f = {
      {"sgd_momentum",
       [](auto g) { return std::make_unique<SGD>(std::move(g), SGDOptions{.momentum = 0.9}); }},
      {"sgd_nesterov",
       [](auto g) {
         return std::make_unique<SGD>(std::move(g), SGDOptions{.momentum = 0.9, .nesterov = true});
       }},
      {"adam", [](auto g) { return std::make_unique<Adam>(std::move(g)); }},
      {"adamw", [](auto g) { return std::make_unique<AdamW>(std::move(g)); }},
  };
  return f;
}

TEST(Optim, TrainingReducesTheLossWithEveryOptimizer) {
  Tensor x = inputs(), t = targets(x);
  for (auto& [name, make] : factories()) {
    SCOPED_TRACE(name);
    Tiny m;
    // Adam's step is ~lr per parameter regardless of the gradient's size: a larger lr.
    auto opt = make(decay_groups(m, name.rfind("adam", 0) == 0 ? 0.05 : 0.02, 1e-4));
    double first = train_step(m, *opt, x, t), last = first;
    for (int i = 0; i < 200; ++i) last = train_step(m, *opt, x, t);
    EXPECT_LT(last, 0.1 * first) << "first " << first << " last " << last;
  }
}

TEST(Optim, DecayGroupsSplitBiasesAndNormalisation) {
  Tiny m;
  auto groups = decay_groups(m, 0.1, 5e-4);
  ASSERT_EQ(groups.size(), 2u);
  std::vector<std::string> decay, no_decay;
  for (auto& [n, p] : groups[0].params) decay.push_back(n);
  for (auto& [n, p] : groups[1].params) no_decay.push_back(n);
  EXPECT_EQ(decay, (std::vector<std::string>{"fc1.weight", "fc2.weight"}));
  EXPECT_EQ(no_decay, (std::vector<std::string>{"fc1.bias", "bn.weight", "bn.bias", "fc2.bias"}));
  EXPECT_EQ(groups[0].weight_decay, 5e-4);
  EXPECT_EQ(groups[1].weight_decay, 0.0);
  EXPECT_EQ(groups[1].lr, 0.1);
  EXPECT_EQ(all_parameters(m, 0.1).params.size(), 6u);
}

TEST(Optim, GroupsHaveTheirOwnLrAndWeightDecay) {
  // Plain SGD: p ← p − lr·(g + wd·p), per group.
  Tensor a = Tensor::from_vector({1.0, 2.0}, {2}).requires_grad_();
  Tensor b = Tensor::from_vector({1.0, 2.0}, {2}).requires_grad_();
  SGD opt({ParamGroup{{{"a", a}}, 0.5, 0.0}, ParamGroup{{{"b", b}}, 0.25, 0.5}});
  a.set_grad(Tensor::ones({2}));
  b.set_grad(Tensor::ones({2}));
  opt.step();
  EXPECT_EQ(a.to_vector(), (std::vector<double>{0.5, 1.5}));
  EXPECT_EQ(b.to_vector(), (std::vector<double>{1.0 - 0.25 * 1.5, 2.0 - 0.25 * 2.0}));
  // lr factors keep the groups in proportion to their initial lr.
  opt.set_lr_factor(0.1);
  EXPECT_DOUBLE_EQ(opt.param_groups()[0].lr, 0.05);
  EXPECT_DOUBLE_EQ(opt.param_groups()[1].lr, 0.025);
  EXPECT_THROW(opt.set_lr_factor(-1), Error);
}

TEST(Optim, ParametersWithoutGradientAreSkipped) {
  Tensor a = Tensor::from_vector({1.0, 2.0}, {2}).requires_grad_();
  Tensor b = Tensor::from_vector({3.0}, {1}).requires_grad_();
  Adam opt({ParamGroup{{{"a", a}, {"b", b}}, 0.1, 0.1}});
  a.set_grad(Tensor::ones({2}));
  opt.step();
  opt.step();
  EXPECT_EQ(b.to_vector(), std::vector<double>{3.0});
  auto state = opt.state_dict();
  EXPECT_EQ(state.count("optim.b.exp_avg"), 0u);
  ASSERT_EQ(state.count("optim.a.step"), 1u);
  EXPECT_EQ(state.at("optim.a.step").item(), 2);
  EXPECT_EQ(state.at("optim.a.step").dtype(), DType::I64);
  EXPECT_EQ(state.size(), 3u);  // a: step, exp_avg, exp_avg_sq
}

// Runs `steps` training steps with an lr schedule, starting at step index `from`.
void run(Module& m, Optimizer& opt, const LrSchedule& s, int from, int steps) {
  Tensor x = inputs(), t = targets(x);
  for (int i = from; i < from + steps; ++i) {
    s.apply(opt, i);
    train_step(m, opt, x, t);
  }
}

TEST(Optim, StateExportImportResumesBitIdentically) {
  LrSchedule sched = LrSchedule::cosine(0.05, 10, 1e-3).with_warmup(2, 0.1);
  for (auto& [name, make] : factories()) {
    SCOPED_TRACE(name);
    std::string path = (fs::temp_directory_path() /
                        ("xgd_optim_" + std::to_string(::getpid()) + "_" + name + ".safetensors"))
                           .string();
    Tiny a;
    auto opt_a = make(decay_groups(a, 0.05, 1e-3));
    run(a, *opt_a, sched, 0, 4);
    // Checkpoint: weights + optimizer state in one file, as xgd_train writes it.
    std::map<std::string, Tensor> ckpt = opt_a->state_dict();
    for (auto& [k, t] : a.state_dict()) ckpt[k] = t;
    io::save_safetensors(path, ckpt, {{"step", "4"}});
    run(a, *opt_a, sched, 4, 5);

    Tiny b;
    auto opt_b = make(decay_groups(b, 0.05, 1e-3));
    auto file = io::load_safetensors(path);
    std::map<std::string, Tensor> weights;
    for (auto& [k, t] : file.tensors)
      if (k.rfind("optim.", 0) != 0) weights[k] = t;
    b.load_state_dict(weights);
    opt_b->load_state_dict(file.tensors);
    run(b, *opt_b, sched, std::stoi(file.metadata.at("step")), 5);

    auto pa = a.state_dict(), pb = b.state_dict();
    for (size_t i = 0; i < pa.size(); ++i)
      EXPECT_EQ(pa[i].second.to_vector(), pb[i].second.to_vector()) << pa[i].first;
    auto sa = opt_a->state_dict(), sb = opt_b->state_dict();
    ASSERT_EQ(sa.size(), sb.size());
    for (auto& [k, t] : sa) EXPECT_EQ(t.to_vector(), sb.at(k).to_vector()) << k;
    // Without the state, the same steps give other values: the comparison above has teeth.
    Tiny c;
    auto opt_c = make(decay_groups(c, 0.05, 1e-3));
    c.load_state_dict(weights);
    run(c, *opt_c, sched, 4, 5);
    EXPECT_NE(c.state_dict()[0].second.to_vector(), pa[0].second.to_vector());
    fs::remove(path);
  }
}

TEST(Optim, StateNamesAndLoadErrors) {
  Tiny m;
  SGD sgd(decay_groups(m, 0.1, 0.0), SGDOptions{.momentum = 0.5});
  Tensor x = inputs(), t = targets(x);
  train_step(m, sgd, x, t);
  auto state = sgd.state_dict();
  EXPECT_EQ(state.size(), 6u);
  EXPECT_EQ(state.count("optim.fc1.weight.momentum_buffer"), 1u);
  EXPECT_EQ(state.count("optim.fc1.weight.step"), 0u);  // torch's SGD has no step

  auto bad = state;
  bad["optim.nope.momentum_buffer"] = Tensor::zeros({3});
  EXPECT_THROW(sgd.load_state_dict(bad), Error);
  bad = state;
  bad["optim.fc1.weight.momentum_buffer"] = Tensor::zeros({4});
  EXPECT_THROW(sgd.load_state_dict(bad), Error);
  bad = state;
  bad["optim.fc1.weight.exp_avg"] = Tensor::zeros({3});
  EXPECT_THROW(sgd.load_state_dict(bad), Error);

  Adam adam(decay_groups(m, 0.1, 0.0));
  train_step(m, adam, x, t);
  auto astate = adam.state_dict();
  astate.erase("optim.fc2.bias.exp_avg_sq");
  std::vector<double> before = adam.state_dict().at("optim.fc1.weight.exp_avg").to_vector();
  try {
    adam.load_state_dict(astate);
    ADD_FAILURE() << "expected an error for incomplete state";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fc2.bias"), std::string::npos) << e.what();
  }
  EXPECT_EQ(adam.state_dict().at("optim.fc1.weight.exp_avg").to_vector(), before);
  // Keys outside the prefix (the model's weights in a checkpoint) are ignored.
  astate = adam.state_dict();
  astate["fc1.weight"] = Tensor::zeros({7});
  EXPECT_NO_THROW(adam.load_state_dict(astate));
}

TEST(Optim, BadInputs) {
  Tensor a = Tensor::from_vector({1.0}, {1}).requires_grad_();
  EXPECT_THROW(SGD({ParamGroup{{}, 0.1}}), Error);  // empty
  EXPECT_THROW(SGD({ParamGroup{{{"a", a}}, -0.1}}), Error);
  EXPECT_THROW(SGD({ParamGroup{{{"a", a}}, 0.1, -1.0}}), Error);
  EXPECT_THROW(SGD({ParamGroup{{{"a", a}, {"b", a}}, 0.1}}), Error);  // same tensor twice
  EXPECT_THROW(SGD({ParamGroup{{{"a", a}}, 0.1}, ParamGroup{{{"a", Tensor::zeros({1})}}, 0.1}}),
               Error);  // same name twice
  EXPECT_THROW(SGD({ParamGroup{{{"a", a}}, 0.1}}, SGDOptions{.nesterov = true}), Error);
  EXPECT_THROW(SGD({ParamGroup{{{"a", a}}, 0.1}},
                   SGDOptions{.momentum = 0.9, .dampening = 0.1, .nesterov = true}),
               Error);
  EXPECT_THROW(Adam({ParamGroup{{{"a", a}}, 0.1}}, AdamOptions{.beta1 = 1.0}), Error);
  EXPECT_THROW(AdamW({ParamGroup{{{"a", a}}, 0.1}}, AdamOptions{.eps = -1}), Error);
  EXPECT_THROW(SGD({ParamGroup{{{"i", Tensor::zeros({1}, DType::I64)}}, 0.1}}), Error);
  SGD ok({ParamGroup{{{"a", a}}, 0.1}});
  a.set_grad(Tensor::zeros({1}));
  a.impl()->grad = Tensor::zeros({2}).impl_ptr();  // a corrupt gradient (set_grad refuses it)
  EXPECT_THROW(ok.step(), Error);
}

}  // namespace
}  // namespace xgd::optim
