// smp 0.6 PSPNet with its defaults (smp.PSPNet(encoder, encoder_weights=None, classes=K)):
// encoder depth 3 (output stride 8, no dilation), pyramid bins 1/2/3/6 each a 1×1
// Conv2dReLU to C/4 channels (bin 1 without BatchNorm, its conv with a bias: smp's PSPBlock),
// resized back with bilinear align_corners=True; conv = Conv2dReLU(2C -> 512), Dropout2d(0.2);
// head = 3×3 conv and ×8 bilinear upsampling (align_corners=True). smp's initialize():
// decoder kaiming_uniform_(fan_in, relu), head xavier_uniform_, biases 0, BatchNorm 1/0.
#pragma once
#include <memory>

#include "engine/nn.h"
#include "models/layers.h"
#include "models/segmentation_model.h"

namespace xgd::models {

// smp Conv2dReLU(in, out, k, use_norm): Sequential(Conv2d(bias = !use_norm), BatchNorm2d or
// Identity, ReLU).
std::shared_ptr<nn::Sequential> conv2d_relu(int64_t in, int64_t out, int64_t kernel, bool use_norm,
                                            Generator& gen);

// smp PSPBlock: pool = Sequential(AdaptiveAvgPool2d(s), Conv2dReLU), then bilinear back to
// the input's size with align_corners=True.
class PSPBlock : public nn::Module {
 public:
  PSPBlock(int64_t in, int64_t out, int64_t pool_size, Generator& gen);
  Tensor forward(const Tensor& x) override;

 private:
  std::shared_ptr<nn::Sequential> pool_;
};

// smp PSPModule: cat([block(x) for each bin] + [x], dim 1).
class PSPModule : public nn::Module {
 public:
  PSPModule(int64_t in, Generator& gen);
  Tensor forward(const Tensor& x) override;

 private:
  std::shared_ptr<ModuleList> blocks_;
};

class PSPDecoder : public Decoder {
 public:
  PSPDecoder(const std::vector<int64_t>& encoder_channels, int64_t out_channels, double dropout,
             Generator& gen);
  Tensor decode(const std::vector<Tensor>& features) override;

 private:
  std::shared_ptr<PSPModule> psp_;
  std::shared_ptr<nn::Sequential> conv_;
  std::shared_ptr<nn::Dropout2d> dropout_;
};

class PSPNet : public SegmentationModel {
 public:
  // encoder: depth 3, output stride 32 (i.e. 8 effective: nothing is dilated). init: smp's
  // initialize() of decoder and head; false keeps the construction init.
  PSPNet(const std::string& name, std::shared_ptr<Encoder> encoder, int64_t classes, Generator& gen,
         bool init = true);
  std::string default_target_layer() const override { return "decoder.conv"; }
};

}  // namespace xgd::models
