// Figure panels of xgd_cam (the paper's Figure 2): image | ground truth | prediction | saliency.
#pragma once
#include <vector>

#include "data/image_io.h"
#include "engine/tensor.h"

namespace xgd {

// (H, W) saliency in [0, 1] (float tensor) as a jet colour map blended over the RGB image.
data::Image saliency_overlay(const data::Image& image, const Tensor& saliency, double alpha = 0.5);
// (H, W) int64 class map (or uint8 label image) in VOC colours.
data::Image class_map_image(const Tensor& classes);
// Panels side by side with a `gap`-pixel white margin; rows stacked likewise.
data::Image hconcat(const std::vector<data::Image>& panels, int gap = 4);
data::Image vconcat(const std::vector<data::Image>& rows, int gap = 4);

}  // namespace xgd
