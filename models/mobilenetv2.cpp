#include "models/mobilenetv2.h"

#include "engine/autograd.h"
#include "engine/ops/pointwise.h"
#include "models/layers.h"

namespace xgd::models {

namespace {
// torchvision Conv2dNormActivation(in, out, k, stride, groups, activation=ReLU6): Sequential of
// conv (padding (k - 1) / 2 · dilation, no bias), BatchNorm2d, ReLU6.
std::shared_ptr<nn::Sequential> conv_bn_relu6(int64_t in, int64_t out, int64_t k, int64_t stride,
                                              int64_t groups, int64_t dilation, Generator& gen) {
  auto seq = std::make_shared<nn::Sequential>();
  seq->push_back(std::make_shared<nn::Conv2d>(in, out, k,
                                              nn::Conv2dOptions{.stride = stride,
                                                                .padding = (k - 1) / 2 * dilation,
                                                                .dilation = dilation,
                                                                .groups = groups,
                                                                .bias = false},
                                              gen));
  seq->push_back(std::make_shared<nn::BatchNorm2d>(out));
  seq->push_back(std::make_shared<nn::ReLU6>());
  return seq;
}

// smp's _out_indexes: the features after these modules are the encoder's outputs.
constexpr int kTaps[5] = {1, 3, 6, 13, 18};
}  // namespace

InvertedResidual::InvertedResidual(int64_t inp, int64_t oup, int64_t stride, int64_t expand,
                                   int64_t dilation, Generator& gen)
    : Module("InvertedResidual"), use_res_connect_(stride == 1 && inp == oup) {
  int64_t hidden = inp * expand;
  conv_ = register_module("conv", std::make_shared<nn::Sequential>());
  if (expand != 1) conv_->push_back(conv_bn_relu6(inp, hidden, 1, 1, 1, dilation, gen));
  // A dilated block (smp's patch) has stride 1; use_res_connect was decided by the nominal
  // stride, which never matters here: the strided blocks change the channel count anyway.
  conv_->push_back(
      conv_bn_relu6(hidden, hidden, 3, dilation > 1 ? 1 : stride, hidden, dilation, gen));
  conv_->push_back(std::make_shared<nn::Conv2d>(
      hidden, oup, 1, nn::Conv2dOptions{.dilation = dilation, .bias = false}, gen));
  conv_->push_back(std::make_shared<nn::BatchNorm2d>(oup));
}

Tensor InvertedResidual::forward(const Tensor& x) {
  Tensor y = (*conv_)(x);
  return use_res_connect_ ? x + y : y;
}

MobileNetV2Encoder::MobileNetV2Encoder(int depth, int output_stride, Generator& gen, bool init)
    : Encoder("MobileNetV2Encoder", depth, output_stride) {
  // smp's get_stages: features[7:14] is the stride-16 stage, features[14:] the stride-32 one.
  auto dilation_of = [&](int index) -> int64_t {
    if (output_stride == 32) return 1;
    if (index >= 14) return stage_dilation(32, output_stride);
    if (index >= 7) return stage_dilation(16, output_stride);
    return 1;
  };
  features_ = register_module("features", std::make_shared<nn::Sequential>());
  features_->push_back(conv_bn_relu6(3, 32, 3, 2, 1, 1, gen));
  // torchvision's inverted_residual_setting: expansion t, channels c, repeats n, stride s.
  const int64_t setting[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                 {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int64_t in = 32;
  for (auto& [t, c, n, s] : setting)
    for (int64_t i = 0; i < n; ++i) {
      int index = static_cast<int>(features_->size());
      features_->push_back(
          std::make_shared<InvertedResidual>(in, c, i == 0 ? s : 1, t, dilation_of(index), gen));
      in = c;
    }
  features_->push_back(conv_bn_relu6(320, 1280, 1, 1, 1, dilation_of(18), gen));
  if (init) init_torchvision(*this, gen);
}

std::vector<Tensor> MobileNetV2Encoder::features(const Tensor& x) {
  std::vector<Tensor> feats{x};
  Tensor y = x;
  const int last = kTaps[depth_ - 1];
  for (int i = 0; i <= last; ++i) {
    y = (*features_)[i](y);
    if (i == kTaps[feats.size() - 1]) feats.push_back(y);
  }
  // smp's loop stops only after the tap beyond its depth, so in training the modules up to it
  // run too and update their BatchNorm running statistics; their output is discarded. Run them
  // (without a graph) so the state matches smp's after a training step. Eval skips them: they
  // have no effect there.
  if (is_training() && depth_ < 5) {
    autograd::NoGradGuard no_grad;
    for (int i = last + 1; i <= kTaps[depth_]; ++i) y = (*features_)[i](y);
  }
  return finish(std::move(feats));
}

}  // namespace xgd::models
