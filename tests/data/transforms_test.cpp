#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "data/transforms.h"
#include "engine/io/safetensors.h"
#include "tests/data/test_util.h"

namespace xgd::data {
namespace {

// ---- resampling against PyTorch (tests/data/make_fixtures.py)
TEST(Resize, BilinearAndNearestMatchPytorchInterpolate) {
  auto f = io::load_safetensors(std::string(XGD_DATA_FIXTURES) + "/resize.safetensors");
  std::set<std::string> cases;
  for (const auto& [name, t] : f.tensors) cases.insert(name.substr(0, name.find('.')));
  ASSERT_GE(cases.size(), 10u);
  for (const std::string& c : cases) {
    SCOPED_TRACE(c);
    const Tensor& img = f.tensors.at(c + ".image");     // (3, H, W) f32
    const Tensor& bil = f.tensors.at(c + ".bilinear");  // (3, OH, OW) f32
    const Tensor& lab = f.tensors.at(c + ".label");     // (H, W) u8
    const Tensor& near = f.tensors.at(c + ".nearest");  // (OH, OW) u8
    const int H = img.size(1), W = img.size(2), OH = bil.size(1), OW = bil.size(2);
    std::vector<float> out(3 * OH * OW);
    resize_bilinear(img.data<float>(), 3, H, W, out.data(), OH, OW);
    // Values 0..255 blended from 4 taps in float32: |error| <= 255 * 4 * 2^-23 ~ 1.2e-4, so
    // atol 2e-4 (the tap indices and weights are computed exactly as PyTorch's kernel does).
    const float* want = bil.data<float>();
    for (int i = 0; i < 3 * OH * OW; ++i) ASSERT_NEAR(out[i], want[i], 2e-4) << "element " << i;
    std::vector<uint8_t> nl(OH * OW);
    resize_nearest(lab.data<uint8_t>(), H, W, nl.data(), OH, OW);
    const uint8_t* wn = near.data<uint8_t>();
    for (int i = 0; i < OH * OW; ++i) ASSERT_EQ(nl[i], wn[i]) << "element " << i;  // exact
  }
}

// ---- a test image: blocks of four pure colours whose label is a function of the colour
constexpr uint8_t kColours[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
constexpr int kClassOf[4] = {0, 3, 7, 5};

void block_sample(int H, int W, Image& img, Image& lab) {
  img = Image(H, W, 3), lab = Image(H, W, 1);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      int b = ((x / 7 + y / 9) * 3 + (x / 11)) % 4;  // irregular blocks >= 7 px
      for (int c = 0; c < 3; ++c) img.at(y, x, c) = kColours[b][c];
      lab.at(y, x) = static_cast<uint8_t>(kClassOf[b]);
    }
}

// Which colour (0..3) a normalised pixel is exactly (within float rounding), or -1 for a blend.
int pure_colour(const float* px, int64_t plane, const Normalization& n) {
  for (int b = 0; b < 4; ++b) {
    bool ok = true;
    for (int c = 0; c < 3 && ok; ++c) {
      float want = (kColours[b][c] / 255.f - n.mean[c]) / n.std[c];
      ok = std::abs(px[c * plane] - want) < 1e-4f;
    }
    if (ok) return b;
  }
  return -1;
}

struct Rendered {
  int h, w;
  std::vector<float> image;
  std::vector<int64_t> label;
};
Rendered render(const Image& img, const Image& lab, const AugmentOptions& o,
                const AugmentParams& p) {
  Rendered r;
  window_size(o, p, r.h, r.w);
  r.image.resize(3 * r.h * r.w), r.label.resize(r.h * r.w);
  render_sample(img, lab, p, o.norm, r.h, r.w, r.image.data(), r.label.data());
  return r;
}

TEST(Augment, EvaluationIsTheNormalisedImageExactly) {
  Image img, lab;
  block_sample(13, 17, img, lab);
  AugmentOptions o;  // train = false
  AugmentParams p = draw_augment(o, 13, 17, 1, 2, 3);
  EXPECT_EQ(p.scaled_h, 13);
  EXPECT_EQ(p.scaled_w, 17);
  EXPECT_FALSE(p.flip);
  Rendered r = render(img, lab, o, p);
  for (int y = 0; y < 13; ++y)
    for (int x = 0; x < 17; ++x) {
      ASSERT_EQ(r.label[y * 17 + x], lab.at(y, x));
      for (int c = 0; c < 3; ++c)  // one multiply-add in float: 1e-6 relative
        ASSERT_NEAR(r.image[(c * 13 + y) * 17 + x],
                    (img.at(y, x, c) / 255.f - o.norm.mean[c]) / o.norm.std[c], 1e-5);
    }
}

TEST(Augment, LabelsOnlyTakeOriginalValuesOrIgnore) {
  Image img, lab;
  block_sample(40, 56, img, lab);
  lab.at(3, 3) = 255;  // an ignore pixel in the source stays an allowed value
  const std::set<int64_t> allowed = {0, 3, 5, 7, 255};
  AugmentOptions o;
  o.train = true, o.crop = 33;
  for (int64_t i = 0; i < 40; ++i) {
    Rendered r = render(img, lab, o, draw_augment(o, 40, 56, 9, 0, i));
    ASSERT_EQ(r.h, 33);
    for (int64_t v : r.label) ASSERT_TRUE(allowed.count(v)) << "label value " << v;
  }
}

TEST(Augment, ImageAndLabelStayAlignedUnderScaleCropFlip) {
  Image img, lab;
  block_sample(48, 64, img, lab);
  AugmentOptions o;
  o.train = true, o.crop = 56;
  int64_t checked = 0, matched = 0, flips = 0;
  for (int64_t i = 0; i < 48; ++i) {
    AugmentParams p = draw_augment(o, 48, 64, 4, 1, i);
    flips += p.flip;
    Rendered r = render(img, lab, o, p);
    const int64_t plane = int64_t(r.h) * r.w;
    for (int y = 0; y < r.h; ++y)
      for (int x = 0; x < r.w; ++x) {
        const float* px = r.image.data() + y * r.w + x;
        const int64_t L = r.label[y * r.w + x];
        const bool padding = px[0] == 0.f && px[plane] == 0.f && px[2 * plane] == 0.f;
        ASSERT_EQ(L == 255, padding)
            << "padding must be exactly 0 in the image and 255 in the label";
        if (padding) continue;
        int b = pure_colour(px, plane, o.norm);
        if (b < 0) continue;  // a bilinear blend at a block edge
        ++checked;
        if (L == kClassOf[b]) {
          ++matched;
          continue;
        }
        // Nearest (floor) and bilinear (centre) sampling may disagree by one pixel at an edge;
        // anything further is a misalignment (a flip or offset applied to one and not the other).
        bool near_edge = false;
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx) {
            int yy = y + dy, xx = x + dx;
            if (yy >= 0 && yy < r.h && xx >= 0 && xx < r.w && r.label[yy * r.w + xx] == kClassOf[b])
              near_edge = true;
          }
        ASSERT_TRUE(near_edge) << "sample " << i << " pixel " << x << "," << y << ": colour " << b
                               << " labelled " << L;
      }
  }
  EXPECT_GT(checked, 48 * 56 * 56 / 3);    // not vacuous: most pixels are pure
  EXPECT_GT(matched, checked * 97 / 100);  // and almost all agree outright
  EXPECT_GT(flips, 10);
  EXPECT_LT(flips, 38);
}

TEST(Augment, FlipAndCropAreExactRelationsOfTheScaledImage) {
  Image img, lab;
  block_sample(30, 44, img, lab);
  AugmentOptions o;
  o.train = true, o.crop = 20;
  AugmentParams full;  // scaled 45x66 = 1.5x, the whole scaled image as the window
  full.scaled_h = 45, full.scaled_w = 66;
  Rendered whole;
  whole.h = 45, whole.w = 66;
  whole.image.resize(3 * 45 * 66), whole.label.resize(45 * 66);
  render_sample(img, lab, full, o.norm, 45, 66, whole.image.data(), whole.label.data());
  for (bool flip : {false, true}) {
    AugmentParams p = full;
    p.top = 7, p.left = 30, p.flip = flip;
    Rendered r = render(img, lab, o, p);
    for (int y = 0; y < 20; ++y)
      for (int x = 0; x < 20; ++x) {
        int sx = 30 + (flip ? 19 - x : x), sy = 7 + y;
        ASSERT_EQ(r.label[y * 20 + x], whole.label[sy * 66 + sx]);
        for (int c = 0; c < 3; ++c)
          ASSERT_EQ(r.image[(c * 20 + y) * 20 + x], whole.image[(c * 45 + sy) * 66 + sx]);
      }
  }
  // The scaled image itself is PyTorch's resize: compare the labels with resize_nearest.
  std::vector<uint8_t> near(45 * 66);
  resize_nearest(lab.pixels.data(), 30, 44, near.data(), 45, 66);
  for (int i = 0; i < 45 * 66; ++i) ASSERT_EQ(whole.label[i], near[i]);
}

TEST(Augment, SmallImagesArePaddedBottomRightWithIgnore) {
  Image img, lab;
  block_sample(10, 8, img, lab);
  AugmentOptions o;
  o.train = true, o.crop = 32, o.scale_min = o.scale_max = 1.0, o.flip = false;
  AugmentParams p = draw_augment(o, 10, 8, 0, 0, 0);
  EXPECT_EQ(p.top, 0);  // the padded image is exactly the crop: no room to move
  EXPECT_EQ(p.left, 0);
  Rendered r = render(img, lab, o, p);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      bool inside = y < 10 && x < 8;
      ASSERT_EQ(r.label[y * 32 + x], inside ? lab.at(y, x) : 255);
      if (!inside) {
        ASSERT_EQ(r.image[y * 32 + x], 0.f);
      }
    }
}

