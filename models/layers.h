// Parameter-free layers the smp/torchvision structures contain as named modules (so their
// names exist for capture, exactly where smp has them): MaxPool2d, AdaptiveAvgPool2d, Upsample,
// smp's Activation wrapper, and a ModuleList container. Plus the PyTorch initialisations the
// model builders reapply after construction (torchvision's and smp's, not nn.Conv2d's default).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/nn.h"
#include "engine/ops/pool.h"

namespace xgd::models {

// torch.nn.MaxPool2d(kernel, stride, padding) (ResNet's stem: 3, 2, 1).
class MaxPool2d : public nn::Module {
 public:
  MaxPool2d(int64_t kernel, int64_t stride, int64_t padding);
  Tensor forward(const Tensor& x) override;
  Pool2dParams params;
};

// torch.nn.AdaptiveAvgPool2d((out_h, out_w)).
class AdaptiveAvgPool2d : public nn::Module {
 public:
  AdaptiveAvgPool2d(int64_t out_h, int64_t out_w);
  Tensor forward(const Tensor& x) override;
  int64_t out_h, out_w;
};

// torch.nn.Upsample(scale_factor=s, mode='bilinear', align_corners=a): output floor(in·s).
class Upsample : public nn::Module {
 public:
  Upsample(double scale, bool align_corners);
  Tensor forward(const Tensor& x) override;
  double scale;
  bool align_corners;
};

// smp.base.modules.Activation(None): a module holding "activation" = Identity, so the head's
// third child exists under smp's name (segmentation_head.2.activation).
class Activation : public nn::Module {
 public:
  Activation();
  Tensor forward(const Tensor& x) override;

 private:
  std::shared_ptr<nn::Identity> activation_;
};

// torch.nn.ModuleList: children "0", "1", ... with no forward of its own.
class ModuleList : public nn::Module {
 public:
  ModuleList() : Module("ModuleList") {}
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    register_module(std::to_string(items_.size()), module);
    items_.push_back(module);
    return module;
  }
  size_t size() const { return items_.size(); }
  nn::Module& operator[](size_t i) const;

 private:
  std::vector<std::shared_ptr<nn::Module>> items_;
};

// ---- initialisations (applied to every Conv2d / BatchNorm2d of a subtree)
// torchvision ResNet / MobileNetV2: conv weight kaiming_normal_(mode='fan_out', relu), conv
// bias 0, BatchNorm weight 1, bias 0.
void init_torchvision(nn::Module& root, Generator& gen);
// smp.base.initialization.initialize_decoder: conv kaiming_uniform_(mode='fan_in', relu)
// (bound √(6 / fan_in)), bias 0; BatchNorm weight 1, bias 0.
void init_smp_decoder(nn::Module& root, Generator& gen);
// smp initialize_head: conv weight xavier_uniform_ (bound √(6 / (fan_in + fan_out))), bias 0.
void init_smp_head(nn::Module& root, Generator& gen);

}  // namespace xgd::models
