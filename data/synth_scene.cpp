// Backgrounds (sky, clouds, hills, tree lines, perspective fields and roads), distractors
// (contrails, fences, trees, buildings, hedgerows: thin lines and poles labelled background)
// and the camera's photometric variation (exposure, colour cast, haze, vignetting, blur, noise).
#include <algorithm>
#include <cmath>

#include "data/synth_parts.h"

namespace xgd::data::synth {

namespace {

inline float smoothstep(float e0, float e1, float x) {
  float t = std::clamp((x - e0) / (e1 - e0), 0.f, 1.f);
  return t * t * (3.f - 2.f * t);
}

RGB jitter(Rng& rng, RGB c, float amount) {
  return {c.r * rng.uniform(1 - amount, 1 + amount), c.g * rng.uniform(1 - amount, 1 + amount),
          c.b * rng.uniform(1 - amount, 1 + amount)};
}

Vec2 rotate(Vec2 p, float a) {
  float c = std::cos(a), s = std::sin(a);
  return {c * p.x - s * p.y, s * p.x + c * p.y};
}

}  // namespace

Vec2 View::to_upright(Vec2 p) const {
  return rotate(p - centre, -roll) + centre;
}
Vec2 View::to_image(Vec2 p) const {
  return rotate(p - centre, roll) + centre;
}

void draw_background(Canvas& cv, Rng& rng, const View& v) {
  const float S = static_cast<float>(v.size);
  // Sky: clear, overcast, hazy or evening; zenith -> horizon gradient over one image height.
  static const RGB zenith[4] = {
      {0.22f, 0.42f, 0.78f}, {0.55f, 0.57f, 0.6f}, {0.55f, 0.65f, 0.76f}, {0.3f, 0.33f, 0.55f}};
  static const RGB horizon[4] = {
      {0.68f, 0.78f, 0.9f}, {0.76f, 0.77f, 0.79f}, {0.85f, 0.85f, 0.84f}, {0.93f, 0.62f, 0.38f}};
  const int sky = rng.randint(0, 3);
  const RGB zc = jitter(rng, zenith[sky], 0.1f), hc = jitter(rng, horizon[sky], 0.06f);
  const float cloud_cover = rng.uniform(0.f, sky == 1 ? 0.9f : 0.6f);
  const float cloud_scale = rng.uniform(0.15f, 0.5f) * S;
  const RGB cloud_lit = scale(RGB{0.97f, 0.97f, 0.96f}, rng.uniform(0.85f, 1.05f));
  const RGB cloud_dark = scale(cloud_lit, rng.uniform(0.55f, 0.8f));
  const uint32_t s_cloud = rng.seed32(), s_shade = rng.seed32(), s_hill = rng.seed32(),
                 s_tree = rng.seed32(), s_field = rng.seed32(), s_fine = rng.seed32(),
                 s_veg = rng.seed32();
  // Far terrain: hills (hazy) and a ragged tree line along the horizon.
  const float hill_h = rng.chance(0.5f) ? rng.uniform(0.03f, 0.2f) * S : 0.f;
  const RGB hill_c = mix(jitter(rng, RGB{0.25f, 0.35f, 0.3f}, 0.15f), hc, rng.uniform(0.3f, 0.7f));
  const float tree_h = rng.uniform(0.005f, 0.07f) * S;
  const RGB tree_c = jitter(rng, RGB{0.13f, 0.22f, 0.1f}, 0.25f);
  // Ground: fields as Voronoi cells on the ground plane (straight boundaries, each with its own
  // colour and crop-row direction), fine texture, and patches of vegetation.
  static const RGB ground[7] = {{0.3f, 0.45f, 0.2f},  {0.58f, 0.54f, 0.34f}, {0.45f, 0.36f, 0.25f},
                                {0.38f, 0.5f, 0.22f}, {0.66f, 0.62f, 0.48f}, {0.9f, 0.9f, 0.92f},
                                {0.24f, 0.32f, 0.16f}};
  RGB field[4];
  for (RGB& c : field) c = jitter(rng, ground[rng.randint(0, 6)], 0.12f);
  const float field_size = rng.uniform(0.25f, 0.8f), fine_amp = rng.uniform(0.05f, 0.25f);
  const float row_freq = rng.uniform(15.f, 60.f), row_share = rng.uniform(0.f, 0.6f);
  const float veg_thr = rng.uniform(0.62f, 0.85f);
  const RGB veg_c = jitter(rng, RGB{0.12f, 0.24f, 0.09f}, 0.2f);
  // Roads: straight on the ground plane (so they converge in perspective), with edge lines.
  const int roads = rng.chance(0.45f) ? rng.randint(1, 2) : 0;
  float road_a[2], road_b[2], road_w[2];
  bool road_dash[2];
  for (int r = 0; r < roads; ++r)
    road_a[r] = rng.uniform(-0.6f, 0.6f), road_b[r] = rng.uniform(-1.5f, 1.5f),
    road_w[r] = rng.uniform(0.04f, 0.12f), road_dash[r] = rng.chance(0.6f);
  const RGB asphalt = scale(RGB{0.36f, 0.36f, 0.38f}, rng.uniform(0.7f, 1.3f));

  const float focal = S, zb = focal / std::max(S - v.horizon, 1.f);  // depth at the bottom row
  for (int y = 0; y < cv.height(); ++y)
    for (int x = 0; x < cv.width(); ++x) {
      Vec2 q = v.to_upright({x + 0.5f, y + 0.5f});
      const float tree_top =
          v.horizon - tree_h * (0.3f + 0.7f * fbm(q.x / (0.05f * S), 0, 4, s_tree));
      const float hill_top = v.horizon - hill_h * fbm(q.x / (0.6f * S), 0.5f, 3, s_hill);
      RGB c;
      if (q.y < std::min(tree_top, hill_top)) {
        float t = std::clamp((q.y - (v.horizon - S)) / S, 0.f, 1.f);
        c = mix(zc, hc, t * t);
        float n = fbm(q.x / cloud_scale, q.y / (0.45f * cloud_scale), 5, s_cloud);
        float d = smoothstep(1.f - cloud_cover, 1.2f - cloud_cover, n);
        if (d > 0) {
          float shade =
              fbm(q.x / cloud_scale + 3.1f, q.y / (0.45f * cloud_scale) - 1.7f, 3, s_shade);
          c = mix(c, mix(cloud_lit, cloud_dark, shade), 0.92f * d);
        }
      } else if (q.y < tree_top) {
        c = scale(hill_c, 0.92f + 0.16f * value_noise(q.x * 0.3f, q.y * 0.3f, s_hill));
      } else if (q.y < v.horizon) {
        c = scale(tree_c, 0.6f + 0.8f * fbm(q.x * 0.5f, q.y * 0.5f, 3, s_tree + 1));
      } else {
        // Ground plane: depth z, lateral position u, both in units of the bottom row's width.
        const float z = focal / std::max(q.y - v.horizon, 0.5f) / zb;
        const float u = (q.x - v.centre.x) / S * z;
        // Nearest jittered cell centre (3x3 neighbourhood) = this pixel's field.
        const float fu = u / field_size, fz = z / field_size;
        const int cu = static_cast<int>(std::floor(fu)), cz = static_cast<int>(std::floor(fz));
        float best = 1e30f;
        uint32_t cell = 0;
        for (int dz = -1; dz <= 1; ++dz)
          for (int du = -1; du <= 1; ++du) {
            uint32_t h = static_cast<uint32_t>(cu + du) * 0x8da6b343u ^
                         static_cast<uint32_t>(cz + dz) * 0xd8163841u ^ s_field;
            h ^= h >> 13, h *= 0x5bd1e995u, h ^= h >> 15;
            float px = cu + du + (h & 0xFFFF) / 65536.f, pz = cz + dz + (h >> 16) / 65536.f;
            float d = (fu - px) * (fu - px) + (fz - pz) * (fz - pz);
            if (d < best) best = d, cell = h;
          }
        c = field[cell % 4];
        float fine = fbm(u * 25.f, z * 25.f, 3, s_fine) - 0.5f;
        c = scale(c, (1.f + fine_amp * fine) * (0.9f + 0.2f * ((cell >> 8) & 0xFF) / 255.f));
        if (((cell >> 4) & 0xFF) < row_share * 255.f) {  // crop rows in this field
          float ang = ((cell >> 12) & 0xFF) / 255.f * 3.1416f;
          c = scale(c, 1.f + 0.12f * std::sin(row_freq * (u * std::cos(ang) + z * std::sin(ang))));
        }
        float veg = fbm(u * 9.f, z * 9.f, 4, s_veg);
        if (veg > veg_thr)
          c = mix(c, scale(veg_c, 0.7f + fine), smoothstep(veg_thr, veg_thr + 0.05f, veg));
        for (int r = 0; r < roads; ++r) {
          float off = std::abs(u - (road_a[r] + road_b[r] * (z - 1.f)));
          if (off < road_w[r]) {
            c = scale(asphalt, 1.f + 0.3f * fine);
            if (off > road_w[r] * 0.88f) c = RGB{0.8f, 0.8f, 0.78f};  // edge lines
            if (road_dash[r] && off < road_w[r] * 0.05f && std::fmod(z * 6.f, 1.f) < 0.5f)
              c = RGB{0.85f, 0.8f, 0.55f};
          }
        }
        c = mix(c, hc, std::clamp((z - 1.f) * 0.04f, 0.f, 0.6f));  // aerial perspective
      }
      cv.set(y, x, c);
    }
}

void draw_distractors(Canvas& cv, Rng& rng, const View& v) {
  const float S = static_cast<float>(v.size);
  const bool sky_visible = v.horizon > 0.15f * S, ground_visible = v.horizon < 0.95f * S;
  // Contrails: long straight thin lines in the sky (cable-like, labelled background).
  if (sky_visible && rng.chance(0.35f)) {
    int n = rng.randint(1, 2);
    for (int i = 0; i < n; ++i) {
      Vec2 a{rng.uniform(-0.2f, 1.2f) * S, rng.uniform(-0.1f, 0.6f) * v.horizon};
      float ang = rng.uniform(-0.6f, 0.6f) + (rng.chance(0.5f) ? 0.f : 3.1416f);
      Vec2 b = a + Vec2{std::cos(ang), std::sin(ang)} * (rng.uniform(0.5f, 1.5f) * S);
      float w = rng.uniform(1.f, 3.f);
      cv.cover_segment(v.to_image(a), v.to_image(b), w * 2.5f);
      cv.composite(RGB{0.95f, 0.95f, 0.95f}, rng.uniform(0.12f, 0.25f), -1);
      cv.cover_segment(v.to_image(a), v.to_image(b), w);
      cv.composite(RGB{0.97f, 0.97f, 0.97f}, rng.uniform(0.3f, 0.6f), -1);
    }
  }
  if (!ground_visible) return;
  const float gy0 = std::max(v.horizon, 0.f), gy1 = std::max(S * 1.1f, gy0 + 1.f);
  // Hedgerows / field boundaries: dark straight bands.
  if (rng.chance(0.35f)) {
    int n = rng.randint(1, 3);
    for (int i = 0; i < n; ++i) {
      Vec2 a{rng.uniform(-0.3f, 1.3f) * S, rng.uniform(gy0, gy1)};
      Vec2 b{rng.uniform(-0.3f, 1.3f) * S, rng.uniform(gy0, gy1)};
      cv.cover_segment(v.to_image(a), v.to_image(b), rng.uniform(1.5f, 4.f));
      cv.composite(
          [&](int x, int y) {
            return scale(RGB{0.1f, 0.2f, 0.08f}, 0.7f + 0.6f * value_noise(x * 0.7f, y * 0.7f, 7));
          },
          0.9f, -1);
    }
  }
  // A fence: posts and 2-3 thin, slightly sagging wires close to the ground.
  if (rng.chance(0.4f)) {
    float base_y = rng.uniform(std::max(gy0, 0.5f * S), S * 1.05f);
    float post_h = rng.uniform(0.04f, 0.1f) * S, gap = rng.uniform(0.06f, 0.15f) * S;
    float tilt = rng.uniform(-0.25f, 0.25f);
    RGB post_c = rng.chance(0.5f) ? RGB{0.35f, 0.27f, 0.18f} : RGB{0.6f, 0.6f, 0.6f};
    RGB wire_c = scale(RGB{0.5f, 0.5f, 0.5f}, rng.uniform(0.3f, 1.6f));
    int wires = rng.randint(2, 3);
    float x0 = rng.uniform(-0.2f, 0.3f) * S;
    for (float x = x0; x < 1.2f * S; x += gap) {
      Vec2 b{x, base_y + tilt * x}, t = b + Vec2{0, -post_h};
      cv.cover_segment(v.to_image(b), v.to_image(t), rng.uniform(1.f, 2.f));
      cv.composite(post_c, 1.f, -1);
      for (int k = 0; k < wires; ++k) {
        float hgt = post_h * (0.35f + 0.55f * k / std::max(1, wires - 1));
        Vec2 a{x, base_y + tilt * x - hgt}, e{x + gap, base_y + tilt * (x + gap) - hgt};
        cv.cover_polyline(catenary(v.to_image(a), v.to_image(e), 0.03f * gap,
                                   v.to_image(Vec2{0, 1}) - v.to_image(Vec2{0, 0}), 1.f),
                          rng.uniform(0.6f, 1.1f));
      }
      cv.composite(wire_c, rng.uniform(0.6f, 0.9f), -1);
    }
  }
  // Trees: a trunk (a thin brown vertical line, like a wooden pole) and a leafy crown.
  if (rng.chance(0.5f)) {
    int n = rng.randint(1, 4);
    for (int i = 0; i < n; ++i) {
      Vec2 b{rng.uniform(0.f, 1.f) * S, rng.uniform(std::max(gy0, 0.f), S * 1.05f)};
      float h =
          rng.uniform(0.08f, 0.35f) * S * std::clamp((b.y - v.horizon) / (0.5f * S), 0.2f, 1.5f);
      Vec2 t = b + Vec2{rng.uniform(-0.1f, 0.1f) * h, -h};
      cv.cover_segment(v.to_image(b), v.to_image(t), std::clamp(h * 0.05f, 0.8f, 3.f));
      cv.composite(scale(RGB{0.3f, 0.22f, 0.14f}, rng.uniform(0.6f, 1.3f)), 1.f, -1);
      int blobs = rng.randint(3, 7);
      for (int k = 0; k < blobs; ++k)
        cv.cover_disc(v.to_image(t + Vec2{rng.normal() * 0.18f * h, rng.normal() * 0.15f * h}),
                      rng.uniform(0.12f, 0.25f) * h);
      uint32_t sd = rng.seed32();
      RGB leaf = jitter(rng, RGB{0.15f, 0.3f, 0.1f}, 0.25f);
      cv.composite(
          [&](int x, int y) { return scale(leaf, 0.6f + 0.8f * fbm(x * 0.4f, y * 0.4f, 3, sd)); },
          1.f, -1);
    }
  }
  // Buildings: walls and a roof, with straight edges.
  if (rng.chance(0.3f)) {
    int n = rng.randint(1, 2);
    for (int i = 0; i < n; ++i) {
      float w = rng.uniform(0.08f, 0.25f) * S, h = w * rng.uniform(0.4f, 0.9f);
      Vec2 b{rng.uniform(-0.1f, 1.0f) * S, rng.uniform(gy0, gy1)};
      cv.cover_polygon({v.to_image(b), v.to_image(b + Vec2{w, 0}), v.to_image(b + Vec2{w, -h}),
                        v.to_image(b + Vec2{0, -h})});
      cv.composite(jitter(rng, RGB{0.75f, 0.72f, 0.66f}, 0.2f), 1.f, -1);
      cv.cover_polygon({v.to_image(b + Vec2{-0.05f * w, -h}), v.to_image(b + Vec2{1.05f * w, -h}),
                        v.to_image(b + Vec2{0.5f * w, -h - 0.35f * w})});
      cv.composite(jitter(rng, RGB{0.5f, 0.25f, 0.18f}, 0.3f), 1.f, -1);
    }
  }
}

void photometric(Canvas& cv, Rng& rng) {
  const float gain = rng.uniform(0.7f, 1.3f), contrast = rng.uniform(0.75f, 1.2f);
  const float gamma = rng.uniform(0.85f, 1.2f);
  const float cast[3] = {rng.uniform(0.93f, 1.07f), rng.uniform(0.95f, 1.05f),
                         rng.uniform(0.93f, 1.07f)};
  const float haze = rng.chance(0.4f) ? rng.uniform(0.05f, 0.3f) : 0.f;
  const float vignette = rng.uniform(0.f, 0.35f);
  const float blur = rng.chance(0.5f) ? rng.uniform(0.3f, 0.9f) : 0.f;
  const float noise = rng.uniform(0.004f, 0.03f);
  const int H = cv.height(), W = cv.width();
  std::vector<float>& px = cv.rgb();  // (H, W, 3)
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      float dx = (x + 0.5f) / W - 0.5f, dy = (y + 0.5f) / H - 0.5f;
      float vig = 1.f - vignette * (dx * dx + dy * dy) * 2.f;
      for (int c = 0; c < 3; ++c) {
        float& p = px[(static_cast<size_t>(y) * W + x) * 3 + c];
        float val = ((p - 0.5f) * contrast + 0.5f) * gain * cast[c] * vig;
        val = val * (1.f - haze) + 0.8f * haze;
        p = std::pow(std::clamp(val, 0.f, 1.f), gamma);
      }
    }
  cv.gaussian_blur(blur);
  for (float& p : px) p += noise * rng.normal();
}

}  // namespace xgd::data::synth
