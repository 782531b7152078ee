// LabelMe annotations (the format of TTPLA): one JSON per image with `imagePath` (relative to
// the JSON; or an embedded base64 `imageData`), `imageHeight`/`imageWidth`, and `shapes[]`
// of {label, points, shape_type}. Shapes are rasterised at the image's resolution in file
// order, later shapes over earlier ones, as labelme's own converter (labelme2voc.py,
// utils.shape_to_mask) does.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/image_io.h"

namespace xgd::data {

// TTPLA's classes: background 0, cable 1, tower_lattice 2, tower_tucohy 3, tower_wooden 4.
const std::vector<std::string>& ttpla_classes();
// Class index of a LabelMe label (trimmed, lower-cased): a TTPLA class, 255 for "void", or -1.
int ttpla_label_index(const std::string& label);

struct LabelMeShape {
  std::string label;       // as written in the file
  std::string shape_type;  // "polygon" (also when absent), "rectangle", "circle", ...
  std::vector<std::array<double, 2>> points;  // (x, y) in pixels
};

struct LabelMeDoc {
  std::string json_path;
  std::string image_path;     // resolved against the JSON's folder
  std::string image_data;     // base64 imageData, "" when null/absent
  int height = 0, width = 0;  // imageHeight / imageWidth
  std::vector<LabelMeShape> shapes;
};

LabelMeDoc parse_labelme(const std::string& json_path);

// The image's bytes: the file at imagePath if it exists, else the embedded imageData.
std::vector<uint8_t> labelme_image_bytes(const LabelMeDoc& doc);

// Rasterises a polygon into an (H, W, 1) map exactly as Pillow's ImageDraw.polygon(xy,
// fill=v, outline=v) does for labelme (with outline == fill, Pillow draws the fill only):
// vertices cast to int, pixel (i, j) is the point (i, j), even-odd scanline fill whose spans
// are rounded outwards to include the boundary (so a polygon one pixel thin, like a distant
// cable, stays connected).
void fill_polygon(Image& mask, const std::vector<std::array<double, 2>>& points, uint8_t value);

// (H, W, 1) class indices (0 background, 255 void) of a document; errors name the JSON file
// (unknown label, unsupported shape type, too few points).
Image rasterize_labelme(const LabelMeDoc& doc, int height, int width);

struct ConvertOptions {
  uint64_t seed = 0;  // for the split when the input has no split lists
  double val_fraction = 0.1;
  double test_fraction = 0.2;
};
struct ConvertSummary {
  int64_t images = 0;
  std::array<int64_t, 3> split_sizes{};  // train, val, test
  std::vector<int64_t> class_pixels;     // per class (index 5 = void/255)
};

// Converts a folder of LabelMe JSONs (+ images) into the folder layout of DESIGN.md §4:
// images copied byte for byte (re-encoded to PNG when neither JPEG nor PNG), masks as grey
// PNGs, classes.txt with ttpla_classes(). Splits: IN/splits/{train,val,test}.txt or
// IN/{train,val,test}.txt when present (ids or file names), else a seeded random split.
ConvertSummary convert_labelme(const std::string& in_dir, const std::string& out_dir,
                               const ConvertOptions& options);

}  // namespace xgd::data
