// nn::Module: names and order against PyTorch, state_dict load/save, train/eval, capture.
// Test-local modules stand in for Conv2d/BatchNorm2d (same parameter and buffer names and
// shapes) so the tree logic is tested without the conv/norm op families.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>

#include "engine/autograd.h"
#include "engine/io/safetensors.h"
#include "engine/nn.h"
#include "engine/ops/pointwise.h"

namespace xgd::nn {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("xgd_module_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

std::vector<std::string> keys(const NamedTensors& list) {
  std::vector<std::string> out;
  for (auto& [k, t] : list) out.push_back(k);
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an xgd::Error";
  return "";
}

// Parameters like nn.Conv2d(in, out, k): weight (out, in, k, k), bias (out); values from `seed`.
struct FakeConv : Module {
  FakeConv(int64_t in, int64_t out, int64_t k, double seed) : Module("Conv2d") {
    std::vector<double> w(out * in * k * k), b(out);
    for (size_t i = 0; i < w.size(); ++i) w[i] = seed + 0.01 * i;
    for (size_t i = 0; i < b.size(); ++i) b[i] = -seed - i;
    weight = register_parameter("weight", Tensor::from_vector(w, {out, in, k, k}));
    bias = register_parameter("bias", Tensor::from_vector(b, {out}));
  }
  Tensor weight, bias;
};

// Parameters and buffers like nn.BatchNorm2d(c).
struct FakeBN : Module {
  explicit FakeBN(int64_t c) : Module("BatchNorm2d") {
    register_parameter("weight", Tensor::ones({c}));
    register_parameter("bias", Tensor::zeros({c}));
    register_buffer("running_mean", Tensor::zeros({c}));
    register_buffer("running_var", Tensor::ones({c}));
    register_buffer("num_batches_tracked", Tensor::zeros({}, DType::I64), true);
  }
  bool is_normalization() const override { return true; }
};

// class M(nn.Module): a = Conv2d(2, 3, 3); w = Parameter(zeros(2)); register_buffer('buf',
// zeros(1)); b = BatchNorm2d(3); z = Parameter(zeros(1)) -- children, parameters and buffers
// interleaved in registration, to check the pre-order of state_dict().
struct Mixed : Module {
  Mixed() : Module("M") {
    register_module("a", std::make_shared<FakeConv>(2, 3, 3, 0.5));
    register_parameter("w", Tensor::zeros({2}));
    register_buffer("buf", Tensor::zeros({1}));
    register_module("b", std::make_shared<FakeBN>(3));
    register_parameter("z", Tensor::zeros({1}));
  }
};

// nn.Sequential(Conv2d(3, 4, 3), BatchNorm2d(4), ReLU(), Sequential(Conv2d(4, 2, 1)), M())
std::shared_ptr<Sequential> torch_like_net() {
  auto net = std::make_shared<Sequential>();
  net->push_back(std::make_shared<FakeConv>(3, 4, 3, 1.0));
  net->push_back(std::make_shared<FakeBN>(4));
  net->push_back(std::make_shared<ReLU>());
  auto inner = std::make_shared<Sequential>();
  inner->push_back(std::make_shared<FakeConv>(4, 2, 1, 2.0));
  net->push_back(inner);
  net->push_back(std::make_shared<Mixed>());
  return net;
}

// Printed by torch 2.15 for the net above (list(net.state_dict()), named_parameters(),
// named_buffers()).
const std::vector<std::string> kTorchStateDict = {"0.weight",
                                                  "0.bias",
                                                  "1.weight",
                                                  "1.bias",
                                                  "1.running_mean",
                                                  "1.running_var",
                                                  "1.num_batches_tracked",
                                                  "3.0.weight",
                                                  "3.0.bias",
                                                  "4.w",
                                                  "4.z",
                                                  "4.buf",
                                                  "4.a.weight",
                                                  "4.a.bias",
                                                  "4.b.weight",
                                                  "4.b.bias",
                                                  "4.b.running_mean",
                                                  "4.b.running_var",
                                                  "4.b.num_batches_tracked"};
const std::vector<std::string> kTorchParameters = {
    "0.weight", "0.bias", "1.weight",   "1.bias",   "3.0.weight", "3.0.bias",
    "4.w",      "4.z",    "4.a.weight", "4.a.bias", "4.b.weight", "4.b.bias"};
const std::vector<std::string> kTorchBuffers = {
    "1.running_mean",   "1.running_var",   "1.num_batches_tracked",  "4.buf",
    "4.b.running_mean", "4.b.running_var", "4.b.num_batches_tracked"};

TEST(Module, NamesAndOrderMatchTorch) {
  auto net = torch_like_net();
  EXPECT_EQ(keys(net->state_dict()), kTorchStateDict);
  EXPECT_EQ(keys(net->named_parameters()), kTorchParameters);
  EXPECT_EQ(keys(net->named_buffers()), kTorchBuffers);
  // conv 4·3·3·3 + 4, bn 4 + 4, conv 2·4 + 2, M: w 2, z 1, conv 3·2·3·3 + 3, bn 3 + 3
  EXPECT_EQ(net->num_parameters(), 108 + 4 + 8 + 8 + 2 + 3 + 54 + 3 + 6);
  EXPECT_EQ(net->parameters().size(), kTorchParameters.size());
  for (auto& [n, p] : net->named_parameters()) EXPECT_TRUE(p.requires_grad()) << n;
  EXPECT_EQ(net->state_dict()[6].second.dtype(), DType::I64);
  EXPECT_EQ(net->state_dict()[6].second.shape(), Shape{});
}

TEST(Module, FullDottedNamesFollowTheTree) {
  auto inner = std::make_shared<Sequential>();
  auto conv = inner->push_back(std::make_shared<FakeConv>(1, 1, 1, 0));
  EXPECT_EQ(conv->name(), "0");
  auto outer = std::make_shared<Module>("Model");
  auto enc = outer->register_module("encoder", std::make_shared<Module>("Encoder"));
  enc->register_module("layer1", inner);  // placing a subtree renames all of it
  EXPECT_EQ(conv->name(), "encoder.layer1.0");
  EXPECT_EQ(inner->name(), "encoder.layer1");
  EXPECT_EQ(outer->name(), "");
  EXPECT_EQ(&outer->submodule("encoder.layer1.0"), conv.get());
  EXPECT_EQ(conv->parent(), inner.get());
  std::vector<std::string> names;
  for (auto& [n, m] : outer->named_modules()) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"", "encoder", "encoder.layer1", "encoder.layer1.0"}));
  EXPECT_EQ(keys(outer->state_dict()),
            (std::vector<std::string>{"encoder.layer1.0.weight", "encoder.layer1.0.bias"}));
  std::string e = error_of([&] { outer->submodule("encoder.layer2"); });
  EXPECT_NE(e.find("encoder.layer1"), std::string::npos) << e;
}

