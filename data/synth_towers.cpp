// Towers (lattice, tubular "tucohy", wooden) and catenary conductors of the synthetic scenes.
#include <algorithm>
#include <cmath>

#include "data/synth_parts.h"

namespace xgd::data::synth {

TowerStyle random_tower_style(Rng& rng, int type) {
  TowerStyle s;
  s.type = type;
  s.light = rng.uniform(-0.8f, 0.8f);
  s.grain_seed = rng.seed32();
  s.insulator_colour = rng.chance(0.5f) ? RGB{0.82f, 0.82f, 0.78f}  // porcelain
                                        : RGB{0.45f, 0.6f, 0.55f};  // glass
  if (type == kLattice) {
    s.base_hw = rng.uniform(0.11f, 0.2f);
    s.top_hw = rng.uniform(0.035f, 0.06f);
    s.waist = rng.uniform(0.72f, 0.82f);
    s.panels = rng.randint(4, 8);
    s.arm_levels = rng.randint(1, 2);
    s.arm_y[0] = rng.uniform(s.waist + 0.04f, s.waist + 0.1f);
    s.arm_len[0] = rng.uniform(0.22f, 0.38f);
    s.arm_y[1] = std::min(0.97f, s.arm_y[0] + rng.uniform(0.07f, 0.12f));
    s.arm_len[1] = s.arm_len[0] * rng.uniform(0.6f, 0.85f);
    s.insulator = rng.uniform(0.04f, 0.08f);
    s.shield_peaks = rng.chance(0.7f);
    float g = rng.uniform(0.35f, 0.75f);  // galvanised steel, or dark against the light
    s.colour = {g, g * rng.uniform(0.98f, 1.03f), g * rng.uniform(1.0f, 1.06f)};
  } else if (type == kTucohy) {
    s.base_hw = rng.uniform(0.025f, 0.05f);
    s.top_hw = s.base_hw * rng.uniform(0.45f, 0.75f);
    s.arm_levels = rng.randint(1, 3);
    s.arm_y[0] = rng.uniform(0.9f, 0.97f);
    s.arm_y[1] = s.arm_y[0] - rng.uniform(0.09f, 0.14f);
    s.arm_y[2] = s.arm_y[1] - rng.uniform(0.09f, 0.14f);
    for (float& l : s.arm_len) l = rng.uniform(0.1f, 0.22f);
    s.insulator = rng.uniform(0.04f, 0.07f);
    int paint = rng.randint(0, 2);  // grey steel, green-grey paint, light concrete
    s.colour = paint == 0   ? RGB{0.55f, 0.57f, 0.6f}
               : paint == 1 ? RGB{0.42f, 0.5f, 0.45f}
                            : RGB{0.72f, 0.71f, 0.68f};
    s.colour = scale(s.colour, rng.uniform(0.75f, 1.2f));
  } else {  // wooden
    s.base_hw = rng.uniform(0.02f, 0.032f);
    s.top_hw = s.base_hw * rng.uniform(0.7f, 0.9f);
    s.h_frame = rng.chance(0.35f);
    s.arm_levels = 1;
    s.arm_y[0] = rng.uniform(0.84f, 0.94f);
    s.arm_len[0] = s.h_frame ? rng.uniform(0.22f, 0.3f) : rng.uniform(0.1f, 0.2f);
    s.insulator = rng.uniform(0.025f, 0.045f);
    s.colour = scale(RGB{0.36f, 0.26f, 0.16f}, rng.uniform(0.6f, 1.35f));
  }
  return s;
}

namespace {

// Member width in pixels for a tower h pixels tall (thin members stay >= ~0.6 px: visible
// but faint, as real lattice members at a distance).
float member_width(const Frame& f, float rel) {
  return std::clamp(f.h * rel, 0.6f, 3.f);
}

// Tubular shading across a pole: brighter on the lit side.
RGB shaded(RGB base, const Frame& f, float light, float x, float y, float hw_px) {
  Vec2 d = Vec2{x + 0.5f, y + 0.5f} - f.base;
  float across = (d.x * f.right.x + d.y * f.right.y) / std::max(hw_px, 0.5f);  // -1..1
  float s = 0.7f + 0.45f * std::max(0.f, 1.f - (across - light) * (across - light));
  return scale(base, s);
}

std::vector<Vec2> draw_lattice(Canvas& cv, const TowerStyle& s, const Frame& f) {
  const float mw = member_width(f, 0.008f);
  auto hw = [&](float y) {
    return s.base_hw + (s.top_hw - s.base_hw) * std::min(y / s.waist, 1.f);
  };
  // Label: the silhouette (body, cage, arms, peaks), as an annotator's outline polygons.
  const float cage_top = std::max(s.arm_y[s.arm_levels - 1] + 0.05f, s.waist + 0.12f);
  cv.cover_polygon({f.at(-s.base_hw, 0), f.at(s.base_hw, 0), f.at(s.top_hw, s.waist),
                    f.at(s.top_hw, cage_top), f.at(-s.top_hw, cage_top), f.at(-s.top_hw, s.waist)});
  for (int l = 0; l < s.arm_levels; ++l)
    for (float side : {-1.f, 1.f}) {
      float y = s.arm_y[l], L = s.arm_len[l];
      cv.cover_polygon({f.at(side * s.top_hw, y + 0.045f), f.at(side * L, y),
                        f.at(side * L, y - 0.012f), f.at(side * s.top_hw, y - 0.03f)});
    }
  if (s.shield_peaks)
    for (float side : {-1.f, 1.f})
      cv.cover_polygon({f.at(side * s.top_hw, cage_top),
                        f.at(side * s.top_hw * 1.6f, cage_top + 0.07f), f.at(0, cage_top)});
  cv.composite(s.colour, 0.f, kLattice);  // labels only: the gaps show the background

  // Members: legs, horizontals, X-bracing in panels that shrink upwards.
  std::vector<float> levels = {0.f};
  float step = s.waist * 0.28f;
  while (static_cast<int>(levels.size()) <= s.panels && levels.back() + step < s.waist) {
    levels.push_back(levels.back() + step);
    step *= 0.8f;
  }
  levels.back() = s.waist;
  for (float side : {-1.f, 1.f}) {
    cv.cover_segment(f.at(side * s.base_hw, 0), f.at(side * s.top_hw, s.waist), mw * 1.4f, 0.f);
    cv.cover_segment(f.at(side * s.top_hw, s.waist), f.at(side * s.top_hw, cage_top), mw * 1.2f,
                     0.f);
  }
  for (size_t i = 0; i + 1 < levels.size(); ++i) {
    float y0 = levels[i], y1 = levels[i + 1];
    cv.cover_segment(f.at(-hw(y1), y1), f.at(hw(y1), y1), mw, 0.f);
    cv.cover_segment(f.at(-hw(y0), y0), f.at(hw(y1), y1), mw, 0.f);
    cv.cover_segment(f.at(hw(y0), y0), f.at(-hw(y1), y1), mw, 0.f);
  }
  for (float y = s.waist; y < cage_top; y += 0.06f) {  // the cage: small X panels
    float y1 = std::min(y + 0.06f, cage_top);
    cv.cover_segment(f.at(-s.top_hw, y), f.at(s.top_hw, y1), mw * 0.8f, 0.f);
    cv.cover_segment(f.at(s.top_hw, y), f.at(-s.top_hw, y1), mw * 0.8f, 0.f);
  }
  std::vector<Vec2> attach;
  for (int l = 0; l < s.arm_levels; ++l)
    for (float side : {-1.f, 1.f}) {
      float y = s.arm_y[l], L = s.arm_len[l];
      Vec2 top0 = f.at(side * s.top_hw, y + 0.045f), bot0 = f.at(side * s.top_hw, y - 0.03f);
      Vec2 tip = f.at(side * L, y - 0.006f);
      cv.cover_segment(top0, tip, mw, 0.f);
      cv.cover_segment(bot0, tip, mw, 0.f);
      for (int k = 1; k < 4; ++k) {  // zig-zag lacing of the arm truss
        float t0 = (k - 1) / 4.f, t1 = k / 4.f;
        cv.cover_segment(lerp(bot0, tip, t0), lerp(top0, tip, t1), mw * 0.8f, 0.f);
      }
    }
  if (s.shield_peaks)
    for (float side : {-1.f, 1.f}) {
      Vec2 peak = f.at(side * s.top_hw * 1.6f, cage_top + 0.07f);
      cv.cover_segment(f.at(side * s.top_hw, cage_top), peak, mw, 0.f);
      cv.cover_segment(f.at(0, cage_top), peak, mw, 0.f);
      attach.push_back(peak);
    }
  cv.composite(s.colour, 1.f, -1);
  // Insulator strings hang from the arm tips; they are part of the tower.
  for (int l = 0; l < s.arm_levels; ++l)
    for (float side : {-1.f, 1.f}) {
      Vec2 tip = f.at(side * s.arm_len[l], s.arm_y[l] - 0.006f);
      Vec2 end = f.at(side * s.arm_len[l], s.arm_y[l] - 0.006f - s.insulator);
      cv.cover_segment(tip, end, member_width(f, 0.012f));
      attach.push_back(end);
    }
  cv.composite(s.insulator_colour, 0.9f, kLattice);
  return attach;
}

std::vector<Vec2> draw_tucohy(Canvas& cv, const TowerStyle& s, const Frame& f) {
  cv.cover_polygon(
      {f.at(-s.base_hw, 0), f.at(s.base_hw, 0), f.at(s.top_hw, 1.f), f.at(-s.top_hw, 1.f)});
  const float hw_px = 0.5f * (s.base_hw + s.top_hw) * f.h;
  cv.composite([&](int x, int y) { return shaded(s.colour, f, s.light, x, y, hw_px); }, 1.f,
               kTucohy);
  std::vector<Vec2> attach;
  for (int l = 0; l < s.arm_levels; ++l)
    for (float side : {-1.f, 1.f}) {
      float y = s.arm_y[l], L = s.arm_len[l], t = std::max(0.018f, 1.2f / f.h);
      cv.cover_polygon({f.at(side * s.top_hw, y + t), f.at(side * L, y + t * 0.3f),
                        f.at(side * L, y - t * 0.3f), f.at(side * s.top_hw, y - t)});
    }
  cv.composite(scale(s.colour, 0.9f), 1.f, kTucohy);
  for (int l = 0; l < s.arm_levels; ++l)
    for (float side : {-1.f, 1.f}) {
      Vec2 tip = f.at(side * s.arm_len[l] * 0.95f, s.arm_y[l]);
      Vec2 end = f.at(side * s.arm_len[l] * 0.95f, s.arm_y[l] - s.insulator);
      cv.cover_segment(tip, end, member_width(f, 0.014f));
      attach.push_back(end);
    }
  cv.composite(s.insulator_colour, 0.9f, kTucohy);
  return attach;
}

std::vector<Vec2> draw_wooden(Canvas& cv, const TowerStyle& s, const Frame& f) {
  std::vector<float> poles = s.h_frame
                                 ? std::vector<float>{-0.6f * s.arm_len[0], 0.6f * s.arm_len[0]}
                                 : std::vector<float>{0.f};
  for (float px : poles)
    cv.cover_polygon({f.at(px - s.base_hw, 0), f.at(px + s.base_hw, 0), f.at(px + s.top_hw, 1.f),
                      f.at(px - s.top_hw, 1.f)});
  // Wood: darker streaks along the pole (noise stretched along the tower's axis).
  auto wood = [&](int x, int y) {
    Vec2 d = Vec2{x + 0.5f, y + 0.5f} - f.base;
    float along = d.x * f.up.x + d.y * f.up.y, across = d.x * f.right.x + d.y * f.right.y;
    float g = fbm(across * 0.9f, along * 0.08f, 3, s.grain_seed);
    return scale(s.colour, 0.7f + 0.6f * g);
  };
  cv.composite(wood, 1.f, kWooden);
  const float y = s.arm_y[0], t = std::max(0.015f, 1.1f / f.h), L = s.arm_len[0];
  cv.cover_polygon({f.at(-L, y + t), f.at(L, y + t), f.at(L, y - t), f.at(-L, y - t)});
  if (!s.h_frame)  // diagonal braces under the arm
    for (float side : {-1.f, 1.f})
      cv.cover_segment(f.at(0, y - 0.09f), f.at(side * L * 0.6f, y), member_width(f, 0.01f));
  cv.composite(wood, 1.f, kWooden);
  std::vector<Vec2> attach;
  const int n_ins = 3;
  for (int k = 0; k < n_ins; ++k) {
    float x = -L * 0.85f + k * (1.7f * L / (n_ins - 1));
    if (!s.h_frame && k == 1) x = 0.35f * L;  // pin insulators off the pole
    Vec2 a = f.at(x, y + t), b = f.at(x, y + t + s.insulator);
    cv.cover_segment(a, b, member_width(f, 0.016f));
    attach.push_back(b);
  }
  cv.composite(s.insulator_colour, 0.95f, kWooden);
  return attach;
}

}  // namespace

std::vector<Vec2> draw_tower(Canvas& cv, const TowerStyle& style, const Frame& f) {
  switch (style.type) {
    case kLattice:
      return draw_lattice(cv, style, f);
    case kTucohy:
      return draw_tucohy(cv, style, f);
    default:
      return draw_wooden(cv, style, f);
  }
}

std::vector<Vec2> catenary(Vec2 a, Vec2 b, float sag, Vec2 down, float k) {
  const float len = length(b - a);
  const int n = std::max(2, static_cast<int>(std::ceil(len / 2.f)) + 1);  // ~2 px segments
  const float ch = std::cosh(0.5f * k);
  std::vector<Vec2> pts(n);
  for (int i = 0; i < n; ++i) {
    float t = static_cast<float>(i) / (n - 1);
    float shape = (ch - std::cosh(k * (t - 0.5f))) / (ch - 1.f);  // 0 at the ends, 1 mid-span
    pts[i] = lerp(a, b, t) + down * (sag * shape);
  }
  return pts;
}

}  // namespace xgd::data::synth
