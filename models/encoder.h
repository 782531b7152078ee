// Encoders as smp wraps them (smp.encoders: ResNetEncoder, MobileNetV2Encoder): a torchvision
// backbone without its classifier that returns depth + 1 feature maps [x, /2, /4, /8, /16, /32]
// (smp's EncoderMixin), with the last stages dilated instead of strided for output stride 16
// or 8 (smp's make_dilated / replace_strides_with_dilation).
#pragma once
#include <string>
#include <vector>

#include "engine/nn.h"

namespace xgd::models {

class Encoder : public nn::Module {
 public:
  // depth: 1..5 stages used; output_stride: 32 (none dilated), 16 or 8.
  Encoder(std::string type, int depth, int output_stride);

  // depth + 1 features, the input first (smp's encoder.forward). The deepest feature is also
  // recorded for a Capture naming the encoder itself ("encoder").
  virtual std::vector<Tensor> features(const Tensor& x) = 0;
  int depth() const { return depth_; }
  // smp's EncoderMixin.output_stride: min(output_stride, 2^depth).
  int output_stride() const;
  // smp's encoder.out_channels: channels of the depth + 1 features.
  std::vector<int64_t> out_channels() const;

 protected:
  // Channels of the 6 features of a depth-5 encoder (smp's _out_channels).
  virtual std::vector<int64_t> all_channels() const = 0;
  // Records the deepest feature for captures of this module; returns the list.
  std::vector<Tensor> finish(std::vector<Tensor> feats);

  int depth_, output_stride_;
};

// Convolution geometry of one stage after smp's make_dilated: a stage whose nominal stride
// exceeds the output stride gets every conv's stride set to 1, dilation = stage stride / output
// stride and padding (k / 2)·dilation. Returns the dilation of the stage (1 = unchanged).
int stage_dilation(int stage_stride, int output_stride);

}  // namespace xgd::models
