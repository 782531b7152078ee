#include "models/pspnet.h"

#include "engine/ops/interpolate.h"
#include "engine/ops/shape_ops.h"

namespace xgd::models {

std::shared_ptr<nn::Sequential> conv2d_relu(int64_t in, int64_t out, int64_t kernel, bool use_norm,
                                            Generator& gen) {
  auto seq = std::make_shared<nn::Sequential>();
  seq->push_back(
      std::make_shared<nn::Conv2d>(in, out, kernel, nn::Conv2dOptions{.bias = !use_norm}, gen));
  if (use_norm)
    seq->push_back(std::make_shared<nn::BatchNorm2d>(out));
  else
    seq->push_back(std::make_shared<nn::Identity>());
  seq->push_back(std::make_shared<nn::ReLU>());
  return seq;
}

PSPBlock::PSPBlock(int64_t in, int64_t out, int64_t pool_size, Generator& gen)
    : Module("PSPBlock") {
  pool_ = register_module("pool", std::make_shared<nn::Sequential>());
  pool_->push_back(std::make_shared<AdaptiveAvgPool2d>(pool_size, pool_size));
  // "PyTorch does not support BatchNorm for 1x1 shape" (smp): bin 1 has no norm.
  pool_->push_back(conv2d_relu(in, out, 1, /*use_norm=*/pool_size != 1, gen));
}

Tensor PSPBlock::forward(const Tensor& x) {
  Tensor y = (*pool_)(x);  // (N, out, s, s)
  return interpolate_bilinear(y, x.size(2), x.size(3), /*align_corners=*/true);
}

PSPModule::PSPModule(int64_t in, Generator& gen) : Module("PSPModule") {
  blocks_ = register_module("blocks", std::make_shared<ModuleList>());
  const int64_t sizes[4] = {1, 2, 3, 6};
  for (int64_t s : sizes) blocks_->push_back(std::make_shared<PSPBlock>(in, in / 4, s, gen));
}

Tensor PSPModule::forward(const Tensor& x) {
  std::vector<Tensor> parts;  // 4 × (N, C/4, H, W), then x (N, C, H, W)
  for (size_t i = 0; i < blocks_->size(); ++i) parts.push_back((*blocks_)[i](x));
  parts.push_back(x);
  return concat(parts, 1);  // (N, 2C, H, W)
}

PSPDecoder::PSPDecoder(const std::vector<int64_t>& ch, int64_t out, double dropout, Generator& gen)
    : Decoder("PSPDecoder") {
  psp_ = register_module("psp", std::make_shared<PSPModule>(ch.back(), gen));
  conv_ = register_module("conv", conv2d_relu(ch.back() * 2, out, 1, true, gen));
  dropout_ = register_module("dropout", std::make_shared<nn::Dropout2d>(dropout));
}

Tensor PSPDecoder::decode(const std::vector<Tensor>& features) {
  Tensor y = (*conv_)((*psp_)(features.back()));  // (N, 512, H/8, W/8)
  return captured((*dropout_)(y));
}

PSPNet::PSPNet(const std::string& name, std::shared_ptr<Encoder> encoder, int64_t classes,
               Generator& gen, bool init)
    : SegmentationModel("PSPNet", name, classes) {
  auto decoder = std::make_shared<PSPDecoder>(encoder->out_channels(), 512, 0.2, gen);
  auto head = make_segmentation_head(512, classes, 3, 8, gen);
  if (init) {
    init_smp_decoder(*decoder, gen);
    init_smp_head(*head, gen);
  }
  set_parts(std::move(encoder), std::move(decoder), std::move(head));
}

}  // namespace xgd::models
