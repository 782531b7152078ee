// Image files. stb_image / stb_image_write are compiled here and nowhere else (one definition);
// everything else in the project decodes and writes images through these functions.
#include "data/image_io.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "engine/error.h"

// Images wider or taller than this are rejected by stb_image (a corrupt header cannot make us
// allocate gigabytes).
#define STBI_MAX_DIMENSIONS (1 << 15)
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_NO_HDR  // 8-bit images only
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace xgd::data {

namespace fs = std::filesystem;

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::error_code ec;
  XGD_CHECK(fs::is_regular_file(path, ec), path, ": no such file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  XGD_CHECK(in, path, ": cannot open for reading");
  std::streamoff size = in.tellg();
  XGD_CHECK(size >= 0, path, ": cannot determine the file size");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  XGD_CHECK(in.gcount() == size, path, ": read failed");
  return bytes;
}

void write_file_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  fs::path p(path);
  if (p.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  XGD_CHECK(out, path, ": cannot open for writing");
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  XGD_CHECK(out, path, ": write failed");
}

namespace {

struct StbFree {
  void operator()(void* p) const { stbi_image_free(p); }
};

bool is_png(const uint8_t* bytes, size_t size) {
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  return size >= 8 && std::memcmp(bytes, sig, 8) == 0;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

// PNG's Paeth predictor (PNG spec §9.4).
inline uint8_t paeth(int a, int b, int c) {
  int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return static_cast<uint8_t>(a);
  return static_cast<uint8_t>(pb <= pc ? b : c);
}

}  // namespace

Image decode_image(const uint8_t* bytes, size_t size, int channels, const std::string& name) {
  XGD_CHECK(channels >= 0 && channels <= 4, "decode_image: ", name, ": channels must be 0..4, got ",
            channels);
  XGD_CHECK(size > 0, name, ": empty file");
  XGD_CHECK(size < (size_t(1) << 31), name, ": file too large (", size, " bytes)");
  int len = static_cast<int>(size);
  XGD_CHECK(!stbi_is_16_bit_from_memory(bytes, len), name,
            ": 16-bit images are not supported (expected 8 bits per channel)");
  int w = 0, h = 0, c = 0;
  std::unique_ptr<uint8_t, StbFree> px(stbi_load_from_memory(bytes, len, &w, &h, &c, channels));
  XGD_CHECK(px != nullptr, name, ": cannot decode image (", stbi_failure_reason(), ")");
  int out_c = channels == 0 ? c : channels;
  Image img(h, w, out_c);
  std::memcpy(img.pixels.data(), px.get(), img.pixels.size());
  return img;
}

Image read_image(const std::string& path, int channels) {
  std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_image(bytes.data(), bytes.size(), channels, path);
}

namespace {

void append_bytes(void* ctx, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(ctx);
  auto* p = static_cast<uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

void check_writable(const std::string& path, const Image& img) {
  XGD_CHECK(img.height > 0 && img.width > 0, path, ": cannot write an empty image (", img.height,
            "x", img.width, ")");
  XGD_CHECK(img.channels >= 1 && img.channels <= 4, path, ": cannot write ", img.channels,
            " channels");
  XGD_CHECK(img.pixels.size() == static_cast<size_t>(img.height) * img.width * img.channels, path,
            ": image buffer size does not match ", img.height, "x", img.width, "x", img.channels);
}

}  // namespace

void write_png(const std::string& path, const Image& img) {
  check_writable(path, img);
  std::vector<uint8_t> bytes;
  int ok = stbi_write_png_to_func(append_bytes, &bytes, img.width, img.height, img.channels,
                                  img.pixels.data(), img.width * img.channels);
  XGD_CHECK(ok, path, ": PNG encoding failed");
  write_file_bytes(path, bytes);
}

void write_jpg(const std::string& path, const Image& img, int quality) {
  check_writable(path, img);
  std::vector<uint8_t> bytes;
  int ok = stbi_write_jpg_to_func(append_bytes, &bytes, img.width, img.height, img.channels,
                                  img.pixels.data(), quality);
  XGD_CHECK(ok, path, ": JPEG encoding failed");
  write_file_bytes(path, bytes);
}

void write_image(const std::string& path, const Image& img) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char ch) { return std::tolower(ch); });
  if (ext == ".png") return write_png(path, img);
  if (ext == ".jpg" || ext == ".jpeg") return write_jpg(path, img);
  XGD_FAIL(path, ": unknown image extension '", ext, "' (expected .png, .jpg or .jpeg)");
}