TEST(Module, RegistrationErrors) {
  Module m("Net");
  m.register_parameter("w", Tensor::zeros({2}));
  EXPECT_THROW(m.register_parameter("w", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_buffer("w", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_parameter("a.b", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_parameter("", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_parameter("u", Tensor()), Error);
  EXPECT_THROW(m.register_parameter("i", Tensor::zeros({2}, DType::I64)), Error);
  auto child = std::make_shared<Module>("Child");
  m.register_module("c", child);
  Module other("Other");
  EXPECT_THROW(other.register_module("c", child), Error);  // one parent
  // m has no parent, but registering it under its own child would make a cycle.
  EXPECT_THROW(child->register_module("loop", std::shared_ptr<Module>(&m, [](Module*) {})), Error);
  EXPECT_THROW(m.forward(Tensor::zeros({1})), Error);  // no single-tensor forward
}

TEST(Module, StateDictSharesStorage) {
  auto net = torch_like_net();
  Tensor w = net->state_dict()[0].second;
  w.fill_(3.5);
  EXPECT_EQ(net->at<FakeConv>(0).weight.to_vector()[0], 3.5);
}

TEST(Module, SafetensorsRoundTrip) {
  auto net = torch_like_net();
  std::string path = temp_path("rt.safetensors");
  Tensor nbt = net->at<FakeBN>(1).local_buffers()[2].second;  // num_batches_tracked
  nbt.fill_(7);
  net->save(path, {{"arch", "test"}});
  auto file = io::load_safetensors(path);
  EXPECT_EQ(file.metadata.at("arch"), "test");
  EXPECT_EQ(file.tensors.at("1.num_batches_tracked").dtype(), DType::I64);
  EXPECT_EQ(file.tensors.size(), kTorchStateDict.size());

  auto copy = torch_like_net();
  for (auto& [k, t] : copy->state_dict()) t.fill_(-1);
  LoadResult r = copy->load(path);
  EXPECT_TRUE(r.missing_keys.empty());
  EXPECT_TRUE(r.unexpected_keys.empty());
  auto a = net->state_dict(), b = copy->state_dict();
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].second.dtype(), b[i].second.dtype()) << a[i].first;
    EXPECT_EQ(a[i].second.to_vector(), b[i].second.to_vector()) << a[i].first;
  }
  fs::remove(path);
}

TEST(Module, StrictLoadListsEveryProblemAndChangesNothing) {
  auto net = torch_like_net();
  std::map<std::string, Tensor> sd;
  for (auto& [k, t] : net->state_dict()) sd[k] = t.clone().detach();
  sd.erase("0.weight");
  sd.erase("4.b.running_var");
  sd["foo"] = Tensor::zeros({1});
  sd["3.0.bias"] = Tensor::zeros({7});
  sd["1.bias"] = Tensor::full({4}, 9.0);
  std::string e = error_of([&] { net->load_state_dict(sd); });
  // PyTorch's wording, every key in one message.
  EXPECT_NE(e.find("Error(s) in loading state_dict for Sequential:"), std::string::npos) << e;
  EXPECT_NE(e.find("Missing key(s) in state_dict: \"0.weight\", \"4.b.running_var\"."),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("Unexpected key(s) in state_dict: \"foo\"."), std::string::npos) << e;
  EXPECT_NE(e.find("size mismatch for 3.0.bias: copying a param with shape [7] from checkpoint, "
                   "the shape in current model is [2]."),
            std::string::npos)
      << e;
  EXPECT_EQ(net->state_dict()[3].second.to_vector(), std::vector<double>(4, 0.0));  // 1.bias

  // Non-strict: the shape mismatch is still an error (as PyTorch), and still nothing changes.
  std::string e2 = error_of([&] { net->load_state_dict(sd, false); });
  EXPECT_NE(e2.find("size mismatch for 3.0.bias"), std::string::npos) << e2;
  EXPECT_EQ(e2.find("Missing key"), std::string::npos) << e2;
  EXPECT_EQ(net->state_dict()[3].second.to_vector(), std::vector<double>(4, 0.0));
}

TEST(Module, NonStrictPartialLoad) {
  auto net = torch_like_net();
  std::map<std::string, Tensor> sd = {{"1.bias", Tensor::full({4}, 9.0)},
                                      {"4.w", Tensor::full({2}, -2.0)},
                                      {"extra.weight", Tensor::zeros({3})}};
  LoadResult r = net->load_state_dict(sd, false);
  EXPECT_EQ(r.unexpected_keys, std::vector<std::string>{"extra.weight"});
  // Missing: everything else except the optional num_batches_tracked buffers.
  std::vector<std::string> expected;
  for (auto& k : kTorchStateDict)
    if (k != "1.bias" && k != "4.w" && k.find("num_batches_tracked") == std::string::npos)
      expected.push_back(k);
  EXPECT_EQ(r.missing_keys, expected);
  EXPECT_EQ(net->state_dict()[3].second.to_vector(), std::vector<double>(4, 9.0));
  EXPECT_EQ(net->submodule("4").local_parameters()[0].second.to_vector(),
            (std::vector<double>{-2.0, -2.0}));
}

TEST(Module, NumBatchesTrackedIsOptionalAndDtypesConvert) {
  // A plain dict without num_batches_tracked loads strictly (PyTorch's BatchNorm does the same
  // for state dicts without version metadata, e.g. old torchvision checkpoints).
  auto net = torch_like_net();
  std::map<std::string, Tensor> sd;
  for (auto& [k, t] : net->state_dict())
    if (k.find("num_batches_tracked") == std::string::npos) sd[k] = t.to(DType::F64).detach();
  sd["0.bias"] = Tensor::from_vector({0.25, 0.5, 0.75, 1.0}, {4}, DType::F64);
  sd["4.b.num_batches_tracked"] = Tensor::scalar(5.0);  // float32 -> int64
  LoadResult r = net->load_state_dict(sd);
  EXPECT_TRUE(r.missing_keys.empty());
  Tensor bias = net->at<FakeConv>(0).bias;
  EXPECT_EQ(bias.dtype(), DType::F32);
  EXPECT_EQ(bias.to_vector(), (std::vector<double>{0.25, 0.5, 0.75, 1.0}));
  Tensor nbt = net->state_dict().back().second;
  EXPECT_EQ(nbt.dtype(), DType::I64);
  EXPECT_EQ(nbt.item(), 5);
}

TEST(Module, LoadErrorsNameTheFile) {
  auto net = torch_like_net();
  std::string missing = temp_path("does_not_exist.safetensors");
  std::string e = error_of([&] { net->load(missing); });
  EXPECT_NE(e.find(missing), std::string::npos) << e;
  std::string path = temp_path("partial.safetensors");
  io::save_safetensors(path, {{"0.weight", Tensor::zeros({4, 3, 3, 3})}});
  std::string e2 = error_of([&] { net->load(path); });
  EXPECT_NE(e2.find(path), std::string::npos) << e2;
  EXPECT_NE(e2.find("Missing key(s)"), std::string::npos) << e2;
  LoadResult r = net->load(path, false);
  EXPECT_EQ(r.missing_keys.size(), kTorchStateDict.size() - 1 - 2);  // minus the optional two
  fs::remove(path);
}

TEST(Module, TrainEvalZeroGradAndDtype) {
  auto net = torch_like_net();
  EXPECT_TRUE(net->is_training());
  net->eval();
  for (auto& [n, m] : net->named_modules()) EXPECT_FALSE(m->is_training()) << n;
  net->submodule("4").train();
  EXPECT_TRUE(net->submodule("4.b").is_training());
  EXPECT_FALSE(net->submodule("3.0").is_training());
  net->train();
  for (auto& [n, m] : net->named_modules()) EXPECT_TRUE(m->is_training()) << n;

  Tensor w = net->at<FakeConv>(0).weight;
  w.set_grad(Tensor::ones(w.shape()));
  net->zero_grad();
  EXPECT_FALSE(w.grad().defined());

  // to(float64) converts in place: the layer's handle sees it; int64 buffers stay int64.
  std::vector<double> before = w.to_vector();
  net->to(DType::F64);
  EXPECT_EQ(w.dtype(), DType::F64);
  EXPECT_EQ(w.to_vector(), before);
  EXPECT_TRUE(w.requires_grad());
  EXPECT_EQ(net->state_dict()[6].second.dtype(), DType::I64);
  EXPECT_EQ(net->state_dict()[4].second.dtype(), DType::F64);  // running_mean
  net->to(DType::F32);
  EXPECT_EQ(w.dtype(), DType::F32);
  EXPECT_THROW(net->to(DType::I64), Error);
}

// y = x · w (w broadcast over the last dim), for capture tests.
struct Scale : Module {
  explicit Scale(std::vector<double> w) : Module("Scale") {
    weight = register_parameter("weight", Tensor::from_vector(w, {static_cast<int64_t>(w.size())}));
  }
  Tensor forward(const Tensor& x) override { return mul(x, weight); }
  Tensor weight;
};

// A module whose forward takes two tensors: it captures through the protected helper.
struct Merge : Module {
  Merge() : Module("Merge") {}
  Tensor forward2(const Tensor& a, const Tensor& b) { return captured(add(a, b)); }
};

TEST(Module, CaptureRecordsNamedOutputsWithTheirGraph) {
  auto net = std::make_shared<Sequential>();
  net->push_back(std::make_shared<Scale>(std::vector<double>{2, -1, 0.5}));
  auto block = net->push_back(std::make_shared<Sequential>());
  block->push_back(std::make_shared<Scale>(std::vector<double>{1, 3, -2}));
  block->push_back(std::make_shared<ReLU>());
  net->push_back(std::make_shared<Scale>(std::vector<double>{4, 5, 6}));

  Tensor x = Tensor::from_vector({1, 2, 3, -1, 1, 2}, {2, 3});
  Capture cap(*net, {"1.0", "1"});
  Tensor y = (*net)(x);
  ASSERT_TRUE(cap.has("1.0"));
  Tensor a = cap["1.0"];  // x·w0·w1 = [2, -6, -3; -2, -3, -2]
  EXPECT_EQ(a.to_vector(), (std::vector<double>{2, -6, -3, -2, -3, -2}));
  EXPECT_EQ(cap["1"].to_vector(), (std::vector<double>{2, 0, 0, 0, 0, 0}));
  EXPECT_EQ(cap.count("1"), 1);
  // dy/dA through the ReLU and the last scale: w2 where A > 0, else 0.
  std::vector<Tensor> g = autograd::grad({y}, {a}, {Tensor::ones(y.shape())}, true);
  EXPECT_EQ(g[0].to_vector(), (std::vector<double>{4, 0, 0, 0, 0, 0}));
  // Gradients still reach the parameters through the captured activation.
  std::vector<Tensor> gw =
      autograd::grad({cap["1"]}, {net->at<Scale>(0).weight}, {Tensor::ones(y.shape())});
  EXPECT_EQ(gw[0].to_vector(), (std::vector<double>{1, 0, 0}));  // only x[0,0]·w1[0] passes

  (*net)(x);
  EXPECT_EQ(cap.count("1"), 2);  // the latest output replaces the previous one
  cap.clear();
  EXPECT_FALSE(cap.has("1"));
  EXPECT_THROW(cap["1"], Error);
  EXPECT_THROW(cap["2"], Error);  // not captured
}

TEST(Module, CaptureWithCutGraphStartsTheGraphAtTheLayer) {
  // A teacher: parameters need no gradient, yet Grad-CAM needs dy/dA at a layer.
  auto net = std::make_shared<Sequential>();
  net->push_back(std::make_shared<Scale>(std::vector<double>{2, -1, 0.5}));
  net->push_back(std::make_shared<Scale>(std::vector<double>{4, 5, 6}));
  for (auto& p : net->parameters()) p.requires_grad_(false);
  Tensor x = Tensor::from_vector({1, 2, 3}, {1, 3});
  Capture cap(*net, {"0"}, /*cut_graph=*/true);
  Tensor y = (*net)(x);
  Tensor a = cap["0"];
  EXPECT_TRUE(a.is_leaf());
  EXPECT_TRUE(a.requires_grad());
  EXPECT_TRUE(y.requires_grad());  // recorded from the cut onwards
  EXPECT_EQ(autograd::grad({y}, {a}, {Tensor::ones(y.shape())})[0].to_vector(),
            (std::vector<double>{4, 5, 6}));
  EXPECT_FALSE(net->at<Scale>(0).weight.grad().defined());
}

// Remembers (weakly) its last output, to see who else keeps it alive.
struct Probe : Module {
  Probe() : Module("Probe") {}
  Tensor forward(const Tensor& x) override {
    Tensor out = mul(x, 2.0);
    last = out.impl_ptr();
    return out;
  }
  std::weak_ptr<TensorImpl> last;
};

TEST(Module, NothingIsStoredWithoutACapture) {
  auto net = std::make_shared<Sequential>();
  auto probe = net->push_back(std::make_shared<Probe>());
  net->push_back(std::make_shared<ReLU>());
  Tensor x = Tensor::from_vector({1, -1}, {2, 1});
  (*net)(x);
  EXPECT_TRUE(probe->last.expired());  // no capture: the activation died with the output
  {
    Capture cap(*net, {"0"});
    (*net)(x);
    EXPECT_FALSE(probe->last.expired());  // held by the capture
    EXPECT_EQ(cap["0"].impl(), probe->last.lock().get());
  }
  EXPECT_TRUE(probe->last.expired());  // released with the capture
  (*net)(x);
  EXPECT_TRUE(probe->last.expired());  // and the destroyed capture records nothing
}

TEST(Module, CaptureFromCustomForwardAndTwoCaptures) {
  auto root = std::make_shared<Module>("Model");
  auto merge = root->register_module("decoder", std::make_shared<Merge>());
  Capture c1(*root, {"decoder"});
  {
    Capture c2(*root, {"decoder"});
    merge->forward2(Tensor::ones({2}), Tensor::ones({2}));
    EXPECT_EQ(c2["decoder"].to_vector(), (std::vector<double>{2, 2}));
  }
  merge->forward2(Tensor::zeros({2}), Tensor::ones({2}));  // c2 is gone; c1 still records
  EXPECT_EQ(c1["decoder"].to_vector(), (std::vector<double>{1, 1}));
  EXPECT_EQ(c1.count("decoder"), 2);
}

TEST(Module, CaptureUnknownNameListsNearbyNames) {
  auto net = torch_like_net();
  std::string e = error_of([&] { Capture c(*net, {"4.b", "3.O"}); });
  EXPECT_NE(e.find("\"3.O\""), std::string::npos) << e;
  EXPECT_NE(e.find("3.0"), std::string::npos) << e;
  EXPECT_THROW(Capture(*net, {"4", "4"}), Error);
  EXPECT_THROW(Capture(*net, {""}), Error);
  // The failed capture left no hook behind: a forward records nothing anywhere.
  Capture ok(*net, {"4.b"});
  EXPECT_EQ(ok.count("4.b"), 0);
}

TEST(Module, ForwardErrorsNameTheInnermostModule) {
  auto net = std::make_shared<Sequential>();
  net->push_back(std::make_shared<ReLU>());
  auto block = net->push_back(std::make_shared<Sequential>());
  block->push_back(std::make_shared<Scale>(std::vector<double>{1, 2, 3}));
  std::string e = error_of([&] { (*net)(Tensor::zeros({2, 4})); });
  EXPECT_NE(e.find("[in module 1.0 (Scale)]"), std::string::npos) << e;
  EXPECT_EQ(e.find("[in module 1 "), std::string::npos) << e;  // named once, innermost
}

}  // namespace
}  // namespace xgd::nn
