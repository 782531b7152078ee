// nn layers: torch's names, shapes and outputs (fixtures nn_layers__* from
// tests/reference/ops_optim.py: a torch.nn network's state_dict loaded into the same network
// built here), default initialisation, BatchNorm modes, dropout, errors, a float64 gradcheck
// through a module stack, the weight-decay split on real layers, capture of a real layer.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>
#include "engine/autograd.h"
#include "engine/nn.h"
#include "engine/optim.h"
#include "tests/support/fixture.h"
#include "tests/support/gradcheck.h"

namespace xgd::nn {
namespace {

using test::Fixture;

std::vector<std::string> keys(const NamedTensors& list) {
  std::vector<std::string> out;
  for (auto& [k, t] : list) out.push_back(k);
  return out;
}

// The fixture's network: Sequential(Conv2d(3, 4, 3, stride 2, pad 1, no bias), BatchNorm2d(4),
// ReLU, Sequential(Conv2d(4, 4, 3, pad 2, dilation 2, groups 2)), BatchNorm2d(4, 1e-3, 0.3),
// ReLU6, Identity, Dropout(0), Conv2d(4, 2, 1)).
std::shared_ptr<Sequential> conv_net(Generator& gen) {
  auto net = std::make_shared<Sequential>();
  net->push_back(std::make_shared<Conv2d>(
      3, 4, 3, Conv2dOptions{.stride = 2, .padding = 1, .bias = false}, gen));
  net->push_back(std::make_shared<BatchNorm2d>(4));
  net->push_back(std::make_shared<ReLU>());
  auto inner = net->push_back(std::make_shared<Sequential>());
  inner->push_back(std::make_shared<Conv2d>(
      4, 4, 3, Conv2dOptions{.padding = 2, .dilation = 2, .groups = 2}, gen));
  net->push_back(std::make_shared<BatchNorm2d>(4, 1e-3, 0.3));
  net->push_back(std::make_shared<ReLU6>());
  net->push_back(std::make_shared<Identity>());
  net->push_back(std::make_shared<Dropout>(0.0));
  net->push_back(std::make_shared<Conv2d>(4, 2, 1, gen));
  return net;
}

std::shared_ptr<Sequential> mlp(Generator& gen) {
  auto net = std::make_shared<Sequential>();
  net->push_back(std::make_shared<Linear>(6, 5, gen));
  net->push_back(std::make_shared<ReLU>());
  net->push_back(std::make_shared<Linear>(5, 3, gen, false));
  return net;
}

// Loads the fixture's torch weights and checks names/order/shapes, train-mode output,
// gradients, updated running stats, and the eval-mode output after the update.
// Tolerances: float32 convolutions/GEMMs of reduction length <= 36 and BatchNorm over <= 40
// values per channel: a few ulp of O(1) values; atol 1e-5 + rtol 1e-4 leaves room for
// summation order (different GEMM blocking) while any wrong index or formula is far larger.
void check_against_torch(Sequential& net, const std::string& case_name) {
  Fixture f = test::load_fixture("nn_layers", case_name);
  SCOPED_TRACE(f.path);
  auto expected_keys = nlohmann::json::parse(f.metadata.at("keys")).get<std::vector<std::string>>();
  EXPECT_EQ(keys(net.state_dict()), expected_keys);
  std::map<std::string, Tensor> sd;
  for (auto& k : expected_keys) sd[k] = f["sd." + k];
  net.load_state_dict(sd);  // strict: every name and shape matches torch's
  for (auto& [k, t] : net.state_dict()) EXPECT_EQ(t.dtype(), f["sd." + k].dtype()) << k;

  net.train();
  Tensor x = f["x"].clone().detach().requires_grad_();
  Tensor y = net(x);
  EXPECT_ALL_CLOSE(y, f["y_train"], 1e-5, 1e-4);
  y.backward(f["grad_out"]);
  EXPECT_ALL_CLOSE(x.grad(), f["grad_x"], 1e-5, 1e-4);
  for (auto& [k, p] : net.named_parameters()) {
    SCOPED_TRACE(k);
    EXPECT_ALL_CLOSE(p.grad(), f["grad." + k], 1e-5, 1e-4);
  }
  for (auto& [k, b] : net.named_buffers()) {
    SCOPED_TRACE(k);
    if (b.dtype() == DType::I64) {
      EXPECT_EQ(b.item(), f["after." + k].item());
    } else {
      EXPECT_ALL_CLOSE(b, f["after." + k], 1e-6, 1e-5);
    }
  }
  net.eval();
  autograd::NoGradGuard no_grad;
  EXPECT_ALL_CLOSE(net(f["x"]), f["y_eval"], 1e-5, 1e-4);
}

TEST(Layers, ConvBatchNormNetMatchesTorch) {
  Generator gen(1);
  auto net = conv_net(gen);
  check_against_torch(*net, "conv_bn");
  EXPECT_EQ(net->at<Conv2d>(0).weight.shape(), (Shape{4, 3, 3, 3}));
  EXPECT_FALSE(net->at<Conv2d>(0).bias.defined());
  EXPECT_EQ(net->submodule("3.0").local_parameters()[0].second.shape(), (Shape{4, 2, 3, 3}));
}

TEST(Layers, LinearNetMatchesTorch) {
  Generator gen(2);
  auto net = mlp(gen);
  check_against_torch(*net, "linear");
}

// Uniform draws in ±bound: all inside, spread over the range, mean ~0, variance bound²/3.
void expect_uniform(const Tensor& t, double bound, const std::string& what) {
  std::vector<double> v = t.to_vector();
  double mean = 0, var = 0, lo = 1e9, hi = -1e9;
  for (double e : v) mean += e / v.size();
  for (double e : v) {
    var += (e - mean) * (e - mean) / v.size();
    lo = std::min(lo, e);
    hi = std::max(hi, e);
  }
  double n = static_cast<double>(v.size());
  EXPECT_GE(lo, -bound) << what;
  EXPECT_LE(hi, bound) << what;
  EXPECT_LT(lo, -0.9 * bound) << what;
  EXPECT_GT(hi, 0.9 * bound) << what;
  // Standard error of the mean: bound/√(3n); of the variance ~ bound²·0.3/√n. 5 sigma.
  EXPECT_LT(std::abs(mean), 5 * bound / std::sqrt(3 * n)) << what;
  EXPECT_NEAR(var, bound * bound / 3, 5 * 0.3 * bound * bound / std::sqrt(n)) << what;
}

TEST(Layers, DefaultInitialisationAsTorch) {
  Generator gen(7);
  Conv2d conv(64, 32, 3, Conv2dOptions{.groups = 2}, gen);  // fan_in = 32·9
  expect_uniform(conv.weight, 1.0 / std::sqrt(32.0 * 9), "conv weight");
  EXPECT_EQ(conv.bias.shape(), Shape{32});
  for (double b : conv.bias.to_vector()) EXPECT_LE(std::abs(b), 1.0 / std::sqrt(32.0 * 9));
  Linear fc(200, 150, gen);
  expect_uniform(fc.weight, 1.0 / std::sqrt(200.0), "linear weight");
  expect_uniform(fc.bias, 1.0 / std::sqrt(200.0), "linear bias");
  // Reproducible from the generator's seed; another seed gives other values.
  Generator g1(3), g2(3), g3(4);
  Conv2d a(4, 4, 3, g1), b(4, 4, 3, g2), c(4, 4, 3, g3);
  EXPECT_EQ(a.weight.to_vector(), b.weight.to_vector());
  EXPECT_EQ(a.bias.to_vector(), b.bias.to_vector());
  EXPECT_NE(a.weight.to_vector(), c.weight.to_vector());
  EXPECT_NE(a.weight.to_vector(), a.bias.to_vector());

  BatchNorm2d bn(3);
  EXPECT_EQ(keys(bn.state_dict()),
            (std::vector<std::string>{"weight", "bias", "running_mean", "running_var",
                                      "num_batches_tracked"}));
  EXPECT_EQ(bn.weight.to_vector(), std::vector<double>(3, 1.0));
  EXPECT_EQ(bn.bias.to_vector(), std::vector<double>(3, 0.0));
  EXPECT_EQ(bn.running_mean.to_vector(), std::vector<double>(3, 0.0));
  EXPECT_EQ(bn.running_var.to_vector(), std::vector<double>(3, 1.0));
  EXPECT_EQ(bn.num_batches_tracked.dtype(), DType::I64);
  EXPECT_EQ(bn.num_batches_tracked.shape(), Shape{});
  EXPECT_EQ(bn.num_batches_tracked.item(), 0);
  EXPECT_TRUE(bn.is_normalization());
}

TEST(Layers, BatchNormTrainUpdatesStatsEvalDoesNot) {
  BatchNorm2d bn(2);
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 1, 2});
  bn(x);
  bn(x);
  EXPECT_EQ(bn.num_batches_tracked.item(), 2);
  std::vector<double> mean = bn.running_mean.to_vector();
  EXPECT_NE(mean[0], 0.0);
  bn.eval();
  Tensor y = bn(x);
  EXPECT_EQ(bn.num_batches_tracked.item(), 2);
  EXPECT_EQ(bn.running_mean.to_vector(), mean);
  // eval: (x − running_mean) / sqrt(running_var + eps)
  std::vector<double> var = bn.running_var.to_vector();
  EXPECT_NEAR(y.to_vector()[0], (1 - mean[0]) / std::sqrt(var[0] + 1e-5), 1e-5);
}

