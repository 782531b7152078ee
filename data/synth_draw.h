// Raster primitives of the synthetic scene generator (data/synth.cpp): a float RGB canvas with
// a label map, anti-aliased coverage of segments/polygons, value-noise textures, blur, and a
// Philox-backed random source. An object is drawn in two steps: cover_*() accumulates its
// coverage (max over its parts) in a scratch layer, composite() blends one colour through it
// and writes its class where the object covers the pixel centre.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "data/image_io.h"
#include "data/random.h"

namespace xgd::data::synth {

struct Vec2 {
  float x = 0, y = 0;
};
inline Vec2 operator+(Vec2 a, Vec2 b) {
  return {a.x + b.x, a.y + b.y};
}
inline Vec2 operator-(Vec2 a, Vec2 b) {
  return {a.x - b.x, a.y - b.y};
}
inline Vec2 operator*(Vec2 a, float s) {
  return {a.x * s, a.y * s};
}
inline Vec2 lerp(Vec2 a, Vec2 b, float t) {
  return a + (b - a) * t;
}
inline float length(Vec2 a) {
  return std::sqrt(a.x * a.x + a.y * a.y);
}

struct RGB {
  float r = 0, g = 0, b = 0;
};
inline RGB mix(RGB a, RGB b, float t) {
  return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}
inline RGB scale(RGB a, float s) {
  return {a.r * s, a.g * s, a.b * s};
}

// Sequential draws from one Philox stream (seed, Stream::Synth, image key).
class Rng {
 public:
  Rng(uint64_t seed, uint64_t key) : seed_(seed), key_(key) {}
  uint32_t u32() {
    if (word_ == 4) block_ = philox_block(seed_, Stream::Synth, key_, counter_++), word_ = 0;
    return block_.v[word_++];
  }
  float uniform() { return static_cast<float>(unit_from_word(u32())); }
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  int randint(int lo, int hi) {  // inclusive
    return lo + static_cast<int>((static_cast<uint64_t>(u32()) * (hi - lo + 1)) >> 32);
  }
  bool chance(float p) { return uniform() < p; }
  float normal() {  // Box-Muller
    float u1 = std::max(uniform(), 1e-7f), u2 = uniform();
    return std::sqrt(-2.f * std::log(u1)) * std::cos(6.2831853f * u2);
  }
  uint32_t seed32() { return u32(); }

 private:
  uint64_t seed_, key_, counter_ = 0;
  kernels::Philox4 block_{};
  int word_ = 4;
};

// Value noise in [0, 1] on the integer lattice, smoothstep-interpolated; fbm sums octaves.
float value_noise(float x, float y, uint32_t seed);
float fbm(float x, float y, int octaves, uint32_t seed);

class Canvas {
 public:
  Canvas(int height, int width);
  int height() const { return H_; }
  int width() const { return W_; }

  RGB get(int y, int x) const {
    const float* p = &rgb_[(static_cast<size_t>(y) * W_ + x) * 3];
    return {p[0], p[1], p[2]};
  }
  void set(int y, int x, RGB c) {
    float* p = &rgb_[(static_cast<size_t>(y) * W_ + x) * 3];
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
  }
  uint8_t& label(int y, int x) { return label_.at(y, x); }
  std::vector<float>& rgb() { return rgb_; }  // (H, W, 3)
  Image& labels() { return label_; }          // (H, W, 1)

  // ---- coverage of the object being drawn (max over its parts)
  // A segment of width w: coverage clamp(w/2 + 0.5 - d, 0, 1) at distance d; the pixel is
  // "hit" (labelled) when d <= max(w/2, label_radius), so a 1-px cable stays connected.
  void cover_segment(Vec2 a, Vec2 b, float width, float label_radius = 0.5f);
  void cover_polyline(const std::vector<Vec2>& pts, float width, float label_radius = 0.5f);
  // Even-odd polygon, 4x4 supersampled coverage; hit = the pixel centre is inside.
  void cover_polygon(const std::vector<Vec2>& pts);
  void cover_disc(Vec2 c, float radius);

  // Blends colour(x, y) with opacity alpha * coverage; writes `cls` (>= 0) on hit pixels.
  // Clears the coverage layer.
  template <class ColourFn>
  void composite(ColourFn&& colour, float alpha, int cls) {
    if (bx0_ > bx1_ || by0_ > by1_) return;
    for (int y = by0_; y <= by1_; ++y)
      for (int x = bx0_; x <= bx1_; ++x) {
        size_t i = static_cast<size_t>(y) * W_ + x;
        float a = cov_[i] * alpha;
        if (a > 0.f) {
          RGB c = colour(x, y);
          float* p = &rgb_[i * 3];
          p[0] += (c.r - p[0]) * a, p[1] += (c.g - p[1]) * a, p[2] += (c.b - p[2]) * a;
        }
        if (cls >= 0 && hit_[i]) label_.pixels[i] = static_cast<uint8_t>(cls);
        cov_[i] = 0.f, hit_[i] = 0;
      }
    bx0_ = W_, by0_ = H_, bx1_ = -1, by1_ = -1;
  }
  void composite(RGB colour, float alpha, int cls) {
    composite([colour](int, int) { return colour; }, alpha, cls);
  }

  // Mean luminance of the image in a (2r+1)^2 box around p (clamped to the frame).
  float luminance_near(Vec2 p, int r) const;

  void gaussian_blur(float sigma);  // the image only; labels stay crisp
  Image to_image() const;           // (H, W, 3) uint8, clamped and rounded

 private:
  void touch(int x0, int y0, int x1, int y1, int& cx0, int& cy0, int& cx1, int& cy1);
  int H_, W_;
  std::vector<float> rgb_;     // (H, W, 3), linear [0, 1]
  std::vector<float> cov_;     // (H, W)
  std::vector<uint8_t> hit_;   // (H, W)
  Image label_;                // (H, W, 1)
  int bx0_, by0_, bx1_, by1_;  // bounding box of the coverage written since the last composite
};

}  // namespace xgd::data::synth
