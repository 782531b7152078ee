// Image and label-map files: decoding with stb_image, PNG/JPEG writing with stb_image_write
// (the one place in the project that compiles stb's implementation), exact palette-index
// decoding of indexed PNGs, and the Pascal VOC colormap. Every failure is an xgd::Error that
// names the file.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace xgd::data {

// 8-bit pixels, interleaved: (H, W, C). Labels are (H, W, 1) class indices, 255 = ignore.
struct Image {
  int height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;  // (H, W, C)

  Image() = default;
  Image(int h, int w, int c, uint8_t fill = 0)
      : height(h), width(w), channels(c), pixels(static_cast<size_t>(h) * w * c, fill) {}
  uint8_t* row(int y) { return pixels.data() + static_cast<size_t>(y) * width * channels; }
  const uint8_t* row(int y) const {
    return pixels.data() + static_cast<size_t>(y) * width * channels;
  }
  uint8_t& at(int y, int x, int c = 0) { return row(y)[x * channels + c]; }
  uint8_t at(int y, int x, int c = 0) const { return row(y)[x * channels + c]; }
  bool empty() const { return pixels.empty(); }
};

constexpr uint8_t kIgnoreLabel = 255;

std::vector<uint8_t> read_file_bytes(const std::string& path);  // error names the file
void write_file_bytes(const std::string& path, const std::vector<uint8_t>& bytes);

// Decodes a JPEG/PNG/BMP/... file. channels: 3 converts to RGB (grey is replicated, alpha
// dropped), 1 to grey, 0 keeps the file's channels. 16-bit files are an error (masks must be
// 8-bit; images would lose precision silently).
Image read_image(const std::string& path, int channels = 3);
Image decode_image(const uint8_t* bytes, size_t size, int channels, const std::string& name);

void write_png(const std::string& path, const Image& image);  // 1, 3 or 4 channels
void write_jpg(const std::string& path, const Image& image, int quality = 92);
void write_image(const std::string& path, const Image& image);  // by extension: .png, .jpg/.jpeg

// How an RGB (non-indexed) mask is interpreted.
enum class MaskColours {
  Indices,      // folder layout: grey values are class indices; an RGB mask must be grey (R=G=B)
  VocColormap,  // Pascal VOC: RGB colours map back through voc_colormap(); unknown is an error
};
// Reads a label map as (H, W, 1) class indices. Indexed (palette) PNGs give their palette
// indices exactly, whatever the palette's colours (what PIL's Image.open gives for VOC's
// SegmentationClass); grey PNGs their values; RGB(A) files per `colours`.
Image read_mask(const std::string& path, MaskColours colours);

// Exact indices of an indexed PNG (colour type 3, bit depth 1/2/4/8). Returns false (and
// leaves `out` empty) when the bytes are a PNG of another colour type. Adam7-interlaced
// files are decoded through stb_image and mapped back through the file's own palette.
bool decode_palette_png(const uint8_t* bytes, size_t size, const std::string& name, Image& out,
                        std::vector<std::array<uint8_t, 3>>* palette = nullptr);

// Pascal VOC's colormap (VOCdevkit's labelcolormap / bitget), 256 entries: 0 background
// (0,0,0), 1 aeroplane (128,0,0), ..., 255 boundary (224,224,192). It is a bijection between
// 8-bit indices and these colours, so colours map back exactly.
const std::array<std::array<uint8_t, 3>, 256>& voc_colormap();
// Index of an RGB colour in voc_colormap(), or -1.
int voc_colour_index(uint8_t r, uint8_t g, uint8_t b);

// (H, W, 1) class indices -> (H, W, 3) colours of voc_colormap() (for people to look at).
Image colorize_mask(const Image& mask);

}  // namespace xgd::data
