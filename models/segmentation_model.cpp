#include "models/segmentation_model.h"

#include <set>

#include "engine/io/safetensors.h"
#include "engine/ops/shape_ops.h"
#include "models/layers.h"

namespace xgd::models {

SegmentationModel::SegmentationModel(std::string type, std::string name, int64_t classes)
    : Module(std::move(type)), name_(std::move(name)), classes_(classes) {
  XGD_CHECK(classes > 0, name_, ": the number of classes must be positive, got ", classes);
}

void SegmentationModel::set_parts(std::shared_ptr<Encoder> encoder,
                                  std::shared_ptr<Decoder> decoder,
                                  std::shared_ptr<nn::Sequential> head) {
  encoder_ = register_module("encoder", std::move(encoder));
  decoder_ = register_module("decoder", std::move(decoder));
  head_ = register_module("segmentation_head", std::move(head));
}

void SegmentationModel::check_input_shape(const Tensor& x) const {
  XGD_CHECK(x.defined() && x.dim() == 4 && x.size(1) == 3, name_,
            ": expected an (N, 3, H, W) image batch, got ", x.defined() ? x.str() : "undefined");
  int64_t h = x.size(2), w = x.size(3), s = output_stride();
  if (h % s == 0 && w % s == 0) return;
  auto [ph, pw] = padded_size(h, w, s);
  // smp's check_input_shape message.
  XGD_FAIL(name_, ": wrong input shape height=", h, ", width=", w,
           ". Expected image height and width divisible by ", s,
           ". Consider pad your images to shape (", ph, ", ", pw, ").");
}

Tensor SegmentationModel::forward(const Tensor& x) {
  check_input_shape(x);
  std::vector<Tensor> feats = encoder_->features(x);  // [x, /2, /4, ...]
  Tensor y = decoder_->decode(feats);                 // (N, C_dec, H / r, W / r)
  return (*head_)(y);                                 // (N, classes, H, W)
}

// ---------------------------------------------------------------- weights
LoadReport SegmentationModel::load_weights(const std::map<std::string, Tensor>& state,
                                           bool strict) {
  LoadReport report;
  if (strict) {
    load_state_dict(state, true);  // one error listing missing, unexpected, mismatched keys
    return report;
  }
  // smp (SegmentationModel.load_state_dict, strict=False): drop the keys whose shapes differ
  // (e.g. a head trained for another class count), then load the rest non-strictly.
  std::map<std::string, Tensor> kept = state;
  for (auto& [key, own] : state_dict()) {
    auto it = kept.find(key);
    if (it == kept.end() || it->second.shape() == own.shape()) continue;
    report.mismatched_keys.push_back(key + ": " + shape_str(it->second.shape()) + " (weights) -> " +
                                     shape_str(own.shape()) + " (model)");
    kept.erase(it);
  }
  nn::LoadResult r = load_state_dict(kept, false);
  report.missing_keys = std::move(r.missing_keys);
  report.unexpected_keys = std::move(r.unexpected_keys);
  return report;
}

LoadReport SegmentationModel::load_weights(const std::string& path, bool strict) {
  io::SafetensorsFile file = io::load_safetensors(path);
  try {
    return load_weights(file.tensors, strict);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

namespace {
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}
}  // namespace

void SegmentationModel::seed_dropout(uint64_t seed) {
  for (auto& [name, m] : named_modules())
    if (auto* d = dynamic_cast<nn::Dropout*>(m)) d->seed(seed ^ fnv1a(name));
}

void SegmentationModel::set_dropout(bool enabled) {
  for (auto& [name, m] : named_modules())
    if (auto* d = dynamic_cast<nn::Dropout*>(m)) d->train(enabled && is_training());
}

// ---------------------------------------------------------------- head
std::shared_ptr<nn::Sequential> make_segmentation_head(int64_t in_channels, int64_t classes,
                                                       int64_t kernel_size, int64_t upsampling,
                                                       Generator& gen) {
  auto head = std::make_shared<nn::Sequential>();
  head->push_back(std::make_shared<nn::Conv2d>(in_channels, classes, kernel_size,
                                               nn::Conv2dOptions{.padding = kernel_size / 2}, gen));
  if (upsampling > 1)
    head->push_back(std::make_shared<Upsample>(static_cast<double>(upsampling), true));
  else
    head->push_back(std::make_shared<nn::Identity>());
  head->push_back(std::make_shared<Activation>());
  return head;
}

// ---------------------------------------------------------------- any input size
std::pair<int64_t, int64_t> padded_size(int64_t h, int64_t w, int64_t m) {
  XGD_CHECK(h > 0 && w > 0 && m > 0, "padded_size: sizes must be positive, got ", h, "x", w,
            " and multiple ", m);
  return {(h + m - 1) / m * m, (w + m - 1) / m * m};
}

Tensor pad_bottom_right(const Tensor& x, int64_t out_h, int64_t out_w) {
  XGD_CHECK(x.defined() && x.dim() == 4 && out_h >= x.size(2) && out_w >= x.size(3),
            "pad_bottom_right: cannot pad ", x.defined() ? x.str() : "undefined", " to ", out_h,
            "x", out_w);
  Tensor y = x;
  int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (out_w > w) y = concat({y, Tensor::zeros({n, c, h, out_w - w}, x.dtype(), x.device())}, 3);
  if (out_h > h) y = concat({y, Tensor::zeros({n, c, out_h - h, out_w}, x.dtype(), x.device())}, 2);
  return y;
}

Tensor crop_top_left(const Tensor& x, int64_t h, int64_t w) {
  XGD_CHECK(x.defined() && x.dim() == 4 && h > 0 && w > 0 && h <= x.size(2) && w <= x.size(3),
            "crop_top_left: cannot crop ", x.defined() ? x.str() : "undefined", " to ", h, "x", w);
  Tensor y = x;
  if (h < x.size(2)) y = slice(y, 2, 0, h);
  if (w < x.size(3)) y = slice(y, 3, 0, w);
  return y;
}

Tensor forward_padded(SegmentationModel& model, const Tensor& x) {
  XGD_CHECK(x.defined() && x.dim() == 4, model.model_name(),
            ": expected an (N, 3, H, W) image batch, got ", x.defined() ? x.str() : "undefined");
  auto [ph, pw] = padded_size(x.size(2), x.size(3), model.output_stride());
  Tensor logits = model(pad_bottom_right(x, ph, pw));  // (N, K, ph, pw)
  return crop_top_left(logits, x.size(2), x.size(3));
}

}  // namespace xgd::models
