#include <gtest/gtest.h>

#include <cmath>

#include "data/dataset.h"
#include "data/labelme.h"
#include "data/synth.h"
#include "data/synth_parts.h"
#include "tests/data/test_util.h"

namespace xgd::data {
namespace {

using test::TempDir;

TEST(Synth, ScenesAreDeterministicPerSeedSplitAndIndex) {
  Image a, la, b, lb;
  render_synth_scene(5, 0, 3, 96, a, la);
  render_synth_scene(5, 0, 3, 96, b, lb);
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_EQ(la.pixels, lb.pixels);
  render_synth_scene(6, 0, 3, 96, b, lb);
  EXPECT_NE(a.pixels, b.pixels);
  render_synth_scene(5, 1, 3, 96, b, lb);
  EXPECT_NE(a.pixels, b.pixels);
  EXPECT_EQ(a.height, 96);
  EXPECT_EQ(a.channels, 3);
  EXPECT_EQ(la.channels, 1);
}

TEST(Synth, ScenesHoldEveryTtplaClassThinCablesAndTexture) {
  std::array<int64_t, 5> pixels{}, images{};
  int64_t total = 0, all_thick = 0, all_cable = 0;
  double mean_sd = 0;
  const int n = 32, S = 128;
  for (int i = 0; i < n; ++i) {
    Image img, lab;
    render_synth_scene(1, 0, i, S, img, lab);
    std::array<int64_t, 5> here{};
    for (uint8_t v : lab.pixels) {
      ASSERT_LT(v, 5) << "synthetic labels are TTPLA classes only (no ignore)";
      ++here[v];
    }
    for (int c = 0; c < 5; ++c) pixels[c] += here[c], images[c] += here[c] > 0;
    total += S * S;
    double m = 0, m2 = 0;
    for (uint8_t p : img.pixels) m += p, m2 += double(p) * p;
    m /= img.pixels.size();
    mean_sd += std::sqrt(m2 / img.pixels.size() - m * m) / n;
    // Cables are thin: a cable pixel has few cable pixels in its own row and column runs.
    int64_t thick = 0, cable = 0;
    for (int y = 2; y < S - 2; ++y)
      for (int x = 2; x < S - 2; ++x) {
        if (lab.at(y, x) != 1) continue;
        ++cable;
        int vert = 0, horz = 0;
        for (int d = -2; d <= 2; ++d) vert += lab.at(y + d, x) == 1, horz += lab.at(y, x + d) == 1;
        thick += vert == 5 && horz == 5;  // a 5x5 cross of cable: more than 3 px thick both ways
      }
    // Wires converging towards a vanishing point overlap into thicker bands (up to ~15% of an
    // image's cable pixels); a wire drawn wider than 3 px would make nearly all of them thick.
    EXPECT_LE(thick, cable / 4) << "image " << i;
    all_thick += thick, all_cable += cable;
  }
  EXPECT_LT(all_thick, all_cable / 30);  // ~1% measured over these scenes
  for (int c = 1; c < 5; ++c) EXPECT_GE(images[c], 3) << ttpla_classes()[c];
  EXPECT_GE(images[1], n * 3 / 4);  // most scenes hold cables
  double cable_frac = double(pixels[1]) / total;
  EXPECT_GT(cable_frac, 0.005);
  EXPECT_LT(cable_frac, 0.1);
  EXPECT_GT(mean_sd, 20.0);  // textured, not flat colour
}

TEST(Synth, CoverageLabelsThinSegmentsByWidth) {
  synth::Canvas cv(9, 20);
  cv.cover_segment({2, 4.5f}, {18, 4.5f}, 1.f);  // centre line through row 4's pixel centres
  cv.composite(synth::RGB{1, 1, 1}, 1.f, 1);
  for (int y = 0; y < 9; ++y) EXPECT_EQ(cv.labels().at(y, 10), y == 4 ? 1 : 0) << y;
  synth::Canvas c3(9, 20);
  c3.cover_segment({2, 4.5f}, {18, 4.5f}, 3.f);
  c3.composite(synth::RGB{1, 1, 1}, 1.f, 1);
  for (int y = 0; y < 9; ++y) EXPECT_EQ(c3.labels().at(y, 10), y >= 3 && y <= 5 ? 1 : 0) << y;
  EXPECT_NEAR(c3.get(4, 10).r, 1.f, 1e-6);
  EXPECT_NEAR(c3.get(1, 10).r, 0.f, 1e-6);
  // A catenary sags by `sag` at mid-span and meets both ends.
  auto pts = synth::catenary({0, 0}, {100, 0}, 10, {0, 1}, 2.f);
  EXPECT_NEAR(pts.front().y, 0, 1e-4);
  EXPECT_NEAR(pts.back().x, 100, 1e-4);
  EXPECT_NEAR(pts[pts.size() / 2].y, 10, 0.05);
}

TEST(Synth, WritesAFolderDatasetReproducibly) {
  TempDir a("synth_a"), b("synth_b");
  SynthOptions o;
  o.seed = 3, o.train = 5, o.val = 2, o.test = 1, o.size = 48;
  SynthSummary s = write_synth_dataset(a.str(), o);
  EXPECT_EQ(s.images, 8);
  int64_t sum = 0;
  for (int64_t p : s.class_pixels) sum += p;
  EXPECT_EQ(sum, 8 * 48 * 48);
  Dataset train = open_folder(a.str(), "train");
  EXPECT_EQ(train.size(), 5);
  EXPECT_EQ(train.classes(), ttpla_classes());
  for (int64_t i = 0; i < train.size(); ++i) {
    Sample smp = train.load(i);
    EXPECT_EQ(smp.image.width, 48);
  }
  EXPECT_EQ(open_folder(a.str(), "val").size(), 2);
  EXPECT_EQ(open_folder(a.str(), "test").ref(0).id, "test_0000");
  // Same seed, more training images: the first five are identical files.
  o.train = 6;
  write_synth_dataset(b.str(), o);
  for (int i = 0; i < 5; ++i) {
    std::string f = "images/train_000" + std::to_string(i) + ".png";
    EXPECT_EQ(read_file_bytes(a / f), read_file_bytes(b / f)) << f;
    std::string m = "masks/train_000" + std::to_string(i) + ".png";
    EXPECT_EQ(read_file_bytes(a / m), read_file_bytes(b / m)) << m;
  }
  o.size = 8;
  EXPECT_ERROR(write_synth_dataset(b.str(), o), "image size");
  o.size = 32, o.train = o.val = o.test = 0;
  EXPECT_ERROR(write_synth_dataset(b.str(), o), "split sizes");
}

}  // namespace
}  // namespace xgd::data
