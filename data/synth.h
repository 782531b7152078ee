// A synthetic power-line dataset with TTPLA's classes (background, cable, tower_lattice,
// tower_tucohy, tower_wooden), written in the folder layout of DESIGN.md §4. Scenes: sky or
// ground views with roll; lines of lattice, tubular or wooden towers receding in perspective
// or side by side; 1-3 px catenary conductors; textured backgrounds (sky gradients, clouds,
// hills, tree lines, fields, vegetation, roads) with thin distractors labelled background
// (contrails, fences, hedgerows, tree trunks, buildings, cable shadows); exposure, colour cast,
// haze, vignetting, blur and sensor noise. Deterministic in (seed, split, index).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/image_io.h"

namespace xgd::data {

struct SynthOptions {
  uint64_t seed = 0;
  int train = 64, val = 16, test = 16;  // images per split
  int size = 128;                       // square images, pixels
};

struct SynthSummary {
  int64_t images = 0;
  std::vector<int64_t> class_pixels;  // per TTPLA class
  std::array<int64_t, 5> images_with_class{};
};

// One scene: image (size, size, 3) and labels (size, size, 1). Image `index` of split
// `split` (0 train, 1 val, 2 test) does not depend on the other splits' sizes.
void render_synth_scene(uint64_t seed, int split, int64_t index, int size, Image& image,
                        Image& label);

// Writes DIR/images/<split>_<index>.png, DIR/masks/..., DIR/splits/{train,val,test}.txt and
// DIR/classes.txt. Images are rendered in parallel (OpenMP); the output is the same for any
// thread count.
SynthSummary write_synth_dataset(const std::string& dir, const SynthOptions& options);

}  // namespace xgd::data