TEST(Layers, DropoutModes) {
  Dropout d(0.5, 11);
  Tensor x = Tensor::ones({4, 64});
  Tensor y1 = d(x), y2 = d(x);
  int zeros = 0;
  for (double v : y1.to_vector()) {
    EXPECT_TRUE(v == 0.0 || v == 2.0) << v;  // kept values scaled by 1/(1 − p)
    zeros += v == 0.0;
  }
  EXPECT_GT(zeros, 64);  // ~128 of 256
  EXPECT_LT(zeros, 192);
  EXPECT_NE(y1.to_vector(), y2.to_vector());  // the owned generator advances
  Dropout same(0.5, 11);
  EXPECT_EQ(same(x).to_vector(), y1.to_vector());  // seedable: the same masks again
  same.seed(11);
  EXPECT_EQ(same(x).to_vector(), y1.to_vector());
  EXPECT_GT(d.generator().offset(), 0u);
  d.eval();
  EXPECT_EQ(d(x).to_vector(), x.to_vector());

  Dropout2d d2(0.5, 3);
  Tensor z = d2(Tensor::ones({2, 8, 3, 3}));
  std::vector<double> v = z.to_vector();
  for (int c = 0; c < 16; ++c)  // each (n, c) plane is all zero or all 2
    for (int i = 1; i < 9; ++i) EXPECT_EQ(v[c * 9 + i], v[c * 9]) << c;
  EXPECT_EQ(d2.type_name(), "Dropout2d");
  EXPECT_THROW(Dropout(1.5), Error);
  EXPECT_THROW(Dropout2d(-0.1), Error);
}

