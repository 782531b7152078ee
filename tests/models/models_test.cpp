// Model behaviour beyond the smp reference values: registry and errors, smp's input-shape check
// and the padding that hides it, smp's strict / non-strict loading rules, save/load round trips,
// capture of named layers with gradients (Grad-CAM's needs), dropout seeding and switching,
// PyTorch/torchvision/smp initialisations, and float64 gradchecks of the composite blocks.
#include <gtest/gtest.h>

#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <set>

#include "engine/autograd.h"
#include "engine/io/safetensors.h"
#include "engine/ops/pointwise.h"
#include "engine/ops/reduce.h"
#include "models/deeplabv3plus.h"
#include "models/fill.h"
#include "models/mobilenetv2.h"
#include "models/pspnet.h"
#include "models/registry.h"
#include "models/resnet.h"
#include "tests/support/gradcheck.h"

namespace xgd::models {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

Tensor image_batch(int64_t n, int64_t h, int64_t w, uint64_t seed = 1) {
  Tensor x = Tensor::empty({n, 3, h, w});
  fill_uniform_by_name(x, "image" + std::to_string(seed), -2.0, 2.0);
  return x;
}

std::shared_ptr<SegmentationModel> small_model(const std::string& name = "pspnet_mobilenetv2",
                                               int64_t classes = 3) {
  auto m = create_model(name, {.classes = classes, .init = false});
  fill_deterministic(*m);
  return m;
}

double max_diff(const Tensor& a, const Tensor& b) {
  auto av = a.to_vector(), bv = b.to_vector();
  EXPECT_EQ(av.size(), bv.size());
  double d = 0;
  for (size_t i = 0; i < av.size() && i < bv.size(); ++i) d = std::max(d, std::abs(av[i] - bv[i]));
  return d;
}

double max_abs_value(const Tensor& t) {
  double m = 0;
  for (double e : t.to_vector()) m = std::max(m, std::abs(e));
  return m;
}

// ---------------------------------------------------------------- registry
TEST(ModelRegistry, NamesIncludeTheDesignContract) {
  auto names = model_names();
  for (std::string n : {"deeplabv3plus_resnet18", "deeplabv3plus_resnet50",
                        "deeplabv3plus_resnet101", "deeplabv3plus_mobilenetv2", "pspnet_resnet18",
                        "pspnet_resnet50", "pspnet_resnet101", "pspnet_mobilenetv2"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  EXPECT_EQ(names.size(), 10u);  // + the ResNet-34 variants
}

TEST(ModelRegistry, BadNamesAndOptionsAreErrors) {
  std::string e = error_of([] { create_model("deeplabv3_resnet18"); });
  EXPECT_NE(e.find("unknown model \"deeplabv3_resnet18\""), std::string::npos) << e;
  EXPECT_NE(e.find("pspnet_mobilenetv2"), std::string::npos) << e;  // lists the registered
  e = error_of([] { create_model("pspnet_resnet152"); });
  EXPECT_NE(e.find("unknown model"), std::string::npos) << e;
  e = error_of([] { create_model("pspnet_resnet18", {.classes = 0}); });
  EXPECT_NE(e.find("classes must be positive, got 0"), std::string::npos) << e;
  e = error_of([] { create_model("deeplabv3plus_resnet18", {.output_stride = 32}); });
  EXPECT_NE(e.find("output stride 8 or 16, got 32"), std::string::npos) << e;
  e = error_of([] { create_model("pspnet_resnet18", {.output_stride = 16}); });
  EXPECT_NE(e.find("PSPNet"), std::string::npos) << e;
  Generator gen;
  e = error_of([&] { create_encoder("vgg16", 5, 32, gen); });
  EXPECT_NE(e.find("unknown encoder \"vgg16\""), std::string::npos) << e;
  e = error_of([&] { ResNetEncoder(18, 6, 32, gen); });
  EXPECT_NE(e.find("depth should be in range [1, 5], got 6"), std::string::npos) << e;
}

TEST(ModelRegistry, OutputStrideDilatesTheLastStagesAsSmp) {
  auto os16 = create_model("deeplabv3plus_resnet50", {.init = false});
  auto& c = dynamic_cast<nn::Conv2d&>(os16->submodule("encoder.layer4.0.conv2"));
  EXPECT_EQ(c.params.stride[0], 1);
  EXPECT_EQ(c.params.dilation[0], 2);
  EXPECT_EQ(c.params.padding[0], 2);
  auto& ds = dynamic_cast<nn::Conv2d&>(os16->submodule("encoder.layer4.0.downsample.0"));
  EXPECT_EQ(ds.params.stride[0], 1);
  EXPECT_EQ(ds.params.dilation[0], 2);  // smp patches 1×1 convs too (padding stays 0)
  EXPECT_EQ(ds.params.padding[0], 0);
  auto& l3 = dynamic_cast<nn::Conv2d&>(os16->submodule("encoder.layer3.0.conv2"));
  EXPECT_EQ(l3.params.stride[0], 2);
  EXPECT_EQ(os16->output_stride(), 16);

  auto os8 = create_model("deeplabv3plus_mobilenetv2", {.output_stride = 8, .init = false});
  auto& dw7 = dynamic_cast<nn::Conv2d&>(os8->submodule("encoder.features.7.conv.1.0"));
  EXPECT_EQ(dw7.params.stride[0], 1);
  EXPECT_EQ(dw7.params.dilation[0], 2);
  auto& dw14 = dynamic_cast<nn::Conv2d&>(os8->submodule("encoder.features.14.conv.1.0"));
  EXPECT_EQ(dw14.params.dilation[0], 4);
  EXPECT_EQ(dw14.params.padding[0], 4);
  EXPECT_EQ(dynamic_cast<Upsample&>(os8->submodule("decoder.up")).scale, 2.0);
  EXPECT_EQ(os8->output_stride(), 8);

  auto psp = create_model("pspnet_resnet18", {.init = false});
  EXPECT_EQ(psp->output_stride(), 8);  // depth 3: min(32, 2^3)
  EXPECT_EQ(dynamic_cast<nn::Conv2d&>(psp->submodule("encoder.layer4.0.conv1")).params.stride[0],
            2);  // never dilated (and never run)
}

// ---------------------------------------------------------------- input sizes
TEST(ModelInput, SidesMustBeMultiplesOfTheOutputStrideAsSmp) {
  auto m = create_model("deeplabv3plus_mobilenetv2", {.classes = 2, .init = false});
  m->eval();
  std::string e = error_of([&] { (*m)(Tensor::zeros({1, 3, 65, 64})); });
  EXPECT_NE(e.find("deeplabv3plus_mobilenetv2: wrong input shape height=65, width=64. Expected "
                   "image height and width divisible by 16. Consider pad your images to shape "
                   "(80, 64)."),
            std::string::npos)
      << e;
  e = error_of([&] { (*m)(Tensor::zeros({1, 1, 64, 64})); });
  EXPECT_NE(e.find("expected an (N, 3, H, W) image batch"), std::string::npos) << e;
  e = error_of([&] { (*m)(Tensor::zeros({3, 64, 64})); });
  EXPECT_NE(e.find("expected an (N, 3, H, W) image batch"), std::string::npos) << e;
}

TEST(ModelInput, ForwardPaddedAcceptsAnySizeAndCropsBack) {
  auto m = small_model("pspnet_mobilenetv2");  // output stride 8
  m->eval();
  autograd::NoGradGuard no_grad;
  Tensor x = image_batch(2, 37, 50);
  Tensor y = forward_padded(*m, x);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 37, 50}));
  // The same as padding by hand with zeros at the bottom/right and cropping the top-left.
  EXPECT_EQ(padded_size(37, 50, 8), (std::pair<int64_t, int64_t>{40, 56}));
  Tensor padded = pad_bottom_right(x, 40, 56);
  auto pv = padded.to_vector(), xv = x.to_vector();
  EXPECT_EQ(pv[(0 * 3 * 40 + 39) * 56 + 55], 0.0);     // padding is zero
  EXPECT_EQ(pv[(1 * 3 * 40 + 2 * 40 + 36) * 56 + 49],  // the image is untouched
            xv[(1 * 3 * 37 + 2 * 37 + 36) * 50 + 49]);
  Tensor full = (*m)(padded);
  EXPECT_EQ(max_diff(crop_top_left(full, 37, 50), y), 0.0);
  // A valid size passes through unchanged.
  Tensor v = image_batch(1, 48, 64);
  EXPECT_EQ(max_diff(forward_padded(*m, v), (*m)(v)), 0.0);
  EXPECT_THROW(pad_bottom_right(x, 36, 50), Error);
  EXPECT_THROW(crop_top_left(x, 38, 50), Error);
}

