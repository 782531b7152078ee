// Segmentation datasets on disk (DESIGN.md §4):
//   folder layout: DIR/images/<id>.jpg|jpeg|png, DIR/masks/<id>.png (8-bit class indices,
//                  255 = ignore), DIR/splits/<split>.txt (ids), DIR/classes.txt (a name a line);
//   Pascal VOC 2012: JPEGImages/<id>.jpg, SegmentationClass/<id>.png (palette PNGs, 255 =
//                  boundary = ignore), ImageSets/Segmentation/{train,val,trainval}.txt.
// Opening checks the layout and that every listed file exists; load() decodes one sample and
// validates it. Every problem is an xgd::Error naming the file (and pixel/value).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/image_io.h"

namespace xgd::data {

struct SampleRef {
  std::string id;
  std::string image_path;
  std::string mask_path;
};

struct Sample {
  std::string id;
  Image image;  // (H, W, 3) RGB
  Image label;  // (H, W, 1) class indices < num_classes, or 255 = ignore
};

class Dataset {
 public:
  Dataset() = default;
  Dataset(std::string root, std::string split, std::vector<std::string> classes,
          std::vector<SampleRef> refs, MaskColours colours);

  int64_t size() const { return static_cast<int64_t>(refs_.size()); }
  int num_classes() const { return static_cast<int>(classes_.size()); }
  const std::vector<std::string>& classes() const { return classes_; }
  const SampleRef& ref(int64_t i) const;
  const std::string& root() const { return root_; }
  const std::string& split() const { return split_; }

  // Decodes sample i: image as RGB, label as class indices. Thread-safe (no shared state).
  // Errors: missing/corrupt files, image and mask of different sizes, label values
  // >= num_classes other than 255.
  Sample load(int64_t i) const;

 private:
  std::string root_, split_;
  std::vector<std::string> classes_;
  std::vector<SampleRef> refs_;
  MaskColours colours_ = MaskColours::Indices;
};

// Checks a decoded label map against the class count: every value < num_classes or 255.
void validate_label(const Image& label, int num_classes, const std::string& name);

// The 21 Pascal VOC classes, background first.
const std::vector<std::string>& voc_classes();

// Pascal VOC 2012 is recognised at DIR, DIR/VOC2012 or DIR/VOCdevkit/VOC2012; returns the
// folder that holds JPEGImages/, or "" when DIR is not a VOC layout.
std::string find_voc_root(const std::string& dir);

Dataset open_voc(const std::string& dir, const std::string& split);
Dataset open_folder(const std::string& dir, const std::string& split);
// Detects the layout (VOC, else the folder layout) and opens `split`.
Dataset open_dataset(const std::string& dir, const std::string& split);

// Reads a list file: one entry a line, surrounding whitespace and '\r' trimmed, blank lines
// skipped. An empty or missing file is an error naming it.
std::vector<std::string> read_lines(const std::string& path);

}  // namespace xgd::data
