// smp's SegmentationModel: encoder -> decoder -> segmentation_head, with its input check
// (check_input_shape) and its state-dict loading rules, plus the padding helpers that let
// apps feed images of any size.
//
// Children and names as smp: "encoder", "decoder", "segmentation_head" (no classification
// head: smp builds none without aux_params). segmentation_head = Sequential(Conv2d,
// Upsample | Identity, Activation).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/nn.h"
#include "models/encoder.h"

namespace xgd::models {

// A decoder maps the encoder's feature list to one map (smp's decoder.forward(features)).
class Decoder : public nn::Module {
 public:
  using Module::Module;
  // Implementations end with `return captured(out);` so "decoder" can be captured.
  virtual Tensor decode(const std::vector<Tensor>& features) = 0;
};

// Result of a non-strict load: smp's rules (SegmentationModel.load_state_dict): keys whose
// shape differs from the model's are skipped (smp warns), then missing/unexpected as PyTorch.
struct LoadReport {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
  std::vector<std::string> mismatched_keys;  // "name: [file shape] (weights) -> [model shape]"
};

class SegmentationModel : public nn::Module {
 public:
  // name: the registry name ("deeplabv3plus_resnet18"), used in error messages.
  SegmentationModel(std::string type, std::string name, int64_t classes);

  // (N, 3, H, W) -> logits (N, classes, H, W). H and W must be multiples of output_stride()
  // (smp's check_input_shape; see forward_padded for any size).
  Tensor forward(const Tensor& x) override;

  const std::string& model_name() const { return name_; }
  int64_t classes() const { return classes_; }
  Encoder& encoder() const { return *encoder_; }
  Decoder& decoder() const { return *decoder_; }
  nn::Sequential& segmentation_head() const { return *head_; }
  // The divisor the input sides must be multiples of (smp: encoder.output_stride).
  int64_t output_stride() const { return encoder_->output_stride(); }
  // The layer Grad-CAM and feature distillation use by default (DESIGN.md §1).
  virtual std::string default_target_layer() const = 0;

  // Throws smp's message when H or W is not a multiple of output_stride().
  void check_input_shape(const Tensor& x) const;

  // ---- weights (safetensors files as written by smp's state_dict / safetensors.torch)
  // strict: every key present with its shape, else one error listing the missing, unexpected
  // and shape-mismatched keys. Non-strict: smp's rules (see LoadReport); nothing is modified
  // when an error is thrown.
  LoadReport load_weights(const std::map<std::string, Tensor>& state, bool strict = true);
  LoadReport load_weights(const std::string& path, bool strict = true);

  // Seeds every Dropout/Dropout2d module from (seed, its name), so runs are reproducible and
  // modules draw independent masks.
  void seed_dropout(uint64_t seed);
  // Dropout modules on (their mode follows the model's) or off (kept in eval mode even while
  // the model trains: xgd_run --no-dropout, deterministic train-mode outputs).
  void set_dropout(bool enabled);

 protected:
  // Registers the three children in smp's order.
  void set_parts(std::shared_ptr<Encoder> encoder, std::shared_ptr<Decoder> decoder,
                 std::shared_ptr<nn::Sequential> head);

 private:
  std::string name_;
  int64_t classes_;
  std::shared_ptr<Encoder> encoder_;
  std::shared_ptr<Decoder> decoder_;
  std::shared_ptr<nn::Sequential> head_;
};

// smp's SegmentationHead(in, classes, kernel_size, upsampling): Conv2d (padding k / 2, bias),
// Upsample(scale, bilinear, align_corners=True) when upsampling > 1 else Identity, Activation.
std::shared_ptr<nn::Sequential> make_segmentation_head(int64_t in_channels, int64_t classes,
                                                       int64_t kernel_size, int64_t upsampling,
                                                       Generator& gen);

// ---- inputs of any size
// The smallest size >= (h, w) whose sides are multiples of `multiple`.
std::pair<int64_t, int64_t> padded_size(int64_t h, int64_t w, int64_t multiple);
// Zero-pads (N, C, H, W) at the bottom and right to (N, C, out_h, out_w) (differentiable).
// On ImageNet-normalised inputs zero is the mean colour, as data/transforms pads.
Tensor pad_bottom_right(const Tensor& x, int64_t out_h, int64_t out_w);
// Crops (N, C, H, W) to its top-left (N, C, h, w) (differentiable).
Tensor crop_top_left(const Tensor& x, int64_t h, int64_t w);
// model(x) for any H, W: pads to the next multiple of the output stride, crops the logits back.
Tensor forward_padded(SegmentationModel& model, const Tensor& x);

}  // namespace xgd::models