TEST(ModelInput, PaddingAndCroppingAreDifferentiable) {
  Tensor x = test::random_f64({1, 2, 3, 4}, 5);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return pad_bottom_right(in[0], 5, 7); },
                   {x});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return crop_top_left(in[0], 2, 3); }, {x});
}

// ---------------------------------------------------------------- weights
TEST(ModelWeights, StrictLoadListsMissingUnexpectedAndMismatchedKeys) {
  auto src = small_model("pspnet_mobilenetv2", 3);
  std::map<std::string, Tensor> state;
  for (auto& [n, t] : src->state_dict()) state[n] = t;
  state.erase("decoder.conv.1.running_var");
  state["decoder.extra.weight"] = Tensor::zeros({2});
  auto dst = create_model("pspnet_mobilenetv2", {.classes = 5, .init = false});
  Tensor before = dst->named_parameters()[0].second.clone();
  std::string e = error_of([&] { dst->load_weights(state, true); });
  EXPECT_NE(e.find("decoder.conv.1.running_var"), std::string::npos) << e;
  EXPECT_NE(e.find("decoder.extra.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("segmentation_head.0.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("segmentation_head.0.bias"), std::string::npos) << e;
  // Nothing was modified by the failed load.
  EXPECT_EQ(max_diff(dst->named_parameters()[0].second, before), 0.0);
}

TEST(ModelWeights, NonStrictLoadSkipsShapeMismatchesAsSmp) {
  // A 3-class model's weights into a 5-class model: smp drops the head's mismatched keys
  // (warning), which then count as missing; everything else is loaded.
  auto src = small_model("deeplabv3plus_mobilenetv2", 3);
  std::map<std::string, Tensor> state;
  for (auto& [n, t] : src->state_dict()) state[n] = t;
  state["aux.weight"] = Tensor::zeros({1});
  auto dst = create_model("deeplabv3plus_mobilenetv2", {.classes = 5, .init = false});
  Tensor head_before =
      dynamic_cast<nn::Conv2d&>(dst->submodule("segmentation_head.0")).weight.clone();
  LoadReport r = dst->load_weights(state, /*strict=*/false);
  ASSERT_EQ(r.mismatched_keys.size(), 2u);
  EXPECT_EQ(r.mismatched_keys[0],
            "segmentation_head.0.weight: [3, 256, 1, 1] (weights) -> [5, 256, 1, 1] (model)");
  EXPECT_EQ(r.missing_keys,
            (std::vector<std::string>{"segmentation_head.0.weight", "segmentation_head.0.bias"}));
  EXPECT_EQ(r.unexpected_keys, (std::vector<std::string>{"aux.weight"}));
  auto own = dst->state_dict();
  for (auto& [n, t] : own) {
    if (n.rfind("segmentation_head.", 0) == 0) continue;
    ASSERT_EQ(max_diff(t, state[n]), 0.0) << n;
  }
  EXPECT_EQ(max_diff(dynamic_cast<nn::Conv2d&>(dst->submodule("segmentation_head.0")).weight,
                     head_before),
            0.0);
}

TEST(ModelWeights, SaveThenLoadGivesTheSameModel) {
  auto a = small_model("pspnet_resnet18", 4);
  std::string path =
      ::testing::TempDir() + "/models_roundtrip_" + std::to_string(getpid()) + ".safetensors";
  a->save(path);
  auto file = io::load_safetensors(path);
  EXPECT_EQ(file.tensors.at("encoder.bn1.num_batches_tracked").dtype(), DType::I64);
  EXPECT_EQ(file.tensors.size(), a->state_dict().size());
  auto b = create_model("pspnet_resnet18", {.classes = 4, .seed = 99});
  b->load_weights(path, true);
  a->eval();
  b->eval();
  autograd::NoGradGuard no_grad;
  Tensor x = image_batch(1, 32, 40);
  EXPECT_EQ(max_diff((*a)(x), (*b)(x)), 0.0);
  std::string e = error_of([&] { b->load_weights(path + ".missing", true); });
  EXPECT_NE(e.find(path + ".missing: cannot open"), std::string::npos) << e;
  std::remove(path.c_str());
}

// ---------------------------------------------------------------- capture (Grad-CAM)
TEST(ModelCapture, NamedLayersAndTheirGradients) {
  auto dl = small_model("deeplabv3plus_resnet18");
  EXPECT_EQ(dl->default_target_layer(), "decoder.block1");
  dl->eval();
  Tensor x = image_batch(2, 64, 96);
  {
    nn::Capture cap(*dl, {"decoder.block1", "encoder.layer4", "encoder", "decoder", "decoder.aspp",
                          "segmentation_head.0", "encoder.layer1.0.conv1"});
    Tensor y = (*dl)(x);
    EXPECT_EQ(cap["decoder.block1"].shape(), (Shape{2, 48, 16, 24}));
    EXPECT_EQ(cap["encoder.layer4"].shape(), (Shape{2, 512, 4, 6}));  // output stride 16
    EXPECT_EQ(cap["encoder"].shape(), (Shape{2, 512, 4, 6}));         // the deepest feature
    EXPECT_EQ(cap["decoder"].shape(), (Shape{2, 256, 16, 24}));
    EXPECT_EQ(cap["decoder.aspp"].shape(), (Shape{2, 256, 4, 6}));
    EXPECT_EQ(cap["segmentation_head.0"].shape(), (Shape{2, 3, 16, 24}));
    EXPECT_EQ(cap["encoder.layer1.0.conv1"].shape(), (Shape{2, 64, 16, 24}));
    // Grad-CAM: the gradient of the logits w.r.t. the target layer's output.
    auto g = autograd::grad({sum(y)}, {cap["decoder.block1"]});
    ASSERT_TRUE(g[0].defined());
    EXPECT_EQ(g[0].shape(), (Shape{2, 48, 16, 24}));
    EXPECT_GT(max_abs_value(g[0]), 0.0);
  }
  auto psp = small_model("pspnet_resnet18");
  EXPECT_EQ(psp->default_target_layer(), "decoder.conv");
  psp->eval();
  nn::Capture cap(*psp, {"decoder.conv", "decoder.psp", "encoder.layer2"});
  (*psp)(x);
  EXPECT_EQ(cap["decoder.conv"].shape(), (Shape{2, 512, 8, 12}));
  EXPECT_EQ(cap["decoder.psp"].shape(), (Shape{2, 256, 8, 12}));  // 4 × 32 bins + 128
  EXPECT_EQ(cap["encoder.layer2"].shape(), (Shape{2, 128, 8, 12}));
  EXPECT_THROW(nn::Capture(*psp, {"decoder.block1"}), Error);  // PSPNet has no block1
}

// ---------------------------------------------------------------- dropout
TEST(ModelDropout, SeededMasksAndSwitch) {
  Tensor x = image_batch(2, 32, 32);
  auto run = [&](uint64_t seed, bool dropout) {
    auto m = create_model("pspnet_mobilenetv2", {.classes = 3, .seed = seed, .init = false});
    fill_deterministic(*m);
    m->train();
    m->set_dropout(dropout);
    nn::Capture cap(*m, {"decoder.conv", "decoder.dropout"});
    Tensor y = (*m)(x);
    return std::make_tuple(y, cap["decoder.conv"], cap["decoder.dropout"]);
  };
  auto [y1, c1, d1] = run(5, true);
  auto [y2, c2, d2] = run(5, true);
  auto [y3, c3, d3] = run(6, true);
  auto [y4, c4, d4] = run(5, false);
  EXPECT_EQ(max_diff(y1, y2), 0.0);  // same seed, same masks
  EXPECT_GT(max_diff(y1, y3), 0.0);  // another seed, other masks
  EXPECT_EQ(max_diff(d4, c4), 0.0);  // dropout off: identity in train mode
  // Dropout2d(0.2): each (n, c) channel is dropped whole or scaled by 1 / 0.8.
  auto cv = c1.to_vector(), dv = d1.to_vector();
  const int64_t plane = c1.size(2) * c1.size(3), planes = c1.size(0) * c1.size(1);
  int64_t dropped = 0;
  for (int64_t p = 0; p < planes; ++p) {
    bool zero = true;
    for (int64_t i = 0; i < plane; ++i) zero = zero && dv[p * plane + i] == 0.0;
    for (int64_t i = 0; i < plane; ++i) {
      double expect = zero ? 0.0 : cv[p * plane + i] / 0.8;
      ASSERT_NEAR(dv[p * plane + i], expect, 1e-6 * (1 + std::abs(expect))) << p << "," << i;
    }
    dropped += zero;
  }
  EXPECT_GT(dropped, planes / 10);
  EXPECT_LT(dropped, planes * 3 / 10);
  // Eval mode never drops, whatever set_dropout said.
  auto m = small_model("pspnet_mobilenetv2");
  m->eval();
  m->set_dropout(true);
  autograd::NoGradGuard no_grad;
  EXPECT_EQ(max_diff((*m)(x), (*m)(x)), 0.0);
}

// ---------------------------------------------------------------- initialisation
double sample_std(const Tensor& t) {
  auto v = t.to_vector();
  double s = 0, s2 = 0;
  for (double e : v) s += e, s2 += e * e;
  double m = s / v.size();
  return std::sqrt(s2 / v.size() - m * m);
}

TEST(ModelInit, TorchvisionEncoderSmpDecoderAndHead) {
  auto psp = create_model("pspnet_resnet18", {.classes = 4, .seed = 3});
  // torchvision ResNet: kaiming_normal_(fan_out, relu): std √(2 / fan_out); BN 1 / 0.
  auto& c = dynamic_cast<nn::Conv2d&>(psp->submodule("encoder.layer1.0.conv1"));  // 64·9 fan_out
  EXPECT_NEAR(sample_std(c.weight), std::sqrt(2.0 / (64 * 9)), 0.03 * std::sqrt(2.0 / (64 * 9)));
  auto& bn = dynamic_cast<nn::BatchNorm2d&>(psp->submodule("encoder.layer1.0.bn1"));
  EXPECT_EQ(max_diff(bn.weight, Tensor::ones({64})), 0.0);
  // smp initialize_decoder: kaiming_uniform_(fan_in, relu): bound √(6 / fan_in), bias 0.
  auto& dc = dynamic_cast<nn::Conv2d&>(psp->submodule("decoder.conv.0"));  // fan_in 256
  double b = std::sqrt(6.0 / 256);
  EXPECT_LE(max_abs_value(dc.weight), b);
  EXPECT_NEAR(sample_std(dc.weight), b / std::sqrt(3.0), 0.03 * b);
  auto& bin1 = dynamic_cast<nn::Conv2d&>(psp->submodule("decoder.psp.blocks.0.pool.1.0"));
  EXPECT_EQ(max_abs_value(bin1.bias), 0.0);
  // smp initialize_head: xavier_uniform_: bound √(6 / (fan_in + fan_out)), bias 0.
  auto& head = dynamic_cast<nn::Conv2d&>(psp->submodule("segmentation_head.0"));
  double hb = std::sqrt(6.0 / (512 * 9 + 4 * 9));
  EXPECT_LE(max_abs_value(head.weight), hb);
  EXPECT_GT(max_abs_value(head.weight), 0.9 * hb);
  EXPECT_EQ(max_abs_value(head.bias), 0.0);
  // DeepLabV3+: smp 0.6 calls no initialize(): PyTorch's default U(±1/√fan_in) for the head.
  auto dl = create_model("deeplabv3plus_resnet18", {.classes = 4, .seed = 3});
  auto& dh = dynamic_cast<nn::Conv2d&>(dl->submodule("segmentation_head.0"));
  EXPECT_LE(max_abs_value(dh.bias), 1.0 / 16.0);
  EXPECT_GT(max_abs_value(dh.bias), 0.0);
  // Seeds: same seed, same weights; another seed, others.
  auto psp2 = create_model("pspnet_resnet18", {.classes = 4, .seed = 3});
  auto psp3 = create_model("pspnet_resnet18", {.classes = 4, .seed = 4});
  auto& c2 = dynamic_cast<nn::Conv2d&>(psp2->submodule("encoder.layer1.0.conv1"));
  auto& c3 = dynamic_cast<nn::Conv2d&>(psp3->submodule("encoder.layer1.0.conv1"));
  EXPECT_EQ(max_diff(c.weight, c2.weight), 0.0);
  EXPECT_GT(max_diff(c.weight, c3.weight), 0.0);
}

// smp's MobileNetV2 loop at depth 3 runs features 7..13 and discards them: in training their
// BatchNorm statistics move (as smp's), in eval nothing runs.
TEST(ModelMobileNetV2, DepthThreeRunsTheDiscardedStageOnlyInTraining) {
  auto m = small_model("pspnet_mobilenetv2");
  auto& bn13 = dynamic_cast<nn::BatchNorm2d&>(m->submodule("encoder.features.13.conv.3"));
  auto& bn14 = dynamic_cast<nn::BatchNorm2d&>(m->submodule("encoder.features.14.conv.3"));
  Tensor r13 = bn13.running_mean.clone(), r14 = bn14.running_mean.clone();
  Tensor x = image_batch(2, 32, 32);
  m->eval();
  {
    autograd::NoGradGuard g;
    (*m)(x);
  }
  EXPECT_EQ(max_diff(bn13.running_mean, r13), 0.0);
  m->train();
  Tensor y = (*m)(x);
  EXPECT_GT(max_diff(bn13.running_mean, r13), 0.0);
  EXPECT_EQ(max_diff(bn14.running_mean, r14), 0.0);
  EXPECT_EQ(bn13.num_batches_tracked.item(), 1.0);
  // ... without a graph: no gradient reaches those layers.
  sum(y).backward();
  EXPECT_FALSE(bn13.weight.grad().defined());
}

// ---------------------------------------------------------------- gradchecks
// The composite blocks in float64 (eval mode: BatchNorm and dropout are fixed maps), w.r.t.
// the input: smp's interpolation choices (ASPP pooling align_corners=False, PSP bins True),
// concatenations and residual paths. Default tolerances of tests/support/gradcheck.h.
TEST(ModelGradcheck, CompositeBlocks) {
  Generator gen(1);
  auto check = [](nn::Module& m, const Shape& shape) {
    fill_deterministic(m);
    m.to(DType::F64);
    m.eval();
    Tensor x = test::random_f64(shape, 11);
    EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return m(in[0]); }, {x});
  };
  const int64_t rates[3] = {1, 2, 3};
  ASPP aspp(3, 2, rates, 0.5, gen);
  check(aspp, {1, 3, 4, 5});
  PSPModule psp(4, gen);
  check(psp, {1, 4, 6, 7});
  BasicBlock basic(2, 4, 2, 1, true, gen);
  check(basic, {1, 2, 6, 5});
  Bottleneck bottleneck(4, 1, 1, 2, true, gen);
  check(bottleneck, {1, 4, 5, 4});
  InvertedResidual inverted(2, 2, 1, 6, 1, gen);
  check(inverted, {1, 2, 5, 4});
}

}  // namespace
}  // namespace xgd::models
