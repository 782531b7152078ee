// Small raster plots for training reports (no plotting library: a PNG written with
// data/image_io, text drawn with stb_easy_font's quads).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/image_io.h"

namespace xgd {

struct LossPoint {
  int64_t step;
  double loss, seg, pi, sa;  // NaN where a term is not used
};

// Draws each term over the steps (total, seg, pi, sa; log-scaled y axis) with a legend.
data::Image plot_loss_curve(const std::vector<LossPoint>& points, int width = 800,
                            int height = 480);
void write_loss_curve(const std::string& path, const std::vector<LossPoint>& points);
// The points logged in a run's log.jsonl (steps with a "loss" field).
std::vector<LossPoint> read_loss_log(const std::string& log_jsonl_path);

// Text into an RGB image at (x, y) (top-left), `scale` pixels per font unit.
void draw_text(data::Image& img, int x, int y, const std::string& text, const uint8_t rgb[3],
               int scale = 1);

}  // namespace xgd
