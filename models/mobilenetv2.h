// torchvision MobileNetV2 (width 1.0) as smp's MobileNetV2Encoder: features.0 .. features.18
// (the classifier deleted), feature taps after features 1, 3, 6, 13 and 18 (strides 2..32).
// Output stride 16 dilates features[14:] (dilation 2), 8 dilates features[7:14] (2) and
// features[14:] (4), every conv, as smp's replace_strides_with_dilation.
#pragma once
#include <memory>

#include "engine/nn.h"
#include "models/encoder.h"

namespace xgd::models {

// torchvision InvertedResidual: child "conv" = Sequential([1×1 expand Conv-BN-ReLU6,]
// 3×3 depthwise Conv-BN-ReLU6, 1×1 project conv, BN); x + conv(x) when stride 1 and in == out.
class InvertedResidual : public nn::Module {
 public:
  InvertedResidual(int64_t inp, int64_t oup, int64_t stride, int64_t expand_ratio, int64_t dilation,
                   Generator& gen);
  Tensor forward(const Tensor& x) override;

 private:
  bool use_res_connect_;
  std::shared_ptr<nn::Sequential> conv_;
};

class MobileNetV2Encoder : public Encoder {
 public:
  // init: as torchvision (kaiming_normal_ fan_out, BN 1/0); false keeps the construction init.
  MobileNetV2Encoder(int depth, int output_stride, Generator& gen, bool init = true);
  std::vector<Tensor> features(const Tensor& x) override;

 protected:
  std::vector<int64_t> all_channels() const override { return {3, 16, 24, 32, 96, 1280}; }

 private:
  std::shared_ptr<nn::Sequential> features_;
};

}  // namespace xgd::models
