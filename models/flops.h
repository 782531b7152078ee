// Cost of one forward: multiply-accumulates of every convolution (GFLOPs = 2 × MACs, the
// paper's convention), measured on a real forward so every branch is counted at the sizes it
// actually runs at (ASPP pooling at 1×1, PSP bins at 1..6, dilated stages).
#pragma once
#include <cstdint>

#include "models/segmentation_model.h"

namespace xgd::models {

struct ForwardCost {
  int64_t macs = 0;         // Σ over Conv2d: output elements × (C_in / groups) × kH × kW
  int64_t conv_layers = 0;  // Conv2d modules that ran
  int64_t padded_h = 0, padded_w = 0;  // the input size run (padded to the output stride)
};

// One eval-mode, batch-1 forward at h × w (padded up to a multiple of the output stride, as
// forward_padded) without autograd; the model's mode is restored afterwards. Bias additions,
// BatchNorm, activations, pooling and interpolation are not counted (they are < 1% here).
ForwardCost forward_cost(SegmentationModel& model, int64_t h, int64_t w);

}  // namespace xgd::models
