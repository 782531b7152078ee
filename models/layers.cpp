#include "models/layers.h"

#include <cmath>

#include "engine/ops/interpolate.h"

namespace xgd::models {

MaxPool2d::MaxPool2d(int64_t kernel, int64_t stride, int64_t padding) : Module("MaxPool2d") {
  params.kernel = {kernel, kernel};
  params.stride = {stride, stride};
  params.padding = {padding, padding};
}
Tensor MaxPool2d::forward(const Tensor& x) {
  return max_pool2d(x, params);
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(int64_t h, int64_t w)
    : Module("AdaptiveAvgPool2d"), out_h(h), out_w(w) {}
Tensor AdaptiveAvgPool2d::forward(const Tensor& x) {
  return adaptive_avg_pool2d(x, out_h, out_w);
}

Upsample::Upsample(double s, bool a) : Module("Upsample"), scale(s), align_corners(a) {
  XGD_CHECK(s > 0, "Upsample: scale factor must be positive, got ", s);
}
Tensor Upsample::forward(const Tensor& x) {
  return interpolate_bilinear_scale(x, scale, scale, align_corners);
}

Activation::Activation() : Module("Activation") {
  activation_ = register_module("activation", std::make_shared<nn::Identity>());
}
Tensor Activation::forward(const Tensor& x) {
  return (*activation_)(x);
}

nn::Module& ModuleList::operator[](size_t i) const {
  XGD_CHECK(i < items_.size(), "ModuleList '", name(), "': index ", i, " out of range for ",
            items_.size(), " modules");
  return *items_[i];
}

// ---------------------------------------------------------------- initialisations
namespace {
template <class Fn>
void for_each_conv(nn::Module& root, Fn&& fn) {
  for (auto& [name, m] : root.named_modules())
    if (auto* conv = dynamic_cast<nn::Conv2d*>(m)) fn(*conv);
}
void init_batch_norms(nn::Module& root) {
  for (auto& [name, m] : root.named_modules())
    if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(m)) {
      bn->weight.fill_(1.0);
      bn->bias.fill_(0.0);
    }
}
}  // namespace

void init_torchvision(nn::Module& root, Generator& gen) {
  for_each_conv(root, [&](nn::Conv2d& c) {
    kaiming_normal_(c.weight, /*use_fan_in=*/false, gen);
    if (c.bias.defined()) c.bias.fill_(0.0);
  });
  init_batch_norms(root);
}

void init_smp_decoder(nn::Module& root, Generator& gen) {
  for_each_conv(root, [&](nn::Conv2d& c) {
    // kaiming_uniform_(a=0, fan_in): bound = √2 · √(3 / fan_in)
    double bound = std::sqrt(6.0 / static_cast<double>(fan_in(c.weight)));
    uniform_(c.weight, -bound, bound, gen);
    if (c.bias.defined()) c.bias.fill_(0.0);
  });
  init_batch_norms(root);
}

void init_smp_head(nn::Module& root, Generator& gen) {
  for_each_conv(root, [&](nn::Conv2d& c) {
    double bound = std::sqrt(6.0 / static_cast<double>(fan_in(c.weight) + fan_out(c.weight)));
    uniform_(c.weight, -bound, bound, gen);
    if (c.bias.defined()) c.bias.fill_(0.0);
  });
}

}  // namespace xgd::models
