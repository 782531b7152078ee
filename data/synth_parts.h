// Internal pieces of the synthetic power-line scene generator (data/synth.cpp composes them).
#pragma once
#include <vector>

#include "data/synth_draw.h"

namespace xgd::data::synth {

// TTPLA's class indices.
enum Class : int { kBackground = 0, kCable = 1, kLattice = 2, kTucohy = 3, kWooden = 4 };

// A tower's local frame: x across and y up, both in units of the tower's height h (pixels).
struct Frame {
  Vec2 base, up, right;
  float h = 1;
  Vec2 at(float x, float y) const { return base + right * (x * h) + up * (y * h); }
};

// The look and proportions shared by every tower of one line, so the conductors of
// neighbouring towers attach at corresponding points.
struct TowerStyle {
  int type = kLattice;
  float base_hw = 0.15f, top_hw = 0.05f;  // half-widths at the base and the top of the body
  float waist = 0.78f;                    // lattice: height of the body's top (cage above)
  int panels = 6;                         // lattice: braced panels in the body
  int arm_levels = 1;
  float arm_y[3] = {0.85f, 0.93f, 0.72f}, arm_len[3] = {0.3f, 0.22f, 0.2f};
  float insulator = 0.06f;   // insulator length
  bool shield_peaks = true;  // lattice: earth-wire peaks above the cage
  bool h_frame = false;      // wooden: two poles and one cross-arm
  RGB colour{0.6f, 0.6f, 0.62f};
  RGB insulator_colour{0.8f, 0.8f, 0.75f};
  float light = 0.3f;  // tubular shading: side of the highlight (-1..1)
  uint32_t grain_seed = 0;
};

TowerStyle random_tower_style(Rng& rng, int type);
// Draws one tower (label = its silhouette, as TTPLA's polygons) and returns its conductor
// attachment points, in the same order for every tower of a style.
std::vector<Vec2> draw_tower(Canvas& cv, const TowerStyle& style, const Frame& f);

// A conductor between a and b sagging by `sag` pixels along `down` as a catenary
// y = cosh(k (t - 1/2)) (k in [0.5, 3]; k -> 0 is a parabola), `width` px thick.
std::vector<Vec2> catenary(Vec2 a, Vec2 b, float sag, Vec2 down, float k);

// What the camera sees, for the background: horizon height (before roll, may be outside
// the frame), roll about the image centre, and the palettes drawn for this image.
struct View {
  int size = 128;
  float horizon = 64, roll = 0;
  Vec2 centre;
  Vec2 to_upright(Vec2 p) const;  // image -> unrolled scene coordinates
  Vec2 to_image(Vec2 p) const;    // unrolled scene -> image coordinates
};

void draw_background(Canvas& cv, Rng& rng, const View& v);
void draw_distractors(Canvas& cv, Rng& rng, const View& v);
void photometric(Canvas& cv, Rng& rng);

}  // namespace xgd::data::synth