bool decode_palette_png(const uint8_t* bytes, size_t size, const std::string& name, Image& out,
                        std::vector<std::array<uint8_t, 3>>* palette_out) {
  out = Image();
  if (!is_png(bytes, size)) return false;
  // Walk the chunks: IHDR first, then PLTE and IDAT (PNG spec §5.3: length, type, data, CRC).
  uint32_t width = 0, height = 0;
  int depth = 0, colour_type = -1, interlace = 0;
  std::vector<std::array<uint8_t, 3>> palette;
  std::vector<uint8_t> idat;
  size_t pos = 8;
  bool seen_end = false;
  while (pos + 8 <= size) {
    uint32_t len = be32(bytes + pos);
    const char* type = reinterpret_cast<const char*>(bytes + pos + 4);
    XGD_CHECK(len <= size && pos + 12 + len <= size, name, ": corrupt PNG (chunk '",
              std::string(type, 4), "' runs past the end of the file)");
    const uint8_t* d = bytes + pos + 8;
    if (std::memcmp(type, "IHDR", 4) == 0) {
      XGD_CHECK(len == 13, name, ": corrupt PNG (IHDR length ", len, ")");
      width = be32(d), height = be32(d + 4);
      depth = d[8], colour_type = d[9], interlace = d[12];
      if (colour_type != 3) return false;  // not indexed: stb_image decodes it
    } else if (std::memcmp(type, "PLTE", 4) == 0) {
      XGD_CHECK(len % 3 == 0 && len <= 768, name, ": corrupt PNG (PLTE length ", len, ")");
      for (uint32_t i = 0; i < len; i += 3) palette.push_back({d[i], d[i + 1], d[i + 2]});
    } else if (std::memcmp(type, "IDAT", 4) == 0) {
      idat.insert(idat.end(), d, d + len);
    } else if (std::memcmp(type, "IEND", 4) == 0) {
      seen_end = true;
      break;
    }
    pos += 12 + len;
  }
  XGD_CHECK(colour_type == 3, name, ": corrupt PNG (no IHDR chunk)");
  XGD_CHECK(seen_end, name, ": corrupt PNG (truncated: no IEND chunk)");
  XGD_CHECK(width > 0 && height > 0 && width <= (1u << 15) && height <= (1u << 15), name,
            ": bad PNG size ", width, "x", height);
  XGD_CHECK(depth == 1 || depth == 2 || depth == 4 || depth == 8, name, ": bad bit depth ", depth,
            " for an indexed PNG");
  XGD_CHECK(!palette.empty(), name, ": indexed PNG without a PLTE chunk");
  XGD_CHECK(!idat.empty(), name, ": corrupt PNG (no image data)");
  const int W = static_cast<int>(width), H = static_cast<int>(height);

  if (interlace != 0) {
    // Adam7: let stb_image de-interlace to RGB, then map each colour back through this file's
    // palette (the first entry of that colour, as colours are unique in VOC-style palettes).
    Image rgb = decode_image(bytes, size, 3, name);
    out = Image(H, W, 1);
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) {
        const uint8_t* p = rgb.row(y) + 3 * x;
        int idx = -1;
        for (size_t k = 0; k < palette.size() && idx < 0; ++k)
          if (palette[k][0] == p[0] && palette[k][1] == p[1] && palette[k][2] == p[2])
            idx = static_cast<int>(k);
        XGD_CHECK(idx >= 0, name, ": pixel (x=", x, ", y=", y,
                  ") has a colour outside the palette");
        out.at(y, x) = static_cast<uint8_t>(idx);
      }
    if (palette_out) *palette_out = palette;
    return true;
  }

  const size_t stride = (static_cast<size_t>(W) * depth + 7) / 8;  // bytes per row, no filter
  const size_t expected = static_cast<size_t>(H) * (stride + 1);
  int raw_len = 0;
  std::unique_ptr<char, StbFree> raw(stbi_zlib_decode_malloc_guesssize_headerflag(
      reinterpret_cast<const char*>(idat.data()), static_cast<int>(idat.size()),
      static_cast<int>(expected), &raw_len, 1));
  XGD_CHECK(raw != nullptr, name,
            ": corrupt PNG (image data does not inflate: ", stbi_failure_reason(), ")");
  XGD_CHECK(static_cast<size_t>(raw_len) >= expected, name, ": corrupt PNG (", raw_len,
            " bytes of image data, expected ", expected, ")");
  // Undo the per-row filters (PNG spec §9); for depth <= 8 the filter unit is one byte.
  std::vector<uint8_t> rows(static_cast<size_t>(H) * stride);  // (H, stride)
  const uint8_t* src = reinterpret_cast<const uint8_t*>(raw.get());
  for (int y = 0; y < H; ++y) {
    int filter = src[y * (stride + 1)];
    const uint8_t* in = src + y * (stride + 1) + 1;
    uint8_t* cur = rows.data() + y * stride;
    const uint8_t* up = y > 0 ? cur - stride : nullptr;
    for (size_t i = 0; i < stride; ++i) {
      int a = i > 0 ? cur[i - 1] : 0, b = up ? up[i] : 0, c = (up && i > 0) ? up[i - 1] : 0;
      int v = in[i];
      switch (filter) {
        case 0:
          break;
        case 1:
          v += a;
          break;
        case 2:
          v += b;
          break;
        case 3:
          v += (a + b) >> 1;
          break;
        case 4:
          v += paeth(a, b, c);
          break;
        default:
          XGD_FAIL(name, ": corrupt PNG (row ", y, " has filter type ", filter, ")");
      }
      cur[i] = static_cast<uint8_t>(v);
    }
  }
  out = Image(H, W, 1);
  const int per_byte = 8 / depth, mask = (1 << depth) - 1;
  for (int y = 0; y < H; ++y) {
    const uint8_t* r = rows.data() + y * stride;
    uint8_t* o = out.row(y);
    if (depth == 8) {
      std::memcpy(o, r, W);
    } else {
      for (int x = 0; x < W; ++x) {  // most significant bits first
        int shift = 8 - depth * (x % per_byte + 1);
        o[x] = static_cast<uint8_t>((r[x / per_byte] >> shift) & mask);
      }
    }
  }
  if (palette_out) *palette_out = palette;
  return true;
}