TEST(Augment, DrawsAreDeterministicAndInRange) {
  AugmentOptions o;
  o.train = true, o.crop = 64;
  double sum = 0;
  int differ_index = 0, differ_epoch = 0, differ_seed = 0;
  for (int64_t i = 0; i < 1000; ++i) {
    AugmentParams a = draw_augment(o, 100, 80, 7, 3, i), b = draw_augment(o, 100, 80, 7, 3, i);
    ASSERT_EQ(a.scaled_h, b.scaled_h);
    ASSERT_EQ(a.top, b.top);
    ASSERT_EQ(a.left, b.left);
    ASSERT_EQ(a.flip, b.flip);
    double s = a.scaled_h / 100.0;
    ASSERT_GE(a.scaled_h, 50);
    ASSERT_LE(a.scaled_h, 200);
    ASSERT_NEAR(a.scaled_w, 80 * s, 1.6);
    ASSERT_LE(a.top, std::max(a.scaled_h, 64) - 64);
    ASSERT_LE(a.left, std::max(a.scaled_w, 64) - 64);
    sum += s;
    AugmentParams n = draw_augment(o, 100, 80, 7, 3, i + 1);
    differ_index += n.scaled_h != a.scaled_h;
    differ_epoch += draw_augment(o, 100, 80, 7, 4, i).scaled_h != a.scaled_h;
    differ_seed += draw_augment(o, 100, 80, 8, 3, i).scaled_h != a.scaled_h;
  }
  EXPECT_NEAR(sum / 1000, 1.25, 0.05);  // uniform on [0.5, 2]: mean 1.25, sd/sqrt(n) = 0.014
  EXPECT_GT(differ_index, 900);
  EXPECT_GT(differ_epoch, 900);
  EXPECT_GT(differ_seed, 900);
}

