#include "models/resnet.h"

#include "engine/ops/pointwise.h"

namespace xgd::models {

namespace {
// Conv2d(in, out, k, stride, padding = (k / 2)·dilation, dilation, bias=False): torchvision's
// conv3x3 / conv1x1 after smp's patch (which sets padding (k / 2)·d on every conv).
std::shared_ptr<nn::Conv2d> conv(int64_t in, int64_t out, int64_t k, int64_t stride,
                                 int64_t dilation, Generator& gen) {
  return std::make_shared<nn::Conv2d>(
      in, out, k,
      nn::Conv2dOptions{
          .stride = stride, .padding = (k / 2) * dilation, .dilation = dilation, .bias = false},
      gen);
}
std::shared_ptr<nn::Sequential> downsample(int64_t in, int64_t out, int64_t stride,
                                           int64_t dilation, Generator& gen) {
  auto ds = std::make_shared<nn::Sequential>();
  ds->push_back(conv(in, out, 1, stride, dilation, gen));
  ds->push_back(std::make_shared<nn::BatchNorm2d>(out));
  return ds;
}
}  // namespace

// ---------------------------------------------------------------- BasicBlock
BasicBlock::BasicBlock(int64_t inplanes, int64_t planes, int64_t stride, int64_t dilation,
                       bool has_downsample, Generator& gen)
    : Module("BasicBlock") {
  // torchvision registration order: conv1, bn1, relu, conv2, bn2, downsample.
  conv1_ = register_module("conv1", conv(inplanes, planes, 3, stride, dilation, gen));
  bn1_ = register_module("bn1", std::make_shared<nn::BatchNorm2d>(planes));
  relu_ = register_module("relu", std::make_shared<nn::ReLU>());
  conv2_ = register_module("conv2", conv(planes, planes, 3, 1, dilation, gen));
  bn2_ = register_module("bn2", std::make_shared<nn::BatchNorm2d>(planes));
  if (has_downsample)
    downsample_ = register_module("downsample",
                                  downsample(inplanes, planes * kExpansion, stride, dilation, gen));
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor out = (*relu_)((*bn1_)((*conv1_)(x)));  // (N, planes, H / s, W / s)
  out = (*bn2_)((*conv2_)(out));
  Tensor identity = downsample_ ? (*downsample_)(x) : x;
  return (*relu_)(out + identity);
}

// ---------------------------------------------------------------- Bottleneck
Bottleneck::Bottleneck(int64_t inplanes, int64_t planes, int64_t stride, int64_t dilation,
                       bool has_downsample, Generator& gen)
    : Module("Bottleneck") {
  // torchvision registration order: conv1, bn1, conv2, bn2, conv3, bn3, relu, downsample.
  conv1_ = register_module("conv1", conv(inplanes, planes, 1, 1, dilation, gen));
  bn1_ = register_module("bn1", std::make_shared<nn::BatchNorm2d>(planes));
  conv2_ = register_module("conv2", conv(planes, planes, 3, stride, dilation, gen));
  bn2_ = register_module("bn2", std::make_shared<nn::BatchNorm2d>(planes));
  conv3_ = register_module("conv3", conv(planes, planes * kExpansion, 1, 1, dilation, gen));
  bn3_ = register_module("bn3", std::make_shared<nn::BatchNorm2d>(planes * kExpansion));
  relu_ = register_module("relu", std::make_shared<nn::ReLU>());
  if (has_downsample)
    downsample_ = register_module("downsample",
                                  downsample(inplanes, planes * kExpansion, stride, dilation, gen));
}

Tensor Bottleneck::forward(const Tensor& x) {
  Tensor out = (*relu_)((*bn1_)((*conv1_)(x)));  // (N, planes, H, W)
  out = (*relu_)((*bn2_)((*conv2_)(out)));       // (N, planes, H / s, W / s)
  out = (*bn3_)((*conv3_)(out));                 // (N, 4·planes, H / s, W / s)
  Tensor identity = downsample_ ? (*downsample_)(x) : x;
  return (*relu_)(out + identity);
}

// ---------------------------------------------------------------- ResNetEncoder
template <class Block>
std::shared_ptr<nn::Sequential> ResNetEncoder::make_layer(int64_t& inplanes, int64_t planes,
                                                          int blocks, int64_t stride,
                                                          int64_t dilation, Generator& gen) {
  // torchvision decides the downsample branch from the nominal stride; smp's dilation patch
  // then sets the stride of every conv of a dilated stage to 1 (the branch stays, as a 1×1).
  bool has_downsample = stride != 1 || inplanes != planes * Block::kExpansion;
  int64_t conv_stride = dilation > 1 ? 1 : stride;
  auto layer = std::make_shared<nn::Sequential>();
  layer->push_back(
      std::make_shared<Block>(inplanes, planes, conv_stride, dilation, has_downsample, gen));
  inplanes = planes * Block::kExpansion;
  for (int i = 1; i < blocks; ++i)
    layer->push_back(std::make_shared<Block>(inplanes, planes, 1, dilation, false, gen));
  return layer;
}

ResNetEncoder::ResNetEncoder(int layers, int depth, int output_stride, Generator& gen, bool init)
    : Encoder("ResNetEncoder", depth, output_stride), layers_(layers) {
  int blocks[4];
  bool bottleneck = layers >= 50;
  switch (layers) {
    case 18:
      blocks[0] = 2, blocks[1] = 2, blocks[2] = 2, blocks[3] = 2;
      break;
    case 34:
      blocks[0] = 3, blocks[1] = 4, blocks[2] = 6, blocks[3] = 3;
      break;
    case 50:
      blocks[0] = 3, blocks[1] = 4, blocks[2] = 6, blocks[3] = 3;
      break;
    case 101:
      blocks[0] = 3, blocks[1] = 4, blocks[2] = 23, blocks[3] = 3;
      break;
    default:
      XGD_FAIL("ResNetEncoder: no ResNet-", layers, " (supported: 18, 34, 50, 101)");
  }
  conv1_ = register_module(
      "conv1", std::make_shared<nn::Conv2d>(
                   3, 64, 7, nn::Conv2dOptions{.stride = 2, .padding = 3, .bias = false}, gen));
  bn1_ = register_module("bn1", std::make_shared<nn::BatchNorm2d>(64));
  relu_ = register_module("relu", std::make_shared<nn::ReLU>());
  maxpool_ = register_module("maxpool", std::make_shared<MaxPool2d>(3, 2, 1));
  int64_t inplanes = 64;
  const int64_t planes[4] = {64, 128, 256, 512};
  const int64_t strides[4] = {1, 2, 2, 2};
  const int stage_strides[4] = {4, 8, 16, 32};  // smp's get_stages: layer3 = 16, layer4 = 32
  for (int i = 0; i < 4; ++i) {
    int64_t d = output_stride == 32 ? 1 : stage_dilation(stage_strides[i], output_stride);
    layer_[i] = register_module(
        "layer" + std::to_string(i + 1),
        bottleneck ? make_layer<Bottleneck>(inplanes, planes[i], blocks[i], strides[i], d, gen)
                   : make_layer<BasicBlock>(inplanes, planes[i], blocks[i], strides[i], d, gen));
  }
  if (init) init_torchvision(*this, gen);
}

std::vector<int64_t> ResNetEncoder::all_channels() const {
  if (layers_ >= 50) return {3, 64, 256, 512, 1024, 2048};
  return {3, 64, 64, 128, 256, 512};
}

std::vector<Tensor> ResNetEncoder::features(const Tensor& x) {
  std::vector<Tensor> feats{x};                // (N, 3, H, W)
  Tensor y = (*relu_)((*bn1_)((*conv1_)(x)));  // (N, 64, H/2, W/2)
  feats.push_back(y);
  if (depth_ >= 2) feats.push_back(y = (*layer_[0])((*maxpool_)(y)));  // (N, C1, H/4, W/4)
  for (int i = 1; i < 4 && depth_ >= i + 2; ++i) feats.push_back(y = (*layer_[i])(y));
  return finish(std::move(feats));
}

}  // namespace xgd::models
