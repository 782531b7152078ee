#include "models/deeplabv3plus.h"

#include "engine/ops/interpolate.h"
#include "engine/ops/shape_ops.h"

namespace xgd::models {

namespace {
std::shared_ptr<nn::Conv2d> conv1x1(int64_t in, int64_t out, Generator& gen) {
  return std::make_shared<nn::Conv2d>(in, out, 1, nn::Conv2dOptions{.bias = false}, gen);
}
// Sequential(first, BatchNorm2d(out), ReLU): smp's conv-BN-ReLU blocks.
std::shared_ptr<nn::Sequential> with_bn_relu(std::shared_ptr<nn::Module> first, int64_t out) {
  auto seq = std::make_shared<nn::Sequential>();
  seq->push_back(std::move(first));
  seq->push_back(std::make_shared<nn::BatchNorm2d>(out));
  seq->push_back(std::make_shared<nn::ReLU>());
  return seq;
}
}  // namespace

std::shared_ptr<nn::Sequential> separable_conv2d(int64_t in, int64_t out, int64_t kernel,
                                                 int64_t padding, int64_t dilation, bool bias,
                                                 Generator& gen) {
  auto seq = std::make_shared<nn::Sequential>();
  seq->push_back(std::make_shared<nn::Conv2d>(
      in, in, kernel,
      nn::Conv2dOptions{.padding = padding, .dilation = dilation, .groups = in, .bias = false},
      gen));
  seq->push_back(std::make_shared<nn::Conv2d>(in, out, 1, nn::Conv2dOptions{.bias = bias}, gen));
  return seq;
}

// ---------------------------------------------------------------- ASPP
ASPPPooling::ASPPPooling(int64_t in, int64_t out, Generator& gen) {
  push_back(std::make_shared<AdaptiveAvgPool2d>(1, 1));
  push_back(conv1x1(in, out, gen));
  push_back(std::make_shared<nn::BatchNorm2d>(out));
  push_back(std::make_shared<nn::ReLU>());
}

Tensor ASPPPooling::forward(const Tensor& x) {
  Tensor pooled = Sequential::forward(x);  // (N, out, 1, 1)
  return interpolate_bilinear(pooled, x.size(2), x.size(3), /*align_corners=*/false);
}

ASPP::ASPP(int64_t in, int64_t out, const int64_t (&rates)[3], double dropout, Generator& gen)
    : Module("ASPP") {
  convs_ = register_module("convs", std::make_shared<ModuleList>());
  convs_->push_back(with_bn_relu(conv1x1(in, out, gen), out));
  for (int64_t r : rates)  // smp ASPPSeparableConv (decoder_aspp_separable=True)
    convs_->push_back(with_bn_relu(separable_conv2d(in, out, 3, r, r, false, gen), out));
  convs_->push_back(std::make_shared<ASPPPooling>(in, out, gen));
  project_ = register_module("project", with_bn_relu(conv1x1(5 * out, out, gen), out));
  project_->push_back(std::make_shared<nn::Dropout>(dropout));
}

Tensor ASPP::forward(const Tensor& x) {
  std::vector<Tensor> branches;  // 5 × (N, out, H, W)
  for (size_t i = 0; i < convs_->size(); ++i) branches.push_back((*convs_)[i](x));
  return (*project_)(concat(branches, 1));
}

// ---------------------------------------------------------------- decoder
DeepLabV3PlusDecoder::DeepLabV3PlusDecoder(const std::vector<int64_t>& ch, int64_t out,
                                           const int64_t (&rates)[3], int output_stride,
                                           double aspp_dropout, Generator& gen)
    : Decoder("DeepLabV3PlusDecoder") {
  const int depth = static_cast<int>(ch.size()) - 1;
  XGD_CHECK(depth >= 3, "DeepLabV3PlusDecoder: encoder depth cannot be less than 3, got ", depth);
  XGD_CHECK(output_stride == 8 || output_stride == 16,
            "DeepLabV3PlusDecoder: output stride must be 8 or 16, got ", output_stride);
  aspp_ = register_module("aspp", std::make_shared<nn::Sequential>());
  aspp_->push_back(std::make_shared<ASPP>(ch.back(), out, rates, aspp_dropout, gen));
  aspp_->push_back(separable_conv2d(out, out, 3, 1, 1, false, gen));
  aspp_->push_back(std::make_shared<nn::BatchNorm2d>(out));
  aspp_->push_back(std::make_shared<nn::ReLU>());
  // smp: scale 4 when output_stride == 16 and depth > 3, else 2 (back to stride 4).
  up_ = register_module(
      "up", std::make_shared<Upsample>(output_stride == 16 && depth > 3 ? 4.0 : 2.0, true));
  const int64_t highres = 48;  // "proposed by authors of paper"
  block1_ = register_module("block1", with_bn_relu(conv1x1(ch[2], highres, gen), highres));
  block2_ = register_module(
      "block2", with_bn_relu(separable_conv2d(highres + out, out, 3, 1, 1, false, gen), out));
}

Tensor DeepLabV3PlusDecoder::decode(const std::vector<Tensor>& features) {
  XGD_CHECK(features.size() >= 4, "DeepLabV3PlusDecoder: expected at least 4 features, got ",
            features.size());
  Tensor a = (*up_)((*aspp_)(features.back()));  // (N, 256, H/4, W/4)
  Tensor h = (*block1_)(features[2]);            // (N, 48, H/4, W/4)
  return captured((*block2_)(concat({a, h}, 1)));
}

DeepLabV3Plus::DeepLabV3Plus(const std::string& name, std::shared_ptr<Encoder> encoder,
                             int64_t classes, Generator& gen)
    : SegmentationModel("DeepLabV3Plus", name, classes) {
  const int64_t rates[3] = {12, 24, 36};
  auto decoder = std::make_shared<DeepLabV3PlusDecoder>(encoder->out_channels(), 256, rates,
                                                        encoder->output_stride(), 0.5, gen);
  set_parts(std::move(encoder), std::move(decoder),
            make_segmentation_head(256, classes, 1, 4, gen));
}

}  // namespace xgd::models