const std::array<std::array<uint8_t, 3>, 256>& voc_colormap() {
  static const auto cmap = [] {
    std::array<std::array<uint8_t, 3>, 256> m{};
    for (int i = 0; i < 256; ++i) {
      int r = 0, g = 0, b = 0, c = i;
      for (int j = 0; j < 8; ++j) {  // VOCdevkit labelcolormap.m: bit j of each channel
        r |= ((c >> 0) & 1) << (7 - j);
        g |= ((c >> 1) & 1) << (7 - j);
        b |= ((c >> 2) & 1) << (7 - j);
        c >>= 3;
      }
      m[i] = {static_cast<uint8_t>(r), static_cast<uint8_t>(g), static_cast<uint8_t>(b)};
    }
    return m;
  }();
  return cmap;
}

int voc_colour_index(uint8_t r, uint8_t g, uint8_t b) {
  // Invert the bit interleaving: bit (7 - j) of r/g/b is bit 3j / 3j+1 / 3j+2 of the index.
  int idx = 0;
  for (int j = 0; j < 8; ++j) {
    int bit = 7 - j;
    idx |= ((r >> bit) & 1) << (3 * j);
    idx |= ((g >> bit) & 1) << (3 * j + 1);
    idx |= ((b >> bit) & 1) << (3 * j + 2);
  }
  if (idx > 255) return -1;  // a colour using bits no 8-bit index reaches
  const auto& c = voc_colormap()[idx];
  return (c[0] == r && c[1] == g && c[2] == b) ? idx : -1;
}

Image read_mask(const std::string& path, MaskColours colours) {
  std::vector<uint8_t> bytes = read_file_bytes(path);
  Image mask;
  if (decode_palette_png(bytes.data(), bytes.size(), path, mask)) return mask;
  Image img = decode_image(bytes.data(), bytes.size(), 0, path);
  mask = Image(img.height, img.width, 1);
  const int C = img.channels;
  if (C <= 2) {  // grey (+ alpha, ignored)
    for (size_t i = 0, n = mask.pixels.size(); i < n; ++i) mask.pixels[i] = img.pixels[i * C];
    return mask;
  }
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const uint8_t* p = img.row(y) + x * C;
      if (colours == MaskColours::VocColormap) {
        int idx = voc_colour_index(p[0], p[1], p[2]);
        XGD_CHECK(idx >= 0, path, ": pixel (x=", x, ", y=", y, ") has colour (", int(p[0]), ", ",
                  int(p[1]), ", ", int(p[2]), ") which is not in the Pascal VOC colormap");
        mask.at(y, x) = static_cast<uint8_t>(idx);
      } else {
        XGD_CHECK(p[0] == p[1] && p[1] == p[2], path, ": pixel (x=", x, ", y=", y, ") has colour (",
                  int(p[0]), ", ", int(p[1]), ", ", int(p[2]),
                  "): masks must hold 8-bit class indices (a grey or indexed PNG)");
        mask.at(y, x) = p[0];
      }
    }
  return mask;
}

Image colorize_mask(const Image& mask) {
  XGD_CHECK(mask.channels == 1, "colorize_mask: expected a 1-channel label map, got ",
            mask.channels, " channels");
  Image out(mask.height, mask.width, 3);
  const auto& cmap = voc_colormap();
  for (size_t i = 0, n = mask.pixels.size(); i < n; ++i)
    std::memcpy(&out.pixels[3 * i], cmap[mask.pixels[i]].data(), 3);
  return out;
}

}  // namespace xgd::data
