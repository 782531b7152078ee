#include "data/dataset.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "engine/error.h"

namespace xgd::data {

namespace fs = std::filesystem;

Dataset::Dataset(std::string root, std::string split, std::vector<std::string> classes,
                 std::vector<SampleRef> refs, MaskColours colours)
    : root_(std::move(root)),
      split_(std::move(split)),
      classes_(std::move(classes)),
      refs_(std::move(refs)),
      colours_(colours) {
  XGD_CHECK(!classes_.empty() && classes_.size() <= 255, "dataset ", root_, ": ", classes_.size(),
            " classes (expected 1..255; 255 is the ignore index)");
}

const SampleRef& Dataset::ref(int64_t i) const {
  XGD_CHECK(i >= 0 && i < size(), "dataset ", root_, " (", split_, "): sample ", i,
            " out of range [0, ", size(), ")");
  return refs_[static_cast<size_t>(i)];
}

void validate_label(const Image& label, int num_classes, const std::string& name) {
  XGD_CHECK(label.channels == 1, name, ": label map has ", label.channels, " channels");
  for (int y = 0; y < label.height; ++y) {
    const uint8_t* r = label.row(y);
    for (int x = 0; x < label.width; ++x)
      XGD_CHECK(r[x] < num_classes || r[x] == kIgnoreLabel, name, ": pixel (x=", x, ", y=", y,
                ") has class index ", int(r[x]), " but the dataset has ", num_classes,
                " classes (valid: 0..", num_classes - 1, " or 255 = ignore)");
  }
}

Sample Dataset::load(int64_t i) const {
  const SampleRef& r = ref(i);
  Sample s;
  s.id = r.id;
  s.image = read_image(r.image_path, 3);
  s.label = read_mask(r.mask_path, colours_);
  XGD_CHECK(s.image.height == s.label.height && s.image.width == s.label.width, "sample '", r.id,
            "': image ", r.image_path, " is ", s.image.width, "x", s.image.height, " but mask ",
            r.mask_path, " is ", s.label.width, "x", s.label.height, " (width x height)");
  validate_label(s.label, num_classes(), r.mask_path);
  return s;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::error_code ec;
  XGD_CHECK(fs::is_regular_file(path, ec), path, ": no such file");
  std::ifstream in(path);
  XGD_CHECK(in, path, ": cannot open for reading");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    auto b = line.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) continue;
    auto e = line.find_last_not_of(" \t\r\n");
    lines.push_back(line.substr(b, e - b + 1));
  }
  XGD_CHECK(!lines.empty(), path, ": empty list");
  return lines;
}

const std::vector<std::string>& voc_classes() {
  static const std::vector<std::string> names = {
      "background", "aeroplane", "bicycle",     "bird",  "boat",        "bottle", "bus",
      "car",        "cat",       "chair",       "cow",   "diningtable", "dog",    "horse",
      "motorbike",  "person",    "pottedplant", "sheep", "sofa",        "train",  "tvmonitor"};
  return names;
}

namespace {

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// Names of the *.txt files in a folder (the splits a layout offers), for error messages.
std::string list_splits(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".txt") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "none" : s;
}

void check_id(const std::string& id, const std::string& list) {
  XGD_CHECK(id.find('/') == std::string::npos && id.find('\\') == std::string::npos && id != "." &&
                id != "..",
            list, ": bad sample id '", id, "' (ids are file names without extension)");
}

}  // namespace

std::string find_voc_root(const std::string& dir) {
  for (fs::path p :
       {fs::path(dir), fs::path(dir) / "VOC2012", fs::path(dir) / "VOCdevkit" / "VOC2012"})
    if (is_dir(p / "JPEGImages") && is_dir(p / "SegmentationClass") &&
        is_dir(p / "ImageSets" / "Segmentation"))
      return p.string();
  return "";
}

Dataset open_voc(const std::string& dir, const std::string& split) {
  std::string root = find_voc_root(dir);
  XGD_CHECK(!root.empty(), dir, ": not a Pascal VOC layout (expected JPEGImages/, ",
            "SegmentationClass/ and ImageSets/Segmentation/)");
  fs::path sets = fs::path(root) / "ImageSets" / "Segmentation";
  fs::path list = sets / (split + ".txt");
  std::error_code ec;
  XGD_CHECK(fs::is_regular_file(list, ec), list.string(),
            ": no such split file (available: ", list_splits(sets), ")");
  std::vector<SampleRef> refs;
  for (const std::string& id : read_lines(list.string())) {
    check_id(id, list.string());
    SampleRef r{id, (fs::path(root) / "JPEGImages" / (id + ".jpg")).string(),
                (fs::path(root) / "SegmentationClass" / (id + ".png")).string()};
    XGD_CHECK(fs::is_regular_file(r.image_path, ec), r.image_path, ": no such file (sample '", id,
              "' of ", list.string(), ")");
    XGD_CHECK(fs::is_regular_file(r.mask_path, ec), r.mask_path, ": no such file (sample '", id,
              "' of ", list.string(), ")");
    refs.push_back(std::move(r));
  }
  return Dataset(root, split, voc_classes(), std::move(refs), MaskColours::VocColormap);
}

Dataset open_folder(const std::string& dir, const std::string& split) {
  fs::path root(dir);
  XGD_CHECK(is_dir(root), dir, ": no such dataset folder");
  XGD_CHECK(is_dir(root / "images") && is_dir(root / "masks") && is_dir(root / "splits"), dir,
            ": not a dataset folder (expected images/, masks/, splits/ and classes.txt, or a ",
            "Pascal VOC layout)");
  std::vector<std::string> classes = read_lines((root / "classes.txt").string());
  XGD_CHECK(classes.size() <= 255, (root / "classes.txt").string(), ": ", classes.size(),
            " classes; at most 255 (255 is the ignore index)");
  fs::path list = root / "splits" / (split + ".txt");
  std::error_code ec;
  XGD_CHECK(fs::is_regular_file(list, ec), list.string(),
            ": no such split file (available: ", list_splits(root / "splits"), ")");
  std::vector<SampleRef> refs;
  for (const std::string& id : read_lines(list.string())) {
    check_id(id, list.string());
    SampleRef r;
    r.id = id;
    std::string tried;
    for (const char* ext : {".jpg", ".png", ".jpeg", ".JPG", ".PNG", ".JPEG"}) {
      fs::path p = root / "images" / (id + ext);
      if (fs::is_regular_file(p, ec)) {
        r.image_path = p.string();
        break;
      }
    }
    XGD_CHECK(!r.image_path.empty(), (root / "images" / id).string(),
              ".jpg|.png|.jpeg: no such file (sample '", id, "' of ", list.string(), ")");
    r.mask_path = (root / "masks" / (id + ".png")).string();
    XGD_CHECK(fs::is_regular_file(r.mask_path, ec), r.mask_path, ": no such file (sample '", id,
              "' of ", list.string(), ")");
    refs.push_back(std::move(r));
  }
  return Dataset(root.string(), split, std::move(classes), std::move(refs), MaskColours::Indices);
}

Dataset open_dataset(const std::string& dir, const std::string& split) {
  if (!find_voc_root(dir).empty()) return open_voc(dir, split);
  return open_folder(dir, split);
}

}  // namespace xgd::data
