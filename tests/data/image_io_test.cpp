#include <gtest/gtest.h>

#include <cstring>

#include "data/image_io.h"
#include "tests/data/test_util.h"

namespace xgd::data {
namespace {

using test::png_formula;
using test::sample;

void expect_formula(const Image& m, int k, const std::string& what) {
  ASSERT_EQ(m.channels, 1) << what;
  ASSERT_EQ(m.width, 13) << what;
  ASSERT_EQ(m.height, 9) << what;
  int bad = 0;
  for (int y = 0; y < m.height; ++y)
    for (int x = 0; x < m.width; ++x)
      if (m.at(y, x) != png_formula(x, y, k) && bad++ < 5)
        ADD_FAILURE() << what << ": (x=" << x << ", y=" << y << ") = " << int(m.at(y, x))
                      << ", expected " << png_formula(x, y, k);
  EXPECT_EQ(bad, 0) << what;
}

TEST(ImageIo, PalettePngIndicesAtEveryBitDepth) {
  for (int depth : {1, 2, 4, 8}) {
    std::string path = sample("png/palette" + std::to_string(depth) + ".png");
    expect_formula(read_mask(path, MaskColours::Indices), 1 << depth, path);
    // The VOC reader reads palette files by index too (never through the colours).
    expect_formula(read_mask(path, MaskColours::VocColormap), 1 << depth, path);
  }
}

TEST(ImageIo, PaletteIndicesDoNotDependOnThePaletteColours) {
  // Its palette repeats colours, so only reading the indices can be exact.
  expect_formula(read_mask(sample("png/palette8_odd_colours.png"), MaskColours::Indices), 256,
                 "palette8_odd_colours");
}

TEST(ImageIo, InterlacedPaletteMapsBackThroughItsPalette) {
  expect_formula(read_mask(sample("png/palette_interlaced.png"), MaskColours::Indices), 256,
                 "palette_interlaced");
}

TEST(ImageIo, GreyAndRgbMasks) {
  expect_formula(read_mask(sample("png/grey.png"), MaskColours::Indices), 256, "grey");
  expect_formula(read_mask(sample("png/rgb_voc.png"), MaskColours::VocColormap), 256, "rgb_voc");
  // The folder layout wants indices: an RGB mask with colours is refused, naming a pixel.
  EXPECT_ERROR(read_mask(sample("png/rgb_voc.png"), MaskColours::Indices), "rgb_voc.png",
               "pixel (x=1, y=0)", "class indices");
}

TEST(ImageIo, UnknownVocColourNamesFileAndPixel) {
  EXPECT_ERROR(read_mask(sample("png/rgb_unknown.png"), MaskColours::VocColormap),
               "rgb_unknown.png", "pixel (x=6, y=4)", "(1, 2, 3)",
               "not in the Pascal VOC colormap");
}

TEST(ImageIo, BadFilesAreErrorsNamingTheFile) {
  for (const char* f : {"png/corrupt_truncated.png", "png/not_an_image.png"}) {
    EXPECT_ERROR(read_image(sample(f)), f);
    EXPECT_ERROR(read_mask(sample(f), MaskColours::Indices), f);
  }
  EXPECT_ERROR(read_mask(sample("png/grey16.png"), MaskColours::Indices), "grey16.png", "16-bit");
  EXPECT_ERROR(read_image(sample("png/does_not_exist.png")), "does_not_exist.png", "no such file");
  std::vector<uint8_t> empty;
  EXPECT_ERROR(decode_image(empty.data(), 0, 3, "empty.png"), "empty.png", "empty");
  // A palette PNG cut inside its image data, and one whose IDAT bytes are garbage.
  std::vector<uint8_t> png = read_file_bytes(sample("png/palette8.png"));
  std::vector<uint8_t> cut(png.begin(), png.begin() + png.size() - 20);
  Image out;
  EXPECT_ERROR(decode_palette_png(cut.data(), cut.size(), "cut.png", out), "cut.png", "corrupt");
  std::vector<uint8_t> garbled = png;
  for (size_t i = 60; i < garbled.size() - 16; ++i) garbled[i] = static_cast<uint8_t>(i * 7);
  EXPECT_ERROR(decode_palette_png(garbled.data(), garbled.size(), "garbled.png", out),
               "garbled.png");
}

TEST(ImageIo, VocColormapIsTheVocdevkitOneAndInvertible) {
  const auto& c = voc_colormap();
  EXPECT_EQ(c[0], (std::array<uint8_t, 3>{0, 0, 0}));
  EXPECT_EQ(c[1], (std::array<uint8_t, 3>{128, 0, 0}));        // aeroplane
  EXPECT_EQ(c[15], (std::array<uint8_t, 3>{192, 128, 128}));   // person
  EXPECT_EQ(c[20], (std::array<uint8_t, 3>{0, 64, 128}));      // tvmonitor
  EXPECT_EQ(c[255], (std::array<uint8_t, 3>{224, 224, 192}));  // boundary
  for (int i = 0; i < 256; ++i) EXPECT_EQ(voc_colour_index(c[i][0], c[i][1], c[i][2]), i);
  EXPECT_EQ(voc_colour_index(1, 2, 3), -1);
  EXPECT_EQ(voc_colour_index(255, 255, 255), -1);
}

TEST(ImageIo, PngRoundTripIsExactAndJpegIsClose) {
  test::TempDir dir("io");
  Image rgb(7, 11, 3), grey(5, 3, 1);
  for (size_t i = 0; i < rgb.pixels.size(); ++i) rgb.pixels[i] = static_cast<uint8_t>(i * 37 + 11);
  for (size_t i = 0; i < grey.pixels.size(); ++i) grey.pixels[i] = static_cast<uint8_t>(i * 17);
  write_png(dir / "rgb.png", rgb);
  write_png(dir / "grey.png", grey);
  Image r = read_image(dir / "rgb.png", 3);
  EXPECT_EQ(r.pixels, rgb.pixels);
  Image g = read_mask(dir / "grey.png", MaskColours::Indices);
  EXPECT_EQ(g.pixels, grey.pixels);
  EXPECT_EQ(read_image(dir / "grey.png", 0).channels, 1);
  EXPECT_EQ(read_image(dir / "grey.png", 3).channels, 3);  // grey replicated
  // A smooth image survives JPEG at quality 92 within a few levels.
  Image smooth(16, 16, 3);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x)
      for (int c = 0; c < 3; ++c) smooth.at(y, x, c) = static_cast<uint8_t>(8 * x + 4 * y + 20 * c);
  write_image(dir / "smooth.jpg", smooth);
  Image j = read_image(dir / "smooth.jpg", 3);
  ASSERT_EQ(j.pixels.size(), smooth.pixels.size());
  double err = 0;
  for (size_t i = 0; i < j.pixels.size(); ++i)
    err += std::abs(int(j.pixels[i]) - int(smooth.pixels[i]));
  EXPECT_LT(err / j.pixels.size(), 4.0);
  EXPECT_ERROR(write_image(dir / "x.gif", smooth), "x.gif", "extension");
  EXPECT_ERROR(write_png(dir / "empty.png", Image()), "empty.png", "empty");
  EXPECT_ERROR(write_png("/proc/xgd_no_such_dir/x.png", smooth), "x.png");
}

TEST(ImageIo, ColorizeUsesTheVocColours) {
  Image m(1, 3, 1);
  m.pixels = {0, 1, 255};
  Image c = colorize_mask(m);
  EXPECT_EQ(c.pixels, (std::vector<uint8_t>{0, 0, 0, 128, 0, 0, 224, 224, 192}));
  EXPECT_ERROR(colorize_mask(Image(2, 2, 3)), "colorize_mask", "1-channel");
}

}  // namespace
}  // namespace xgd::data
