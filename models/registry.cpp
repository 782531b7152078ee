#include "models/registry.h"

#include <algorithm>

#include "models/deeplabv3plus.h"
#include "models/mobilenetv2.h"
#include "models/pspnet.h"
#include "models/resnet.h"

namespace xgd::models {

namespace {
const std::vector<std::string> kEncoders = {"resnet18", "resnet34", "resnet50", "resnet101",
                                            "mobilenetv2"};
const std::vector<std::string> kArchs = {"deeplabv3plus", "pspnet"};

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (auto& e : v) s += (s.empty() ? "" : ", ") + e;
  return s;
}
}  // namespace

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (auto& a : kArchs)
    for (auto& e : kEncoders) names.push_back(a + "_" + e);
  return names;
}

std::shared_ptr<Encoder> create_encoder(const std::string& name, int depth, int output_stride,
                                        Generator& gen, bool init) {
  if (name == "mobilenetv2")
    return std::make_shared<MobileNetV2Encoder>(depth, output_stride, gen, init);
  for (int layers : {18, 34, 50, 101})
    if (name == "resnet" + std::to_string(layers))
      return std::make_shared<ResNetEncoder>(layers, depth, output_stride, gen, init);
  XGD_FAIL("unknown encoder \"", name, "\" (available: ", joined(kEncoders), ")");
}

int64_t classes_of_weights(const std::map<std::string, Tensor>& state, const std::string& what) {
  auto it = state.find("segmentation_head.0.bias");
  XGD_CHECK(it != state.end() && it->second.dim() == 1, what,
            ": no 1-d \"segmentation_head.0.bias\" to take the number of classes from (not an smp "
            "DeepLabV3Plus/PSPNet state dict?); pass --classes");
  return it->second.size(0);
}

std::shared_ptr<SegmentationModel> create_model(const std::string& name,
                                                const ModelOptions& options) {
  size_t sep = name.find('_');
  std::string arch = name.substr(0, sep);
  std::string enc = sep == std::string::npos ? "" : name.substr(sep + 1);
  bool known = std::find(kArchs.begin(), kArchs.end(), arch) != kArchs.end() &&
               std::find(kEncoders.begin(), kEncoders.end(), enc) != kEncoders.end();
  XGD_CHECK(known, "unknown model \"", name, "\"; registered models: ", joined(model_names()));
  XGD_CHECK(options.classes > 0, name, ": the number of classes must be positive, got ",
            options.classes);
  Generator gen(options.seed);
  std::shared_ptr<SegmentationModel> model;
  if (arch == "deeplabv3plus") {
    int os = options.output_stride == 0 ? 16 : options.output_stride;
    XGD_CHECK(os == 8 || os == 16, name, ": DeepLabV3Plus supports output stride 8 or 16, got ",
              os);
    model = std::make_shared<DeepLabV3Plus>(name, create_encoder(enc, 5, os, gen, options.init),
                                            options.classes, gen);
  } else {
    XGD_CHECK(options.output_stride == 0 || options.output_stride == 8, name,
              ": PSPNet's encoder has depth 3 (output stride 8, nothing dilated); got output "
              "stride ",
              options.output_stride);
    model = std::make_shared<PSPNet>(name, create_encoder(enc, 3, 32, gen, options.init),
                                     options.classes, gen, options.init);
  }
  model->seed_dropout(options.seed);
  return model;
}

}  // namespace xgd::models
