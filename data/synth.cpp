#include "data/synth.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "data/labelme.h"
#include "data/synth_parts.h"
#include "engine/error.h"

namespace xgd::data {

namespace synth {
namespace {

// One power line: towers of one style along a ground line, conductors between neighbours.
void draw_power_line(Canvas& cv, Rng& rng, const View& v, float depth_scale, bool ground_view) {
  const float S = static_cast<float>(v.size);
  const float pick = rng.uniform();
  const int type = pick < 0.4f ? kLattice : pick < 0.7f ? kTucohy : kWooden;
  TowerStyle style = random_tower_style(rng, type);
  const float h_range[3][2] = {{0.45f, 1.0f}, {0.4f, 0.9f}, {0.25f, 0.6f}};
  const float h0 =
      rng.uniform(h_range[type - kLattice][0], h_range[type - kLattice][1]) * S * depth_scale;
  // Base of the nearest tower (upright coordinates): on the ground, below the horizon.
  const float base_y =
      ground_view ? rng.uniform(0.35f, 1.25f) * S : v.horizon + rng.uniform(0.05f, 0.6f) * h0;
  std::vector<Vec2> bases;
  std::vector<float> scales;
  if (rng.chance(0.6f)) {
    // Receding towards a vanishing point on the horizon: tower k at depth 1 + k * dz.
    const Vec2 vp{rng.uniform(-0.5f, 1.5f) * S, v.horizon};
    const Vec2 b0{rng.uniform(-0.1f, 1.1f) * S, base_y};
    const float dz = rng.uniform(0.3f, 1.2f);
    for (int k = 0; k < 6; ++k) {
      float s = 1.f / (1.f + k * dz);
      bases.push_back(vp + (b0 - vp) * s);
      scales.push_back(s);
    }
  } else {
    // Side by side at one depth, the first and last usually outside the frame.
    const float span = rng.uniform(0.7f, 1.6f) * h0 * (type == kWooden ? 1.6f : 1.f);
    float x = rng.uniform(-span, 0.f);
    const float slope = rng.uniform(-0.12f, 0.12f);
    for (x -= span; x < S + span; x += span) {
      bases.push_back({x, base_y + slope * (x - 0.5f * S)});
      scales.push_back(1.f);
    }
  }
  const Vec2 up_img = v.to_image(Vec2{0, -1}) - v.to_image(Vec2{0, 0});
  const Vec2 right_img = v.to_image(Vec2{1, 0}) - v.to_image(Vec2{0, 0});
  // Mostly contrasting with what lies behind (as a camera's exposure usually makes them), but
  // not always: a quarter of the lines are as faint as they come.
  float lum = 0.f;
  for (size_t k = 0; k < bases.size(); ++k)
    lum += cv.luminance_near(v.to_image(bases[k] + Vec2{0, -0.6f * h0 * scales[k]}), v.size / 16);
  lum /= static_cast<float>(bases.size());
  const bool contrast = rng.chance(0.75f);
  if (type == kLattice && contrast) {
    float g = lum > 0.5f ? rng.uniform(0.15f, 0.4f) : rng.uniform(0.6f, 0.85f);
    style.colour = {g, g, g * 1.03f};
  }
  std::vector<std::vector<Vec2>> attach(bases.size());
  // Painter's order: far towers first.
  for (int k = static_cast<int>(bases.size()) - 1; k >= 0; --k) {
    Frame f{v.to_image(bases[k]), up_img, right_img, h0 * scales[k]};
    if (f.h < 2.f) continue;  // below a pixel's worth of structure
    attach[k] = draw_tower(cv, style, f);
  }
  // Conductors. On a receding line they also run from the nearest tower towards the camera.
  const bool dark = contrast ? lum > 0.45f : rng.chance(0.55f);
  const RGB wire = dark ? scale(RGB{0.15f, 0.15f, 0.16f}, rng.uniform(0.4f, 1.8f))
                        : scale(RGB{0.82f, 0.83f, 0.85f}, rng.uniform(0.85f, 1.15f));
  const float alpha = rng.uniform(0.55f, 1.f), w0 = rng.uniform(0.9f, 2.3f);
  const float sag_ratio = rng.uniform(0.02f, 0.08f), k_shape = rng.uniform(0.5f, 3.f);
  const bool shadows = ground_view && rng.chance(0.5f);
  const Vec2 shadow_off =
      v.to_image(Vec2{rng.uniform(-0.3f, 0.3f) * S, rng.uniform(0.1f, 0.35f) * S}) -
      v.to_image(Vec2{0, 0});
  const Vec2 down = up_img * -1.f;
  std::vector<std::array<Vec2, 2>> spans;
  std::vector<float> widths;
  for (size_t k = 0; k + 1 < bases.size(); ++k) {
    if (attach[k].empty() || attach[k + 1].empty()) continue;
    float w = std::clamp(w0 * std::sqrt(0.5f * (scales[k] + scales[k + 1])), 1.f, 3.f);
    for (size_t j = 0; j < attach[k].size(); ++j)
      spans.push_back({attach[k][j], attach[k + 1][j]}), widths.push_back(w);
  }
  if (scales.back() < 1.f && attach.size() > 1 && !attach[0].empty() && !attach[1].empty())
    for (size_t j = 0; j < attach[0].size(); ++j) {
      // Towards a tower behind the camera: straight on, far beyond the frame.
      Vec2 d = attach[0][j] - attach[1][j];
      float len = std::max(length(d), 1e-3f);
      spans.push_back({attach[0][j] + d * (std::max(1.5f * len, 2.5f * S) / len), attach[0][j]});
      widths.push_back(std::clamp(w0 * 1.2f, 1.f, 3.f));
    }
  if (shadows) {
    for (const auto& sp : spans) {
      float sag = sag_ratio * length(sp[1] - sp[0]) * 0.4f;
      cv.cover_polyline(catenary(sp[0] + shadow_off, sp[1] + shadow_off, sag, down, k_shape),
                        w0 + 0.5f);
    }
    cv.composite(RGB{0.05f, 0.05f, 0.05f}, rng.uniform(0.15f, 0.35f), -1);
  }
  for (size_t i = 0; i < spans.size(); ++i) {
    float sag = sag_ratio * length(spans[i][1] - spans[i][0]) * rng.uniform(0.9f, 1.1f);
    cv.cover_polyline(catenary(spans[i][0], spans[i][1], sag, down, k_shape), widths[i]);
    cv.composite(wire, alpha, kCable);
  }
}

}  // namespace
}  // namespace synth

void render_synth_scene(uint64_t seed, int split, int64_t index, int size, Image& image,
                        Image& label) {
  using namespace synth;
  XGD_CHECK(size >= 16 && size <= 4096, "synth: image size must be 16..4096, got ", size);
  XGD_CHECK(split >= 0 && split <= 2 && index >= 0, "synth: bad split ", split, " or index ",
            index);
  Rng rng(seed, (static_cast<uint64_t>(split) << 40) | static_cast<uint64_t>(index));
  const float S = static_cast<float>(size);
  View v;
  v.size = size;
  v.centre = {0.5f * S, 0.5f * S};
  const bool ground_view = rng.chance(0.4f);
  if (ground_view) {  // looking down: the horizon is high or above the frame
    v.horizon = rng.uniform(-0.8f, 0.3f) * S;
    v.roll = rng.uniform(-0.6f, 0.6f);
  } else {  // looking along or up at the line: mostly sky
    v.horizon = rng.uniform(0.45f, 1.25f) * S;
    v.roll = 0.1f * rng.normal();
  }
  Canvas cv(size, size);
  draw_background(cv, rng, v);
  draw_distractors(cv, rng, v);
  if (!rng.chance(0.08f)) {  // a few scenes hold no power line at all
    if (rng.chance(0.25f)) draw_power_line(cv, rng, v, rng.uniform(0.3f, 0.6f), ground_view);
    draw_power_line(cv, rng, v, 1.f, ground_view);
  }
  photometric(cv, rng);
  image = cv.to_image();
  label = cv.labels();
}

SynthSummary write_synth_dataset(const std::string& dir, const SynthOptions& o) {
  namespace fs = std::filesystem;
  XGD_CHECK(o.train >= 0 && o.val >= 0 && o.test >= 0 && o.train + o.val + o.test > 0,
            "synth: bad split sizes train ", o.train, " val ", o.val, " test ", o.test);
  XGD_CHECK(o.size >= 16 && o.size <= 4096, "synth: image size must be 16..4096, got ", o.size);
  fs::path root(dir);
  std::error_code ec;
  for (const char* sub : {"images", "masks", "splits"}) fs::create_directories(root / sub, ec);
  XGD_CHECK(fs::is_directory(root / "masks", ec), dir, ": cannot create the dataset folders");

  const char* names[3] = {"train", "val", "test"};
  const int counts[3] = {o.train, o.val, o.test};
  std::vector<std::pair<int, int64_t>> jobs;
  for (int s = 0; s < 3; ++s)
    for (int64_t i = 0; i < counts[s]; ++i) jobs.push_back({s, i});
  auto id_of = [&](int s, int64_t i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s_%04lld", names[s], static_cast<long long>(i));
    return std::string(buf);
  };
  const int64_t n = static_cast<int64_t>(jobs.size());
  const size_t K = ttpla_classes().size();
  std::vector<std::vector<int64_t>> pixels(n, std::vector<int64_t>(K, 0));
  std::vector<std::string> errors(n);
#pragma omp parallel for schedule(dynamic)
  for (int64_t j = 0; j < n; ++j) {
    try {
      Image img, lab;
      render_synth_scene(o.seed, jobs[j].first, jobs[j].second, o.size, img, lab);
      const std::string id = id_of(jobs[j].first, jobs[j].second);
      write_png((root / "images" / (id + ".png")).string(), img);
      write_png((root / "masks" / (id + ".png")).string(), lab);
      for (uint8_t v : lab.pixels) ++pixels[j][v];
    } catch (const std::exception& e) {  // never let an exception escape an OpenMP region
      errors[j] = e.what();
    }
  }
  for (const auto& e : errors) XGD_CHECK(e.empty(), e);
  SynthSummary sum;
  sum.images = n;
  sum.class_pixels.assign(K, 0);
  for (int64_t j = 0; j < n; ++j)
    for (size_t c = 0; c < K; ++c) {
      sum.class_pixels[c] += pixels[j][c];
      sum.images_with_class[c] += pixels[j][c] > 0;
    }
  for (int s = 0; s < 3; ++s) {
    std::ofstream f(root / "splits" / (std::string(names[s]) + ".txt"));
    for (int64_t i = 0; i < counts[s]; ++i) f << id_of(s, i) << "\n";
    XGD_CHECK(f, (root / "splits").string(), ": cannot write ", names[s], ".txt");
  }
  std::ofstream cf(root / "classes.txt");
  for (const auto& c : ttpla_classes()) cf << c << "\n";
  XGD_CHECK(cf, (root / "classes.txt").string(), ": cannot write");
  return sum;
}

}  // namespace xgd::data
