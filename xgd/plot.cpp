#include "xgd/plot.h"

#include "engine/error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#define STB_EASY_FONT_IMPLEMENTATION  // header-only, static functions: private to this file
#include <stb/stb_easy_font.h>

namespace xgd {

void draw_text(data::Image& img, int x, int y, const std::string& text, const uint8_t rgb[3],
               int scale) {
  static char buffer[60000];  // ~270 bytes per character: plenty for labels
  std::string copy = text;
  const int quads = stb_easy_font_print(0, 0, copy.data(), nullptr, buffer, sizeof buffer);
  const float* v = reinterpret_cast<const float*>(buffer);  // 4 vertices × (x, y, z, rgba)
  for (int q = 0; q < quads; ++q) {
    const float* quad = v + q * 16;
    const int x0 = x + static_cast<int>(quad[0] * scale),
              y0 = y + static_cast<int>(quad[1] * scale);
    const int x1 = x + static_cast<int>(quad[8] * scale),
              y1 = y + static_cast<int>(quad[9] * scale);
    for (int yy = std::max(0, y0); yy < std::min(img.height, y1); ++yy)
      for (int xx = std::max(0, x0); xx < std::min(img.width, x1); ++xx)
        for (int c = 0; c < 3; ++c) img.at(yy, xx, c) = rgb[c];
  }
}

namespace {

void put(data::Image& img, int x, int y, const uint8_t rgb[3]) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  for (int c = 0; c < 3; ++c) img.at(y, x, c) = rgb[c];
}

void line(data::Image& img, int x0, int y0, int x1, int y1, const uint8_t rgb[3]) {
  const int n = std::max(std::abs(x1 - x0), std::abs(y1 - y0));
  for (int i = 0; i <= n; ++i) {
    const double t = n ? static_cast<double>(i) / n : 0;
    const int x = static_cast<int>(std::lround(x0 + t * (x1 - x0)));
    const int y = static_cast<int>(std::lround(y0 + t * (y1 - y0)));
    put(img, x, y, rgb);
    put(img, x, y + 1, rgb);  // 2 px thick
  }
}

}  // namespace

data::Image plot_loss_curve(const std::vector<LossPoint>& points, int width, int height) {
  data::Image img(height, width, 3, 255);
  const int left = 70, right = 20, top = 40, bottom = 40;
  const uint8_t black[3] = {0, 0, 0}, grey[3] = {210, 210, 210};
  const uint8_t colours[4][3] = {{0, 0, 0}, {31, 119, 180}, {214, 39, 40}, {44, 160, 44}};
  const char* names[4] = {"loss", "seg (CE)", "pi (KL)", "sa (MSE)"};
  auto value = [](const LossPoint& p, int k) {
    return k == 0 ? p.loss : k == 1 ? p.seg : k == 2 ? p.pi : p.sa;
  };
  double lo = INFINITY, hi = -INFINITY;
  int64_t s0 = points.empty() ? 0 : points.front().step, s1 = s0 + 1;
  for (const LossPoint& p : points) {
    s1 = std::max(s1, p.step);
    for (int k = 0; k < 4; ++k) {
      double v = value(p, k);
      if (std::isfinite(v) && v > 0) lo = std::min(lo, v), hi = std::max(hi, v);
    }
  }
  if (!std::isfinite(lo)) lo = 1e-3, hi = 1;
  const double llo = std::floor(std::log10(lo)), lhi = std::max(llo + 1, std::ceil(std::log10(hi)));
  const int pw = width - left - right, ph = height - top - bottom;
  auto px = [&](int64_t s) {
    return left + static_cast<int>(pw * double(s - s0) / double(s1 - s0));
  };
  auto py = [&](double v) {
    return top + static_cast<int>(ph * (1.0 - (std::log10(v) - llo) / (lhi - llo)));
  };
  for (double e = llo; e <= lhi; e += 1) {  // decade grid lines with labels
    int y = py(std::pow(10.0, e));
    line(img, left, y, left + pw, y, grey);
    char b[16];
    std::snprintf(b, sizeof b, "1e%d", static_cast<int>(e));
    draw_text(img, 8, y - 7, b, black, 2);
  }
  line(img, left, top, left, top + ph, black);
  line(img, left, top + ph, left + pw, top + ph, black);
  char b[64];
  std::snprintf(b, sizeof b, "step %lld", static_cast<long long>(s0));
  draw_text(img, left, top + ph + 10, b, black, 2);
  std::snprintf(b, sizeof b, "%lld", static_cast<long long>(s1));
  draw_text(img, left + pw - 60, top + ph + 10, b, black, 2);
  int legend_x = left + 10;
  for (int k = 0; k < 4; ++k) {
    bool any = false;
    for (size_t i = 1; i < points.size(); ++i) {
      double a = value(points[i - 1], k), c = value(points[i], k);
      if (!(std::isfinite(a) && std::isfinite(c) && a > 0 && c > 0)) continue;
      any = true;
      line(img, px(points[i - 1].step), py(a), px(points[i].step), py(c), colours[k]);
    }
    if (points.size() == 1 && std::isfinite(value(points[0], k))) any = true;
    if (!any) continue;
    draw_text(img, legend_x, 10, names[k], colours[k], 2);
    legend_x += 20 + 12 * static_cast<int>(std::string(names[k]).size());
  }
  return img;
}

void write_loss_curve(const std::string& path, const std::vector<LossPoint>& points) {
  data::write_png(path, plot_loss_curve(points));
}

std::vector<LossPoint> read_loss_log(const std::string& path) {
  std::ifstream in(path);
  XGD_CHECK(in.good(), path, ": cannot read the training log");
  std::vector<LossPoint> out;
  std::string text;
  auto num = [](const nlohmann::json& j, const char* k) {
    return j.contains(k) && j[k].is_number() ? j[k].get<double>() : std::nan("");
  };
  while (std::getline(in, text)) {
    if (text.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const std::exception& e) {
      XGD_FAIL(path, ": malformed line: ", e.what());
    }
    if (!j.contains("loss")) continue;
    out.push_back(
        {j.value("step", int64_t{0}), num(j, "loss"), num(j, "seg"), num(j, "pi"), num(j, "sa")});
  }
  return out;
}

}  // namespace xgd
