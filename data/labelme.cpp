#include "data/labelme.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/loader.h"
#include "engine/error.h"

namespace xgd::data {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::string>& ttpla_classes() {
  static const std::vector<std::string> names = {"background", "cable", "tower_lattice",
                                                 "tower_tucohy", "tower_wooden"};
  return names;
}

namespace {

std::string normalise_label(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n");
  std::string out = s.substr(b, e - b + 1);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::vector<uint8_t> base64_decode(const std::string& in, const std::string& name) {
  static const auto table = [] {
    std::array<int8_t, 256> t;
    t.fill(-1);
    const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(a[i])] = static_cast<int8_t>(i);
    return t;
  }();
  std::vector<uint8_t> out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : in) {
    if (ch == '=') break;
    if (ch == '\n' || ch == '\r' || ch == ' ') continue;
    int v = table[static_cast<uint8_t>(ch)];
    XGD_CHECK(v >= 0, name, ": imageData is not valid base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

// Pillow's polygon engine (libImaging/Draw.c: add_edge, polygon_generic), reproduced so the
// masks match labelme's (labelme.utils.shape_to_mask draws with PIL) pixel for pixel.
struct PilEdge {
  int x0, y0, xmin, ymin, xmax, ymax;
  float dx;
};

PilEdge pil_edge(int x0, int y0, int x1, int y1) {
  PilEdge e;
  e.xmin = std::min(x0, x1), e.xmax = std::max(x0, x1);
  e.ymin = std::min(y0, y1), e.ymax = std::max(y0, y1);
  e.dx = y0 == y1 ? 0.f : static_cast<float>(x1 - x0) / static_cast<float>(y1 - y0);
  e.x0 = x0, e.y0 = y0;
  return e;
}

// Pillow's ROUND_UP / ROUND_DOWN: to nearest, halves away from / towards zero.
inline int pil_round_up(float f) {
  return static_cast<int>(f >= 0 ? std::floor(static_cast<double>(f + 0.5f))
                                 : -std::floor(static_cast<double>(std::fabs(f) + 0.5f)));
}
inline int pil_round_down(float f) {
  return static_cast<int>(f >= 0 ? std::ceil(static_cast<double>(f - 0.5f))
                                 : -std::ceil(static_cast<double>(std::fabs(f) - 0.5f)));
}

void pil_hline(Image& m, int x0, int y, int x1, uint8_t v) {
  if (y < 0 || y >= m.height) return;
  x0 = std::max(x0, 0), x1 = std::min(x1, m.width - 1);
  for (int x = x0; x <= x1; ++x) m.at(y, x) = v;
}

inline float edge_x(const PilEdge& e, int y) {
  return static_cast<float>(y - e.y0) * e.dx + static_cast<float>(e.x0);
}

void pil_polygon_fill(Image& m, const std::vector<std::array<int, 2>>& xy, uint8_t v) {
  const int count = static_cast<int>(xy.size());
  std::vector<PilEdge> e;
  int i = 0;
  for (; i < count - 1; ++i) {
    int x0 = xy[i][0], y0 = xy[i][1], x1 = xy[i + 1][0], y1 = xy[i + 1][1];
    if (y0 == y1 && i != 0 && y0 == xy[i - 1][1]) {  // merge consecutive horizontal edges
      PilEdge& last = e.back();
      if (x1 > x0 && x0 > xy[i - 1][0]) {
        last.xmax = x1;
        continue;
      } else if (x1 < x0 && x0 < xy[i - 1][0]) {
        last.xmin = x1;
        continue;
      }
    }
    e.push_back(pil_edge(x0, y0, x1, y1));
  }
  if (xy[i][0] != xy[0][0] || xy[i][1] != xy[0][1])
    e.push_back(pil_edge(xy[i][0], xy[i][1], xy[0][0], xy[0][1]));

  int ymin = m.height - 1, ymax = 0;
  std::vector<const PilEdge*> table;
  for (const PilEdge& ed : e) {
    ymin = std::min(ymin, ed.ymin), ymax = std::max(ymax, ed.ymax);
    if (ed.ymin == ed.ymax) {
      pil_hline(m, ed.xmin, ed.ymin, ed.xmax, v);
      continue;
    }
    table.push_back(&ed);
  }
  ymin = std::max(ymin, 0), ymax = std::min(ymax, m.height);
  std::vector<float> xx(table.size() * 2);
  for (int y = ymin; y <= ymax; ++y) {
    size_t j = 0;
    for (size_t a = 0; a < table.size(); ++a) {
      const PilEdge& cur = *table[a];
      if (y < cur.ymin || y > cur.ymax) continue;
      xx[j++] = edge_x(cur, y);
      if (y == cur.ymax && y < ymax) {
        xx[j] = xx[j - 1];  // "needed to draw consistent polygons"
        ++j;
      } else if ((y == cur.ymin || y == cur.ymax) && cur.dx != 0) {
        for (size_t k = 0; k < a; ++k) {  // "connect discontiguous corners"
          const PilEdge& other = *table[k];
          if ((y != other.ymin && y != other.ymax) || other.dx == 0) continue;
          if (std::round(xx[j - 1]) != std::round(edge_x(other, y))) continue;
          const int offset = y == cur.ymax ? -1 : 1;
          const float adj = edge_x(cur, y + offset);
          if (y + offset >= other.ymin && y + offset <= other.ymax) {
            const float adj_other = edge_x(other, y + offset);
            if (xx[j - 1] > adj + 1 && xx[j - 1] > adj_other + 1)
              xx[j - 1] = std::round(std::fmax(adj, adj_other)) + 1;
            else if (xx[j - 1] < adj - 1 && xx[j - 1] < adj_other - 1)
              xx[j - 1] = std::round(std::fmin(adj, adj_other)) - 1;
            break;
          }
        }
      }
    }
    std::sort(xx.begin(), xx.begin() + j);
    for (size_t k = 1; k < j; k += 2)
      pil_hline(m, pil_round_up(xx[k - 1]), y, pil_round_down(xx[k]), v);
  }
}

// Pillow converts coordinates with a C cast (towards zero); keep them in int range first.
inline int pil_coord(double c) {
  XGD_CHECK(std::isfinite(c) && std::abs(c) < 1e7, "fill_polygon: bad coordinate ", c);
  return static_cast<int>(c);
}

}  // namespace

int ttpla_label_index(const std::string& label) {
  std::string l = normalise_label(label);
  if (l == "void") return kIgnoreLabel;
  const auto& names = ttpla_classes();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == l) return static_cast<int>(i);
  return -1;
}

void fill_polygon(Image& mask, const std::vector<std::array<double, 2>>& points, uint8_t value) {
  XGD_CHECK(mask.channels == 1, "fill_polygon: expected a 1-channel map");
  if (points.empty()) return;
  std::vector<std::array<int, 2>> xy(points.size());
  for (size_t i = 0; i < points.size(); ++i)
    xy[i] = {pil_coord(points[i][0]), pil_coord(points[i][1])};
  pil_polygon_fill(mask, xy, value);
}

LabelMeDoc parse_labelme(const std::string& json_path) {
  std::ifstream in(json_path);
  XGD_CHECK(in, json_path, ": cannot open LabelMe file");
  json j;
  try {
    in >> j;
  } catch (const json::exception& e) {
    XGD_FAIL(json_path, ": not valid JSON (", e.what(), ")");
  }
  LabelMeDoc d;
  d.json_path = json_path;
  try {
    XGD_CHECK(j.is_object(), json_path, ": expected a JSON object");
    XGD_CHECK(j.contains("imagePath") && j["imagePath"].is_string(), json_path,
              ": missing string field 'imagePath'");
    std::string rel = j["imagePath"].get<std::string>();
    std::replace(rel.begin(), rel.end(), '\\', '/');  // annotated on Windows
    d.image_path = (fs::path(json_path).parent_path() / rel).lexically_normal().string();
    if (j.contains("imageData") && j["imageData"].is_string())
      d.image_data = j["imageData"].get<std::string>();
    if (j.contains("imageHeight") && j["imageHeight"].is_number_integer())
      d.height = j["imageHeight"].get<int>();
    if (j.contains("imageWidth") && j["imageWidth"].is_number_integer())
      d.width = j["imageWidth"].get<int>();
    XGD_CHECK(j.contains("shapes") && j["shapes"].is_array(), json_path,
              ": missing array field 'shapes'");
    int k = 0;
    for (const auto& s : j["shapes"]) {
      LabelMeShape shape;
      XGD_CHECK(s.is_object() && s.contains("label") && s["label"].is_string(), json_path,
                ": shape ", k, " has no string 'label'");
      shape.label = s["label"].get<std::string>();
      shape.shape_type = "polygon";  // labelme < 3 wrote no shape_type
      if (s.contains("shape_type") && s["shape_type"].is_string())
        shape.shape_type = s["shape_type"].get<std::string>();
      XGD_CHECK(s.contains("points") && s["points"].is_array(), json_path, ": shape ", k, " ('",
                shape.label, "') has no 'points' array");
      for (const auto& pt : s["points"]) {
        XGD_CHECK(pt.is_array() && pt.size() == 2 && pt[0].is_number() && pt[1].is_number(),
                  json_path, ": shape ", k, " ('", shape.label,
                  "') has a point that is not [x, y]");
        shape.points.push_back({pt[0].get<double>(), pt[1].get<double>()});
      }
      d.shapes.push_back(std::move(shape));
      ++k;
    }
  } catch (const json::exception& e) {
    XGD_FAIL(json_path, ": malformed LabelMe file (", e.what(), ")");
  }
  return d;
}

std::vector<uint8_t> labelme_image_bytes(const LabelMeDoc& doc) {
  std::error_code ec;
  if (fs::is_regular_file(doc.image_path, ec)) return read_file_bytes(doc.image_path);
  XGD_CHECK(!doc.image_data.empty(), doc.json_path, ": image ", doc.image_path,
            " does not exist and the file embeds no imageData");
  return base64_decode(doc.image_data, doc.json_path);
}

Image rasterize_labelme(const LabelMeDoc& doc, int height, int width) {
  XGD_CHECK(height > 0 && width > 0, doc.json_path, ": bad image size ", width, "x", height);
  Image mask(height, width, 1, 0);
  int k = 0;
  for (const auto& s : doc.shapes) {
    int cls = ttpla_label_index(s.label);
    if (cls < 0) {
      std::string known;
      for (const auto& c : ttpla_classes()) known += c + ", ";
      XGD_FAIL(doc.json_path, ": shape ", k, " has unknown label '", s.label, "' (known: ", known,
               "void)");
    }
    const uint8_t v = static_cast<uint8_t>(cls);
    if (s.shape_type == "polygon") {
      XGD_CHECK(s.points.size() >= 3, doc.json_path, ": polygon ", k, " ('", s.label, "') has ",
                s.points.size(), " points (at least 3 needed)");
      fill_polygon(mask, s.points, v);
    } else if (s.shape_type == "rectangle") {
      XGD_CHECK(s.points.size() == 2, doc.json_path, ": rectangle ", k, " ('", s.label,
                "') needs 2 points, has ", s.points.size());
      // PIL's draw.rectangle(fill): rows y0..y1 and columns x0..x1, both inclusive.
      int x0 = pil_coord(s.points[0][0]), y0 = pil_coord(s.points[0][1]);
      int x1 = pil_coord(s.points[1][0]), y1 = pil_coord(s.points[1][1]);
      if (x0 > x1) std::swap(x0, x1);
      if (y0 > y1) std::swap(y0, y1);
      for (int y = std::max(y0, 0); y <= std::min(y1, height - 1); ++y)
        pil_hline(mask, x0, y, x1, v);
    } else if (s.shape_type == "circle") {
      XGD_CHECK(s.points.size() == 2, doc.json_path, ": circle ", k, " ('", s.label,
                "') needs 2 points, has ", s.points.size());
      // labelme: draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=1, outline=1). Approximated:
      // the pixels within r of the centre (PIL's ellipse may differ on boundary pixels).
      double cx = s.points[0][0], cy = s.points[0][1];
      double r = std::hypot(s.points[1][0] - cx, s.points[1][1] - cy);
      int y0 = std::max(0, static_cast<int>(std::floor(cy - r)));
      int y1 = std::min(height - 1, static_cast<int>(std::ceil(cy + r)));
      int x0 = std::max(0, static_cast<int>(std::floor(cx - r)));
      int x1 = std::min(width - 1, static_cast<int>(std::ceil(cx + r)));
      for (int y = y0; y <= y1; ++y)
        for (int x = x0; x <= x1; ++x)
          if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) mask.at(y, x) = v;
    } else {
      // line / linestrip / point enclose no area; labelme paints them with a 10-pixel brush,
      // which would turn a 1-pixel cable into a 10-pixel band, so they are refused.
      XGD_FAIL(doc.json_path, ": shape ", k, " ('", s.label, "') has shape_type '", s.shape_type,
               "' (supported: polygon, rectangle, circle)");
    }
    ++k;
  }
  return mask;
}

namespace {

// Split lists in the input: ids or file names (extension dropped).
bool read_input_split(const fs::path& in, const std::string& name, std::vector<std::string>& ids) {
  std::error_code ec;
  for (fs::path p : {in / "splits" / (name + ".txt"), in / (name + ".txt")}) {
    if (!fs::is_regular_file(p, ec)) continue;
    for (const std::string& line : read_lines(p.string()))
      ids.push_back(fs::path(line).filename().replace_extension().string());
    return true;
  }
  return false;
}

}  // namespace

ConvertSummary convert_labelme(const std::string& in_dir, const std::string& out_dir,
                               const ConvertOptions& o) {
  std::error_code ec;
  XGD_CHECK(fs::is_directory(in_dir, ec), in_dir, ": no such folder");
  XGD_CHECK(o.val_fraction >= 0 && o.test_fraction >= 0 && o.val_fraction + o.test_fraction < 1,
            "convert-labelme: bad split fractions val ", o.val_fraction, " test ", o.test_fraction);
  std::vector<fs::path> jsons;
  for (const auto& e : fs::directory_iterator(in_dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".json") jsons.push_back(e.path());
  std::sort(jsons.begin(), jsons.end());
  XGD_CHECK(!jsons.empty(), in_dir, ": no LabelMe .json files");

  fs::path out(out_dir);
  for (const char* sub : {"images", "masks", "splits"}) fs::create_directories(out / sub, ec);
  XGD_CHECK(fs::is_directory(out / "masks", ec), out_dir, ": cannot create the output folders");

  ConvertSummary sum;
  sum.class_pixels.assign(ttpla_classes().size() + 1, 0);
  std::vector<std::string> ids;
  for (const fs::path& jp : jsons) {
    LabelMeDoc doc = parse_labelme(jp.string());
    std::vector<uint8_t> bytes = labelme_image_bytes(doc);
    Image img = decode_image(bytes.data(), bytes.size(), 3, doc.image_path);
    XGD_CHECK(
        (doc.height == 0 || doc.height == img.height) && (doc.width == 0 || doc.width == img.width),
        jp.string(), ": imageWidth x imageHeight ", doc.width, "x", doc.height,
        " but the image is ", img.width, "x", img.height);
    Image mask = rasterize_labelme(doc, img.height, img.width);
    const std::string id = jp.stem().string();
    const bool jpeg = bytes.size() > 3 && bytes[0] == 0xFF && bytes[1] == 0xD8;
    const bool png = bytes.size() > 8 && bytes[0] == 0x89 && bytes[1] == 'P';
    if (jpeg || png) {
      write_file_bytes((out / "images" / (id + (jpeg ? ".jpg" : ".png"))).string(), bytes);
    } else {
      write_png((out / "images" / (id + ".png")).string(), img);
    }
    write_png((out / "masks" / (id + ".png")).string(), mask);
    for (uint8_t v : mask.pixels)
      ++sum.class_pixels[v == kIgnoreLabel ? ttpla_classes().size() : v];
    ids.push_back(id);
  }
  sum.images = static_cast<int64_t>(ids.size());

  std::array<std::vector<std::string>, 3> splits;
  const char* names[3] = {"train", "val", "test"};
  bool given = false;
  for (int s = 0; s < 3; ++s) given |= read_input_split(fs::path(in_dir), names[s], splits[s]);
  if (given) {
    for (auto& list : splits)
      for (const auto& id : list)
        XGD_CHECK(std::find(ids.begin(), ids.end(), id) != ids.end(), in_dir,
                  ": split lists name '", id, "' which has no LabelMe JSON");
  } else {
    // Seeded split: a permutation of the sorted ids, test first, then val, the rest train.
    std::vector<int64_t> perm = epoch_permutation(sum.images, o.seed, 0);
    int64_t n_test = std::llround(o.test_fraction * sum.images);
    int64_t n_val = std::llround(o.val_fraction * sum.images);
    for (int64_t i = 0; i < sum.images; ++i) {
      int s = i < n_test ? 2 : i < n_test + n_val ? 1 : 0;
      splits[s].push_back(ids[perm[i]]);
    }
    for (auto& list : splits) std::sort(list.begin(), list.end());
  }
  for (int s = 0; s < 3; ++s) {
    std::ofstream f(out / "splits" / (std::string(names[s]) + ".txt"));
    for (const auto& id : splits[s]) f << id << "\n";
    XGD_CHECK(f, (out / "splits").string(), ": cannot write ", names[s], ".txt");
    sum.split_sizes[s] = static_cast<int64_t>(splits[s].size());
  }
  std::ofstream cf(out / "classes.txt");
  for (const auto& c : ttpla_classes()) cf << c << "\n";
  XGD_CHECK(cf, (out / "classes.txt").string(), ": cannot write");
  return sum;
}

}  // namespace xgd::data
