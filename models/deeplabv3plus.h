// smp 0.6 DeepLabV3Plus with its defaults (smp.DeepLabV3Plus(encoder, encoder_weights=None,
// classes=K)): encoder depth 5, output stride 16 (8 optional), decoder channels 256, ASPP rates
// 12/24/36 with separable convolutions and image pooling, ASPP dropout 0.5, block1 = 1×1 conv
// to 48 channels on the stride-4 features (encoder feature 2), block2 = separable 3×3, head =
// 1×1 conv and ×4 bilinear upsampling.
// Interpolation as smp's code (not its printout, which omits align_corners): decoder.up and the
// head's Upsample use align_corners=True; the ASPP pooling branch resizes with
// align_corners=False. No smp initialize(): decoder and head keep PyTorch's default init.
#pragma once
#include <memory>

#include "engine/nn.h"
#include "models/layers.h"
#include "models/segmentation_model.h"

namespace xgd::models {

// smp SeparableConv2d: Sequential(depthwise k×k (groups = in, no bias), pointwise 1×1).
std::shared_ptr<nn::Sequential> separable_conv2d(int64_t in, int64_t out, int64_t kernel,
                                                 int64_t padding, int64_t dilation, bool bias,
                                                 Generator& gen);

// smp ASPPPooling: Sequential(AdaptiveAvgPool2d(1), Conv2d 1×1, BN, ReLU), then resized back to
// the input's size (bilinear, align_corners=False: a broadcast of the 1×1 map).
class ASPPPooling : public nn::Sequential {
 public:
  ASPPPooling(int64_t in, int64_t out, Generator& gen);
  Tensor forward(const Tensor& x) override;
};

// smp ASPP: convs = [1×1, 3 separable atrous branches, pooling], concatenated, project =
// Sequential(Conv2d 1×1 (5·out -> out), BN, ReLU, Dropout(p)).
class ASPP : public nn::Module {
 public:
  ASPP(int64_t in, int64_t out, const int64_t (&rates)[3], double dropout, Generator& gen);
  Tensor forward(const Tensor& x) override;

 private:
  std::shared_ptr<ModuleList> convs_;
  std::shared_ptr<nn::Sequential> project_;
};

class DeepLabV3PlusDecoder : public Decoder {
 public:
  DeepLabV3PlusDecoder(const std::vector<int64_t>& encoder_channels, int64_t out_channels,
                       const int64_t (&rates)[3], int output_stride, double aspp_dropout,
                       Generator& gen);
  Tensor decode(const std::vector<Tensor>& features) override;

 private:
  std::shared_ptr<nn::Sequential> aspp_, block1_, block2_;
  std::shared_ptr<Upsample> up_;
};

class DeepLabV3Plus : public SegmentationModel {
 public:
  // encoder: depth 5, output stride 16 or 8 (built by the registry).
  DeepLabV3Plus(const std::string& name, std::shared_ptr<Encoder> encoder, int64_t classes,
                Generator& gen);
  std::string default_target_layer() const override { return "decoder.block1"; }
};

}  // namespace xgd::models
