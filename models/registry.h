// Model registry: name -> builder (DESIGN.md §4). The contract names are
// deeplabv3plus_{resnet18,resnet50,resnet101,mobilenetv2} and pspnet_{same}; the ResNet-34
// variants are registered too. Each builds exactly smp's model (names, shapes, order of the
// state dict) with smp's default arguments, randomly initialised as smp/torchvision do.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/segmentation_model.h"

namespace xgd::models {

struct ModelOptions {
  int64_t classes = 21;
  // 0: the architecture's default (DeepLabV3+: 16). DeepLabV3+ also takes 8; PSPNet's encoder
  // (depth 3) is never dilated, so it takes 0 or 8 only.
  int output_stride = 0;
  uint64_t seed = 0;  // initialisation and dropout masks
  // false: skip smp's/torchvision's initialisation (layers keep torch.nn's default init, which
  // their constructors draw anyway); for callers that load or fill every weight next.
  bool init = true;
};

// Every registered name, in a fixed order (DeepLabV3+ first).
std::vector<std::string> model_names();
// Builds a registered model; an unknown name is an error listing the registered ones.
std::shared_ptr<SegmentationModel> create_model(const std::string& name,
                                                const ModelOptions& options = {});
// The class count of a weights file: the length of "segmentation_head.0.bias" (both
// architectures' head conv has a bias); error naming `what` when the key is missing.
int64_t classes_of_weights(const std::map<std::string, Tensor>& state, const std::string& what);

// smp's get_encoder(name, depth, output_stride) for "resnet18|34|50|101" and "mobilenetv2"
// (smp's "mobilenet_v2").
std::shared_ptr<Encoder> create_encoder(const std::string& name, int depth, int output_stride,
                                        Generator& gen, bool init = true);

}  // namespace xgd::models
