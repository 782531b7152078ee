#include "data/synth_draw.h"

#include "engine/error.h"

namespace xgd::data::synth {

namespace {

inline uint32_t hash2(int32_t x, int32_t y, uint32_t seed) {
  uint32_t h = static_cast<uint32_t>(x) * 0x8da6b343u ^ static_cast<uint32_t>(y) * 0xd8163841u ^
               seed * 0xcb1ab31fu;
  h ^= h >> 13;
  h *= 0x5bd1e995u;
  h ^= h >> 15;
  return h;
}

inline float lattice(int32_t x, int32_t y, uint32_t seed) {
  return (hash2(x, y, seed) >> 8) * (1.f / 16777216.f);
}

inline float smooth(float t) {
  return t * t * (3.f - 2.f * t);
}

// Distance from p to the segment ab.
inline float seg_distance(Vec2 p, Vec2 a, Vec2 b) {
  Vec2 ab = b - a, ap = p - a;
  float len2 = ab.x * ab.x + ab.y * ab.y;
  float t = len2 > 0 ? std::clamp((ap.x * ab.x + ap.y * ab.y) / len2, 0.f, 1.f) : 0.f;
  return length(ap - ab * t);
}

bool inside_even_odd(const std::vector<Vec2>& pts, float x, float y) {
  bool in = false;
  for (size_t i = 0, j = pts.size() - 1; i < pts.size(); j = i++) {
    const Vec2 &a = pts[i], &b = pts[j];
    if ((a.y > y) != (b.y > y) && x < (b.x - a.x) * (y - a.y) / (b.y - a.y) + a.x) in = !in;
  }
  return in;
}

}  // namespace

float value_noise(float x, float y, uint32_t seed) {
  float fx = std::floor(x), fy = std::floor(y);
  int32_t ix = static_cast<int32_t>(fx), iy = static_cast<int32_t>(fy);
  float tx = smooth(x - fx), ty = smooth(y - fy);
  float a = lattice(ix, iy, seed), b = lattice(ix + 1, iy, seed);
  float c = lattice(ix, iy + 1, seed), d = lattice(ix + 1, iy + 1, seed);
  return (a + (b - a) * tx) * (1.f - ty) + (c + (d - c) * tx) * ty;
}

float fbm(float x, float y, int octaves, uint32_t seed) {
  float sum = 0.f, amp = 0.5f, norm = 0.f;
  for (int o = 0; o < octaves; ++o) {
    sum += amp * value_noise(x, y, seed + 0x9e3779b9u * static_cast<uint32_t>(o));
    norm += amp;
    x = x * 2.03f + 17.1f, y = y * 2.03f + 5.3f;  // lacunarity ~2, shifted to hide the lattice
    amp *= 0.5f;
  }
  return sum / norm;
}

Canvas::Canvas(int height, int width)
    : H_(height),
      W_(width),
      rgb_(static_cast<size_t>(height) * width * 3, 0.f),
      cov_(static_cast<size_t>(height) * width, 0.f),
      hit_(static_cast<size_t>(height) * width, 0),
      label_(height, width, 1, 0),
      bx0_(width),
      by0_(height),
      bx1_(-1),
      by1_(-1) {
  XGD_CHECK(height > 0 && width > 0, "synth: bad canvas size ", width, "x", height);
}

void Canvas::touch(int x0, int y0, int x1, int y1, int& cx0, int& cy0, int& cx1, int& cy1) {
  cx0 = std::max(x0, 0), cy0 = std::max(y0, 0);
  cx1 = std::min(x1, W_ - 1), cy1 = std::min(y1, H_ - 1);
  if (cx0 > cx1 || cy0 > cy1) return;
  bx0_ = std::min(bx0_, cx0), by0_ = std::min(by0_, cy0);
  bx1_ = std::max(bx1_, cx1), by1_ = std::max(by1_, cy1);
}

void Canvas::cover_segment(Vec2 a, Vec2 b, float width, float label_radius) {
  const float half = 0.5f * width, reach = std::max(half + 0.5f, label_radius);
  const float hit_r = std::max(half, label_radius);
  // Pixel (x, y) is the square [x, x+1) x [y, y+1); its centre is (x + 0.5, y + 0.5).
  int x0 = static_cast<int>(std::floor(std::min(a.x, b.x) - reach - 0.5f));
  int x1 = static_cast<int>(std::ceil(std::max(a.x, b.x) + reach - 0.5f));
  int y0 = static_cast<int>(std::floor(std::min(a.y, b.y) - reach - 0.5f));
  int y1 = static_cast<int>(std::ceil(std::max(a.y, b.y) + reach - 0.5f));
  if (x1 < 0 || y1 < 0 || x0 >= W_ || y0 >= H_) return;
  int cx0, cy0, cx1, cy1;
  touch(x0, y0, x1, y1, cx0, cy0, cx1, cy1);
  for (int y = cy0; y <= cy1; ++y)
    for (int x = cx0; x <= cx1; ++x) {
      float d = seg_distance({x + 0.5f, y + 0.5f}, a, b);
      size_t i = static_cast<size_t>(y) * W_ + x;
      float c = std::clamp(half + 0.5f - d, 0.f, 1.f);
      cov_[i] = std::max(cov_[i], c);
      if (d <= hit_r) hit_[i] = 1;
    }
}

void Canvas::cover_polyline(const std::vector<Vec2>& pts, float width, float label_radius) {
  for (size_t i = 0; i + 1 < pts.size(); ++i)
    cover_segment(pts[i], pts[i + 1], width, label_radius);
}

void Canvas::cover_polygon(const std::vector<Vec2>& pts) {
  if (pts.size() < 3) return;
  float xmin = pts[0].x, xmax = pts[0].x, ymin = pts[0].y, ymax = pts[0].y;
  for (const Vec2& p : pts)
    xmin = std::min(xmin, p.x), xmax = std::max(xmax, p.x), ymin = std::min(ymin, p.y),
    ymax = std::max(ymax, p.y);
  int cx0, cy0, cx1, cy1;
  if (xmax < 0 || ymax < 0 || xmin >= W_ || ymin >= H_) return;
  touch(static_cast<int>(std::floor(xmin)), static_cast<int>(std::floor(ymin)),
        static_cast<int>(std::ceil(xmax)), static_cast<int>(std::ceil(ymax)), cx0, cy0, cx1, cy1);
  for (int y = cy0; y <= cy1; ++y)
    for (int x = cx0; x <= cx1; ++x) {
      int n = 0;
      for (int sy = 0; sy < 4; ++sy)
        for (int sx = 0; sx < 4; ++sx)
          n += inside_even_odd(pts, x + (sx + 0.5f) * 0.25f, y + (sy + 0.5f) * 0.25f);
      size_t i = static_cast<size_t>(y) * W_ + x;
      cov_[i] = std::max(cov_[i], n / 16.f);
      if (inside_even_odd(pts, x + 0.5f, y + 0.5f)) hit_[i] = 1;
    }
}

void Canvas::cover_disc(Vec2 c, float r) {
  int cx0, cy0, cx1, cy1;
  touch(static_cast<int>(std::floor(c.x - r - 1)), static_cast<int>(std::floor(c.y - r - 1)),
        static_cast<int>(std::ceil(c.x + r + 1)), static_cast<int>(std::ceil(c.y + r + 1)), cx0,
        cy0, cx1, cy1);
  for (int y = cy0; y <= cy1; ++y)
    for (int x = cx0; x <= cx1; ++x) {
      float d = length(Vec2{x + 0.5f, y + 0.5f} - c);
      size_t i = static_cast<size_t>(y) * W_ + x;
      cov_[i] = std::max(cov_[i], std::clamp(r + 0.5f - d, 0.f, 1.f));
      if (d <= r) hit_[i] = 1;
    }
}

float Canvas::luminance_near(Vec2 p, int r) const {
  int cx = std::clamp(static_cast<int>(p.x), 0, W_ - 1),
      cy = std::clamp(static_cast<int>(p.y), 0, H_ - 1);
  float sum = 0.f;
  int n = 0;
  for (int y = std::max(cy - r, 0); y <= std::min(cy + r, H_ - 1); ++y)
    for (int x = std::max(cx - r, 0); x <= std::min(cx + r, W_ - 1); ++x, ++n) {
      RGB c = get(y, x);
      sum += 0.299f * c.r + 0.587f * c.g + 0.114f * c.b;
    }
  return n ? sum / n : 0.5f;
}

void Canvas::gaussian_blur(float sigma) {
  if (sigma <= 0.05f) return;
  const int r = static_cast<int>(std::ceil(3.f * sigma));
  std::vector<float> k(2 * r + 1);
  float sum = 0.f;
  for (int i = -r; i <= r; ++i) sum += k[i + r] = std::exp(-0.5f * i * i / (sigma * sigma));
  for (float& v : k) v /= sum;
  std::vector<float> tmp(rgb_.size());
  // Horizontal then vertical, edges clamped.
  for (int y = 0; y < H_; ++y)
    for (int x = 0; x < W_; ++x)
      for (int c = 0; c < 3; ++c) {
        float acc = 0.f;
        for (int i = -r; i <= r; ++i) {
          int xx = std::clamp(x + i, 0, W_ - 1);
          acc += k[i + r] * rgb_[(static_cast<size_t>(y) * W_ + xx) * 3 + c];
        }
        tmp[(static_cast<size_t>(y) * W_ + x) * 3 + c] = acc;
      }
  for (int y = 0; y < H_; ++y)
    for (int x = 0; x < W_; ++x)
      for (int c = 0; c < 3; ++c) {
        float acc = 0.f;
        for (int i = -r; i <= r; ++i) {
          int yy = std::clamp(y + i, 0, H_ - 1);
          acc += k[i + r] * tmp[(static_cast<size_t>(yy) * W_ + x) * 3 + c];
        }
        rgb_[(static_cast<size_t>(y) * W_ + x) * 3 + c] = acc;
      }
}

Image Canvas::to_image() const {
  Image img(H_, W_, 3);
  for (size_t i = 0; i < rgb_.size(); ++i)
    img.pixels[i] = static_cast<uint8_t>(std::lround(std::clamp(rgb_[i], 0.f, 1.f) * 255.f));
  return img;
}

}  // namespace xgd::data::synth
