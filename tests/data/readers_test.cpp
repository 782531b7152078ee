#include <gtest/gtest.h>

#include <fstream>

#include "data/dataset.h"
#include "tests/data/test_util.h"

namespace xgd::data {
namespace {

using test::sample;
using test::TempDir;
namespace fs = std::filesystem;

const std::map<std::string, std::vector<test::VocRect>> kVoc = {
    {"2007_000032", {{1, 5, 4, 20, 14}, {15, 24, 10, 36, 26}}},
    {"2007_000033", {{7, 2, 15, 30, 28}, {20, 32, 2, 38, 8}}},
};

TEST(VocReader, ReadsPaletteMasksExactlyWithBoundaryIgnore) {
  Dataset ds = open_voc(sample("voc"), "trainval");
  ASSERT_EQ(ds.size(), 2);
  EXPECT_EQ(ds.num_classes(), 21);
  EXPECT_EQ(ds.classes()[15], "person");
  for (int64_t i = 0; i < ds.size(); ++i) {
    Sample s = ds.load(i);
    const auto& rects = kVoc.at(s.id);
    EXPECT_EQ(s.image.channels, 3);
    ASSERT_EQ(s.image.width, s.label.width);
    ASSERT_EQ(s.image.height, s.label.height);
    int ignore = 0, bad = 0;
    for (int y = 0; y < s.label.height; ++y)
      for (int x = 0; x < s.label.width; ++x) {
        int want = test::voc_formula(rects, x, y);
        ignore += want == 255;
        if (s.label.at(y, x) != want && bad++ < 5)
          ADD_FAILURE() << s.id << " (x=" << x << ", y=" << y << "): " << int(s.label.at(y, x))
                        << " != " << want;
      }
    EXPECT_EQ(bad, 0);
    EXPECT_GT(ignore, 40) << "the boundary rings (255) must be kept, not mapped to a class";
  }
  EXPECT_EQ(open_voc(sample("voc"), "train").ref(0).id, "2007_000032");
  EXPECT_EQ(open_voc(sample("voc"), "val").ref(0).id, "2007_000033");
  // Detection by layout, and the VOCdevkit/VOC2012 nesting of the official archive.
  EXPECT_EQ(open_dataset(sample("voc"), "train").num_classes(), 21);
  TempDir dir("voc");
  fs::create_directories(dir.path() / "VOCdevkit");
  fs::copy(sample("voc"), dir.path() / "VOCdevkit" / "VOC2012", fs::copy_options::recursive);
  EXPECT_EQ(open_dataset(dir.str(), "val").size(), 1);
}

TEST(VocReader, MissingSplitListsTheAvailableOnes) {
  EXPECT_ERROR(open_voc(sample("voc"), "test"), "test.txt", "available: train, trainval, val");
  EXPECT_ERROR(open_voc(sample("folder"), "train"), "not a Pascal VOC layout");
}

TEST(FolderReader, ReadsIndexMasksAndBothImageFormats) {
  Dataset ds = open_folder(sample("folder"), "train");
  ASSERT_EQ(ds.size(), 2);
  EXPECT_EQ(ds.classes(), (std::vector<std::string>{"background", "cable", "tower"}));
  for (int64_t i = 0; i < 2; ++i) {
    Sample s = ds.load(i);
    EXPECT_EQ(s.image.width, s.id == "a" ? 12 : 10);
    for (int y = 0; y < s.label.height; ++y)
      for (int x = 0; x < s.label.width; ++x)
        ASSERT_EQ(s.label.at(y, x), test::folder_formula(s.id, x, y))
            << s.id << " " << x << "," << y;
  }
  EXPECT_EQ(ds.ref(1).image_path, sample("folder") + "/images/b.jpg");
  Dataset val = open_dataset(sample("folder"), "val");  // CRLF and blank lines tolerated
  ASSERT_EQ(val.size(), 1);
  EXPECT_EQ(val.ref(0).id, "b");
  EXPECT_EQ(val.load(0).label.at(5, 9), 255);  // ignore kept
}

// A copy of data/samples/folder to break in one way.
struct BrokenFolder {
  TempDir dir{"folder"};
  BrokenFolder() { fs::copy(sample("folder"), dir.path(), fs::copy_options::recursive); }
  std::string str() const { return dir.str(); }
  std::string operator/(const std::string& rel) const { return dir / rel; }
};

TEST(FolderReader, MaskOfTheWrongSizeNamesBothFiles) {
  BrokenFolder d;
  fs::copy_file(sample("bad/mask_wrong_size.png"), d / "masks/a.png",
                fs::copy_options::overwrite_existing);
  Dataset ds = open_folder(d.str(), "train");
  EXPECT_ERROR(ds.load(0), "images/a.png", "is 12x8", "masks/a.png", "is 10x7");
}

TEST(FolderReader, ClassIndexOutOfRangeNamesFilePixelAndValue) {
  BrokenFolder d;
  fs::copy_file(sample("bad/class_out_of_range.png"), d / "masks/a.png",
                fs::copy_options::overwrite_existing);
  EXPECT_ERROR(open_folder(d.str(), "train").load(0), "masks/a.png", "pixel (x=3, y=2)",
               "class index 7", "3 classes");
}

TEST(FolderReader, CorruptOrMissingFilesAreErrorsNamingThem) {
  {
    BrokenFolder d;
    fs::copy_file(sample("png/corrupt_truncated.png"), d / "images/a.png",
                  fs::copy_options::overwrite_existing);
    EXPECT_ERROR(open_folder(d.str(), "train").load(0), "images/a.png", "cannot decode");
  }
  {
    BrokenFolder d;
    fs::copy_file(sample("png/not_an_image.png"), d / "masks/b.png",
                  fs::copy_options::overwrite_existing);
    EXPECT_ERROR(open_folder(d.str(), "train").load(1), "masks/b.png");
  }
  {
    BrokenFolder d;
    fs::remove(d / "masks/b.png");
    EXPECT_ERROR(open_folder(d.str(), "train"), "masks/b.png", "no such file", "sample 'b'");
  }
  {
    BrokenFolder d;
    fs::remove(d / "images/a.png");
    EXPECT_ERROR(open_folder(d.str(), "train"), "images/a", "no such file", "sample 'a'");
  }
  {
    BrokenFolder d;
    fs::remove(d / "classes.txt");
    EXPECT_ERROR(open_folder(d.str(), "train"), "classes.txt", "no such file");
  }
  {
    BrokenFolder d;
    std::ofstream(d / "splits/empty.txt") << "\n  \n";
    EXPECT_ERROR(open_folder(d.str(), "empty"), "empty.txt", "empty list");
    std::ofstream(d / "splits/evil.txt") << "../../etc/passwd\n";
    EXPECT_ERROR(open_folder(d.str(), "evil"), "evil.txt", "bad sample id");
    EXPECT_ERROR(open_folder(d.str(), "nope"), "nope.txt", "available: empty, evil, train, val");
  }
  EXPECT_ERROR(open_folder(sample("png"), "train"), "not a dataset folder");
  EXPECT_ERROR(open_dataset(sample("no_such_dir"), "train"), "no_such_dir",
               "no such dataset folder");
  EXPECT_ERROR(open_folder(sample("folder"), "train").load(2), "sample 2 out of range");
}

TEST(FolderReader, ValidateLabel) {
  Image m(2, 3, 1, 0);
  m.at(1, 2) = 255;
  validate_label(m, 1, "m.png");  // 0 and 255 are fine with one class
  m.at(0, 1) = 1;
  EXPECT_ERROR(validate_label(m, 1, "m.png"), "m.png", "pixel (x=1, y=0)", "class index 1");
}

}  // namespace
}  // namespace xgd::data
