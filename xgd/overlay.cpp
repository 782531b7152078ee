#include "xgd/overlay.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"

namespace xgd {

namespace {
// Matplotlib-style jet: blue -> cyan -> yellow -> red.
void jet(double v, uint8_t rgb[3]) {
  v = std::clamp(v, 0.0, 1.0);
  auto ramp = [](double x) { return std::clamp(1.5 - std::abs(4.0 * x), 0.0, 1.0); };
  rgb[0] = static_cast<uint8_t>(255 * ramp(v - 0.75));
  rgb[1] = static_cast<uint8_t>(255 * ramp(v - 0.5));
  rgb[2] = static_cast<uint8_t>(255 * ramp(v - 0.25));
}
}  // namespace

data::Image saliency_overlay(const data::Image& image, const Tensor& saliency, double alpha) {
  XGD_CHECK(saliency.dim() == 2 && saliency.size(0) == image.height &&
                saliency.size(1) == image.width && image.channels == 3,
            "saliency_overlay: saliency ", saliency.str(), " does not match a ", image.height, "×",
            image.width, " RGB image");
  std::vector<double> s = saliency.to_vector();
  data::Image out = image;
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x) {
      uint8_t c[3];
      jet(s[static_cast<size_t>(y) * image.width + x], c);
      for (int k = 0; k < 3; ++k)
        out.at(y, x, k) = static_cast<uint8_t>((1 - alpha) * image.at(y, x, k) + alpha * c[k]);
    }
  return out;
}

data::Image class_map_image(const Tensor& classes) {
  XGD_CHECK(classes.dim() == 2, "class_map_image: expected H×W classes, got ", classes.str());
  data::Image mask(static_cast<int>(classes.size(0)), static_cast<int>(classes.size(1)), 1);
  std::vector<double> v = classes.to_vector();
  for (size_t i = 0; i < v.size(); ++i) mask.pixels[i] = static_cast<uint8_t>(v[i]);
  return data::colorize_mask(mask);
}

data::Image hconcat(const std::vector<data::Image>& panels, int gap) {
  int h = 0, w = 0;
  for (auto& p : panels) h = std::max(h, p.height), w += p.width + gap;
  data::Image out(h, std::max(0, w - gap), 3, 255);
  int x0 = 0;
  for (auto& p : panels) {
    for (int y = 0; y < p.height; ++y)
      for (int x = 0; x < p.width; ++x)
        for (int c = 0; c < 3; ++c) out.at(y, x0 + x, c) = p.at(y, x, p.channels == 3 ? c : 0);
    x0 += p.width + gap;
  }
  return out;
}

data::Image vconcat(const std::vector<data::Image>& rows, int gap) {
  int h = 0, w = 0;
  for (auto& r : rows) w = std::max(w, r.width), h += r.height + gap;
  data::Image out(std::max(0, h - gap), w, 3, 255);
  int y0 = 0;
  for (auto& r : rows) {
    for (int y = 0; y < r.height; ++y)
      for (int x = 0; x < r.width; ++x)
        for (int c = 0; c < 3; ++c) out.at(y0 + y, x, c) = r.at(y, x, r.channels == 3 ? c : 0);
    y0 += r.height + gap;
  }
  return out;
}

}  // namespace xgd
