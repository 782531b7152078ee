// torchvision ResNet-18/34/50/101 as smp's ResNetEncoder: conv1, bn1, relu, maxpool,
// layer1..layer4 (fc and avgpool deleted). Parameter names, shapes and order are torchvision's
// (encoder.layer1.0.conv1.weight, ...). Blocks: BasicBlock (18/34) and Bottleneck v1.5 (50/101:
// the stride on the 3×3 conv). Output stride 16 dilates layer4 (dilation 2), 8 dilates layer3
// (2) and layer4 (4), every conv of the stage, as smp's replace_strides_with_dilation.
#pragma once
#include <memory>
#include <string>

#include "engine/nn.h"
#include "models/encoder.h"
#include "models/layers.h"

namespace xgd::models {

// torchvision BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + downsample(x)).
class BasicBlock : public nn::Module {
 public:
  static constexpr int64_t kExpansion = 1;
  BasicBlock(int64_t inplanes, int64_t planes, int64_t stride, int64_t dilation, bool downsample,
             Generator& gen);
  Tensor forward(const Tensor& x) override;

 private:
  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::BatchNorm2d> bn1_, bn2_;
  std::shared_ptr<nn::ReLU> relu_;
  std::shared_ptr<nn::Sequential> downsample_;  // null when the shapes already match
};

// torchvision Bottleneck: 1×1 reduce, 3×3 (stride, dilation), 1×1 expand ×4, residual.
class Bottleneck : public nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;
  Bottleneck(int64_t inplanes, int64_t planes, int64_t stride, int64_t dilation, bool downsample,
             Generator& gen);
  Tensor forward(const Tensor& x) override;

 private:
  std::shared_ptr<nn::Conv2d> conv1_, conv2_, conv3_;
  std::shared_ptr<nn::BatchNorm2d> bn1_, bn2_, bn3_;
  std::shared_ptr<nn::ReLU> relu_;
  std::shared_ptr<nn::Sequential> downsample_;
};

class ResNetEncoder : public Encoder {
 public:
  // layers: 18, 34, 50 or 101. init: as torchvision (kaiming_normal_ fan_out, BN 1/0); false
  // keeps the layers' construction init (for weights loaded next).
  ResNetEncoder(int layers, int depth, int output_stride, Generator& gen, bool init = true);
  std::vector<Tensor> features(const Tensor& x) override;
  int layers() const { return layers_; }

 protected:
  std::vector<int64_t> all_channels() const override;

 private:
  template <class Block>
  std::shared_ptr<nn::Sequential> make_layer(int64_t& inplanes, int64_t planes, int blocks,
                                             int64_t stride, int64_t dilation, Generator& gen);

  int layers_;
  std::shared_ptr<nn::Conv2d> conv1_;
  std::shared_ptr<nn::BatchNorm2d> bn1_;
  std::shared_ptr<nn::ReLU> relu_;
  std::shared_ptr<MaxPool2d> maxpool_;
  std::shared_ptr<nn::Sequential> layer_[4];
};

}  // namespace xgd::models