TEST(Layers, ConstructionAndForwardErrors) {
  Generator gen(0);
  EXPECT_THROW(Conv2d(3, 4, 0, gen), Error);
  EXPECT_THROW(Conv2d(3, 4, 3, Conv2dOptions{.groups = 2}, gen), Error);  // 3 % 2
  EXPECT_THROW(Conv2d(4, 4, 3, Conv2dOptions{.stride = 0}, gen), Error);
  EXPECT_THROW(Conv2d(4, 4, 3, Conv2dOptions{.padding = -1}, gen), Error);
  EXPECT_THROW(Linear(0, 3, gen), Error);
  EXPECT_THROW(BatchNorm2d(0), Error);
  EXPECT_THROW(BatchNorm2d(3, 0.0), Error);
  auto net = std::make_shared<Sequential>();
  auto enc = net->push_back(std::make_shared<Sequential>());
  enc->push_back(std::make_shared<Conv2d>(3, 4, 3, gen));
  net->push_back(std::make_shared<BatchNorm2d>(5));
  try {
    (*net)(Tensor::zeros({1, 2, 8, 8}));  // 2 channels into a 3-channel conv
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[in module 0.0 (Conv2d)]"), std::string::npos)
        << e.what();
  }
  try {
    (*net)(Tensor::zeros({1, 3, 8, 8}));  // 4 channels into BatchNorm2d(5)
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[in module 1 (BatchNorm2d)]"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW((*net)[2], Error);
  EXPECT_THROW(net->at<Conv2d>(1), Error);  // a BatchNorm2d
}

TEST(Layers, GradcheckThroughAModuleStackInFloat64) {
  Generator gen(9);
  auto net = std::make_shared<Sequential>();
  auto c1 = net->push_back(std::make_shared<Conv2d>(
      2, 4, 3, Conv2dOptions{.stride = 2, .padding = 1, .groups = 2}, gen));
  auto bn = net->push_back(std::make_shared<BatchNorm2d>(4));
  auto c2 = net->push_back(std::make_shared<Conv2d>(4, 3, 1, gen));
  auto fc = net->push_back(std::make_shared<Linear>(3, 2, gen));
  net->to(DType::F64);                           // the layers' handles now hold float64 leaves
  Tensor x = test::random_f64({1, 2, 5, 6}, 1);  // -> (1, 4, 3, 3) -> (1, 3, 3, 3) -> (1, 3, 3, 2)
  EXPECT_GRADCHECK([&](auto& in) { return (*net)(in[0]); },
                   {x, c1->weight, c1->bias, bn->weight, bn->bias, c2->weight, fc->weight});
}

TEST(Layers, DecayGroupsOnRealLayers) {
  Generator gen(0);
  auto net = std::make_shared<Sequential>();
  net->push_back(std::make_shared<Conv2d>(3, 4, 3, Conv2dOptions{.bias = false}, gen));
  net->push_back(std::make_shared<BatchNorm2d>(4));
  net->push_back(std::make_shared<Linear>(4, 2, gen));
  auto groups = optim::decay_groups(*net, 0.1, 1e-4);
  EXPECT_EQ(keys(groups[0].params), (std::vector<std::string>{"0.weight", "2.weight"}));
  EXPECT_EQ(keys(groups[1].params), (std::vector<std::string>{"1.weight", "1.bias", "2.bias"}));
}

TEST(Layers, CaptureARealLayerForGradCam) {
  Generator gen(4);
  auto net = conv_net(gen);
  Capture cap(*net, {"3.0"});
  Tensor y = (*net)(test::random_f64({1, 3, 8, 8}, 2).to(DType::F32).detach());
  Tensor a = cap["3.0"];
  EXPECT_EQ(a.shape(), (Shape{1, 4, 4, 4}));
  std::vector<Tensor> g = autograd::grad({y}, {a}, {Tensor::ones(y.shape())});
  ASSERT_TRUE(g[0].defined());
  EXPECT_EQ(g[0].shape(), a.shape());
}

}  // namespace
}  // namespace xgd::nn
