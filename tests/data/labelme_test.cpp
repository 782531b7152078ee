#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <numbers>

#include "data/dataset.h"
#include "data/labelme.h"
#include "tests/data/test_util.h"

namespace xgd::data {
namespace {

using test::sample;
using test::TempDir;
namespace fs = std::filesystem;

std::vector<std::string> rows(const Image& m) {
  std::vector<std::string> out;
  for (int y = 0; y < m.height; ++y) {
    std::string r;
    for (int x = 0; x < m.width; ++x) r += m.at(y, x) ? '1' : '0';
    out.push_back(r);
  }
  return out;
}

TEST(LabelMe, PolygonRasterisationMatchesPil) {
  // Expected masks printed by PIL: ImageDraw.polygon(xy, fill=1, outline=1), as labelme.
  Image sq(10, 10, 1);
  fill_polygon(sq, {{2, 2}, {5, 2}, {5, 5}, {2, 5}}, 1);
  EXPECT_EQ(rows(sq), (std::vector<std::string>{
                          "0000000000", "0000000000", "0011110000", "0011110000", "0011110000",
                          "0011110000", "0000000000", "0000000000", "0000000000", "0000000000"}));
  Image tri(10, 10, 1);
  fill_polygon(tri, {{1.4, 1.6}, {7.7, 2.2}, {4.2, 8.9}}, 1);
  EXPECT_EQ(rows(tri), (std::vector<std::string>{
                           "0000000000", "0100000000", "0111111100", "0011111000", "0011111000",
                           "0001110000", "0001110000", "0000100000", "0000100000", "0000000000"}));
  // Even-odd: the centre of a pentagram is a hole (PIL: rows 8..12, cols 8..12 below).
  Image star(21, 21, 1);
  std::vector<std::array<double, 2>> pts;
  for (int k = 0; k < 5; ++k) {
    double a = std::numbers::pi / 2 + k * 4 * std::numbers::pi / 5;
    pts.push_back({10 + 8 * std::cos(a), 10 - 8 * std::sin(a)});
  }
  fill_polygon(star, pts, 1);
  std::vector<std::string> centre;
  for (int y = 8; y <= 12; ++y) centre.push_back(rows(star)[y].substr(8, 5));
  EXPECT_EQ(centre, (std::vector<std::string>{"10001", "00001", "00001", "00001", "11111"}));
  // Vertices outside the image are clipped, never written out of bounds.
  Image clip(4, 4, 1);
  fill_polygon(clip, {{-10, -10}, {20, -10}, {20, 20}, {-10, 20}}, 3);
  for (uint8_t v : clip.pixels) EXPECT_EQ(v, 3);
}

TEST(LabelMe, SampleFilesMatchLabelmesOwnRasterisation) {
  for (const char* id : {"tower_0001", "tower_0002"}) {
    LabelMeDoc doc = parse_labelme(sample(std::string("labelme/") + id + ".json"));
    std::vector<uint8_t> bytes = labelme_image_bytes(doc);
    Image img = decode_image(bytes.data(), bytes.size(), 3, doc.image_path);
    Image got = rasterize_labelme(doc, img.height, img.width);
    Image want =
        read_mask(sample(std::string("labelme_expected/") + id + ".png"), MaskColours::Indices);
    ASSERT_EQ(got.width, want.width);
    ASSERT_EQ(got.height, want.height);
    int diff = 0;
    for (size_t i = 0; i < got.pixels.size(); ++i)
      if (got.pixels[i] != want.pixels[i] && diff++ < 5)
        ADD_FAILURE() << id << ": pixel " << i % got.width << "," << i / got.width << " = "
                      << int(got.pixels[i]) << ", labelme gives " << int(want.pixels[i]);
    EXPECT_EQ(diff, 0) << id;
  }
  LabelMeDoc doc = parse_labelme(sample("labelme/tower_0001.json"));
  Image m = rasterize_labelme(doc, 40, 48);
  EXPECT_EQ(m.at(30, 24), 255);  // the Void square over the lattice tower: ignore, on top
  EXPECT_EQ(m.at(20, 22), 2);    // lattice tower
  EXPECT_EQ(m.at(15, 22), 1);    // the cable, drawn after the tower, over it
  EXPECT_EQ(m.at(30, 39), 4);    // wooden pole (a rectangle)
  EXPECT_EQ(m.at(2, 2), 0);      // background
  int cable = 0;
  for (int y = 0; y < 40; ++y) cable += m.at(y, 47) == 1;
  EXPECT_EQ(cable, 2);  // a 1-2 px thin polygon stays connected to the image's edge
}

TEST(LabelMe, LabelsAreCaseInsensitiveAndVoidIsIgnore) {
  EXPECT_EQ(ttpla_label_index("Cable"), 1);
  EXPECT_EQ(ttpla_label_index(" TOWER_LATTICE "), 2);
  EXPECT_EQ(ttpla_label_index("tower_tucohy"), 3);
  EXPECT_EQ(ttpla_label_index("tower_wooden"), 4);
  EXPECT_EQ(ttpla_label_index("VOID"), 255);
  EXPECT_EQ(ttpla_label_index("insulator"), -1);
}

void write_json(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(LabelMe, BadFilesAreErrorsNamingTheFile) {
  LabelMeDoc bad = parse_labelme(sample("labelme_bad/unknown_label.json"));
  EXPECT_ERROR(rasterize_labelme(bad, 40, 48), "unknown_label.json", "unknown label 'insulator'");
  TempDir dir("labelme_bad");
  const std::string img = sample("labelme/tower_0001.jpg");
  auto doc = [&](const std::string& shapes) {
    return "{\"imagePath\": \"" + img +
           "\", \"imageHeight\": 40, \"imageWidth\": 48, \"shapes\": [" + shapes + "]}";
  };
  write_json(
      dir / "line.json",
      doc("{\"label\": \"cable\", \"points\": [[0,0],[9,9]], \"shape_type\": \"linestrip\"}"));
  EXPECT_ERROR(rasterize_labelme(parse_labelme(dir / "line.json"), 40, 48), "line.json",
               "linestrip");
  write_json(dir / "two.json", doc("{\"label\": \"cable\", \"points\": [[0,0],[9,9]]}"));
  EXPECT_ERROR(rasterize_labelme(parse_labelme(dir / "two.json"), 40, 48), "two.json", "2 points");
  write_json(dir / "pts.json", doc("{\"label\": \"cable\", \"points\": [[0,0],[9],[1,2]]}"));
  EXPECT_ERROR(parse_labelme(dir / "pts.json"), "pts.json", "not [x, y]");
  write_json(dir / "broken.json", "{\"imagePath\": ");
  EXPECT_ERROR(parse_labelme(dir / "broken.json"), "broken.json", "not valid JSON");
  write_json(dir / "nopath.json", "{\"shapes\": []}");
  EXPECT_ERROR(parse_labelme(dir / "nopath.json"), "nopath.json", "imagePath");
  write_json(dir / "noimg.json",
             "{\"imagePath\": \"gone.jpg\", \"imageData\": null, \"shapes\": []}");
  EXPECT_ERROR(labelme_image_bytes(parse_labelme(dir / "noimg.json")), "noimg.json", "gone.jpg",
               "no imageData");
  EXPECT_ERROR(parse_labelme(dir / "missing.json"), "missing.json");
}

TEST(LabelMe, ConvertWritesTheFolderLayout) {
  TempDir out("labelme_out");
  ConvertSummary s = convert_labelme(sample("labelme"), out.str(), ConvertOptions{});
  EXPECT_EQ(s.images, 2);
  EXPECT_EQ(s.split_sizes[0] + s.split_sizes[1] + s.split_sizes[2], 2);
  EXPECT_GT(s.class_pixels[5], 0);  // void pixels counted as ignore
  // The JPEG is copied byte for byte; the embedded PNG is written as it was embedded.
  EXPECT_EQ(read_file_bytes(out / "images/tower_0001.jpg"),
            read_file_bytes(sample("labelme/tower_0001.jpg")));
  EXPECT_TRUE(fs::exists(out / "images/tower_0002.png"));
  for (const char* id : {"tower_0001", "tower_0002"})
    EXPECT_EQ(
        read_mask(out / (std::string("masks/") + id + ".png"), MaskColours::Indices).pixels,
        read_mask(sample(std::string("labelme_expected/") + id + ".png"), MaskColours::Indices)
            .pixels);
  Dataset ds = open_folder(out.str(), "train");  // all train: 10% / 20% of 2 round to 0
  EXPECT_EQ(ds.size(), 2);
  EXPECT_EQ(ds.classes(), ttpla_classes());
  Sample t = ds.load(0);
  EXPECT_EQ(t.label.at(30, 24), 255);

  // Split lists in the input are used as given (file names or ids).
  TempDir in("labelme_in");
  fs::copy(sample("labelme"), in.path(), fs::copy_options::recursive);
  std::ofstream(in / "train.txt") << "tower_0002.jpg\n";
  std::ofstream(in / "test.txt") << "tower_0001\n";
  TempDir out2("labelme_out2");
  s = convert_labelme(in.str(), out2.str(), ConvertOptions{});
  EXPECT_EQ(s.split_sizes, (std::array<int64_t, 3>{1, 0, 1}));
  EXPECT_EQ(open_folder(out2.str(), "test").ref(0).id, "tower_0001");
  std::ofstream(in / "val.txt") << "tower_0009\n";
  EXPECT_ERROR(convert_labelme(in.str(), out2.str(), ConvertOptions{}), "tower_0009",
               "no LabelMe JSON");

  // Seeded random split of a larger set: deterministic, fractions respected.
  TempDir many("labelme_many");
  for (int i = 100; i < 120; ++i) {
    std::string name = std::to_string(i);  // (GCC 12 warns falsely on "t" + std::string)
    name.insert(0, 1, 't');
    fs::copy_file(sample("labelme/tower_0001.json"), many / name.append(".json"));
  }
  fs::copy_file(sample("labelme/tower_0001.jpg"), many / "tower_0001.jpg");
  TempDir o3("labelme_o3"), o4("labelme_o4");
  ConvertOptions co;
  co.seed = 5;
  s = convert_labelme(many.str(), o3.str(), co);
  EXPECT_EQ(s.split_sizes, (std::array<int64_t, 3>{14, 2, 4}));
  convert_labelme(many.str(), o4.str(), co);
  EXPECT_EQ(read_lines(o3 / "splits/test.txt"), read_lines(o4 / "splits/test.txt"));

  // An image whose size disagrees with imageWidth/imageHeight.
  TempDir wrong("labelme_wrong");
  std::ofstream(wrong / "w.json") << "{\"imagePath\": \"" << sample("labelme/tower_0001.jpg")
                                  << "\", \"imageHeight\": 41, \"imageWidth\": 48, \"shapes\": []}";
  EXPECT_ERROR(convert_labelme(wrong.str(), (wrong / "out"), ConvertOptions{}), "w.json", "48x41",
               "48x40");
  EXPECT_ERROR(convert_labelme(sample("labelme_bad"), (out / "bad"), ConvertOptions{}),
               "unknown_label.json", "insulator");
  EXPECT_ERROR(convert_labelme(sample("voc"), (out / "x"), ConvertOptions{}), "no LabelMe .json");
}

}  // namespace
}  // namespace xgd::data
