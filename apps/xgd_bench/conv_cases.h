// The conv layer shapes `xgd_bench conv` measures (CPU and --device cuda) and the gpu test
// against cuDNN checks: ResNet18-DeepLabV3+ at 512×512 plus two MobileNetV2 depthwise layers.
#pragma once
#include <cstdint>
#include <vector>

namespace xgd::bench {

struct ConvCase {
  const char* name;
  int64_t C, H, W, K, k, s, p, d, groups;
};

// (name, C_in, H, W, C_out, kernel, stride, pad, dilation, groups) at batch N = --batch.
inline const std::vector<ConvCase> kConvCases = {
    {"resnet18.conv1", 3, 512, 512, 64, 7, 2, 3, 1, 1},
    {"resnet18.layer1.conv", 64, 128, 128, 64, 3, 1, 1, 1, 1},
    {"resnet18.layer2.0.conv1", 64, 128, 128, 128, 3, 2, 1, 1, 1},
    {"resnet18.layer2.0.downsample", 64, 128, 128, 128, 1, 2, 0, 1, 1},
    {"resnet18.layer2.conv", 128, 64, 64, 128, 3, 1, 1, 1, 1},
    {"resnet18.layer3.0.conv1", 128, 64, 64, 256, 3, 2, 1, 1, 1},
    {"resnet18.layer3.0.downsample", 128, 64, 64, 256, 1, 2, 0, 1, 1},
    {"resnet18.layer3.conv", 256, 32, 32, 256, 3, 1, 1, 1, 1},
    {"resnet18.layer4.0.conv1", 256, 32, 32, 512, 3, 2, 1, 1, 1},
    {"resnet18.layer4.0.downsample", 256, 32, 32, 512, 1, 2, 0, 1, 1},
    {"resnet18.layer4.conv", 512, 16, 16, 512, 3, 1, 1, 1, 1},
    {"aspp.1x1", 512, 32, 32, 256, 1, 1, 0, 1, 1},
    {"aspp.sep.dw_d12", 512, 32, 32, 512, 3, 1, 12, 12, 512},
    {"aspp.sep.dw_d24", 512, 32, 32, 512, 3, 1, 24, 24, 512},
    {"aspp.sep.dw_d36", 512, 32, 32, 512, 3, 1, 36, 36, 512},
    {"aspp.sep.pw", 512, 32, 32, 256, 1, 1, 0, 1, 1},
    {"aspp.project", 1280, 32, 32, 256, 1, 1, 0, 1, 1},
    {"decoder.sep.dw", 304, 128, 128, 304, 3, 1, 1, 1, 304},
    {"decoder.sep.pw", 304, 128, 128, 256, 1, 1, 0, 1, 1},
    // MobileNetV2 at 512: a stride-2 and a stride-1 depthwise 3×3 of the expanded blocks.
    {"mobilenetv2.features.2.dw_s2", 96, 256, 256, 96, 3, 2, 1, 1, 96},
    {"mobilenetv2.features.4.dw", 144, 128, 128, 144, 3, 1, 1, 1, 144},
};

}  // namespace xgd::bench