TEST(Augment, BadOptionsAndInputsAreErrors) {
  AugmentOptions o;
  o.scale_min = 2, o.scale_max = 1;
  EXPECT_ERROR(check_augment_options(o), "scale range");
  o = AugmentOptions{};
  o.crop = -1;
  EXPECT_ERROR(check_augment_options(o), "crop size -1");
  o = AugmentOptions{};
  o.norm.std[1] = 0;
  EXPECT_ERROR(check_augment_options(o), "normalisation");
  Image img(4, 5, 3), lab(4, 6, 1);
  std::vector<float> buf(3 * 4 * 6);
  std::vector<int64_t> lb(4 * 6);
  AugmentParams p;
  p.scaled_h = 4, p.scaled_w = 5;
  EXPECT_ERROR(render_sample(img, lab, p, o.norm, 4, 5, buf.data(), lb.data()), "5x4", "6x4");
  EXPECT_ERROR(draw_augment(o, 0, 5, 0, 0, 0), "empty image");
}

TEST(Transforms, ImageToTensorNormalisesWithoutResampling) {
  Image img(2, 3, 3);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(40 * i % 256);
  Tensor t = image_to_tensor(img);
  ASSERT_EQ(t.shape(), (Shape{1, 3, 2, 3}));
  Normalization n;
  const float* p = t.data<float>();
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 3; ++x)  // (v/255 - mean)/std, up to render_sample's v·gain + bias
        EXPECT_NEAR(p[(c * 2 + y) * 3 + x], (img.at(y, x, c) / 255.0 - n.mean[c]) / n.std[c], 1e-5);
  EXPECT_THROW(image_to_tensor(Image(2, 2, 1)), Error);
}

}  // namespace
}  // namespace xgd::data
