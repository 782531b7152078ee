#include "data/transforms.h"

#include <algorithm>
#include <cmath>

#include "data/random.h"
#include "engine/error.h"

namespace xgd::data {

void check_augment_options(const AugmentOptions& o) {
  XGD_CHECK(std::isfinite(o.scale_min) && std::isfinite(o.scale_max) && o.scale_min > 0 &&
                o.scale_min <= o.scale_max && o.scale_max <= 16,
            "augment: bad scale range [", o.scale_min, ", ", o.scale_max,
            "] (expected 0 < min <= max <= 16)");
  XGD_CHECK(o.crop >= 0 && o.crop <= 8192, "augment: bad crop size ", o.crop,
            " (expected 0 = none, or 1..8192)");
  for (int c = 0; c < 3; ++c)
    XGD_CHECK(o.norm.std[c] > 0 && std::isfinite(o.norm.mean[c]), "augment: bad normalisation (",
              "channel ", c, ": mean ", o.norm.mean[c], ", std ", o.norm.std[c], ")");
}

AugmentParams draw_augment(const AugmentOptions& o, int height, int width, uint64_t seed,
                           int64_t epoch, int64_t index) {
  XGD_CHECK(height > 0 && width > 0, "augment: empty image (", height, "x", width, ")");
  AugmentParams p;
  p.scaled_h = height, p.scaled_w = width;
  if (!o.train) return p;
  // One block: word 0 scale, 1 crop top, 2 crop left, 3 flip.
  kernels::Philox4 r = philox_block(seed, Stream::Augment, static_cast<uint64_t>(epoch),
                                    static_cast<uint64_t>(index));
  double s = o.scale_min + unit_from_word(r.v[0]) * (o.scale_max - o.scale_min);
  p.scaled_h = std::max(1, static_cast<int>(std::lround(height * s)));
  p.scaled_w = std::max(1, static_cast<int>(std::lround(width * s)));
  if (o.crop > 0) {
    int ph = std::max(p.scaled_h, o.crop), pw = std::max(p.scaled_w, o.crop);
    p.top = static_cast<int>(uniform_int(r.v[1], ph - o.crop + 1));
    p.left = static_cast<int>(uniform_int(r.v[2], pw - o.crop + 1));
  }
  p.flip = o.flip && (r.v[3] >> 31) != 0;
  return p;
}

void window_size(const AugmentOptions& o, const AugmentParams& p, int& out_h, int& out_w) {
  if (o.train && o.crop > 0) {
    out_h = out_w = o.crop;
  } else {
    out_h = p.scaled_h, out_w = p.scaled_w;
  }
}

LinearTaps linear_taps(int in, int out) {
  XGD_CHECK(in > 0 && out > 0, "linear_taps: bad sizes in ", in, " out ", out);
  LinearTaps t;
  t.i0.resize(out), t.i1.resize(out), t.l1.resize(out);
  // PyTorch's compute_source_index_and_lambda (UpSample.h), in float for float tensors.
  const float ratio = static_cast<float>(in) / static_cast<float>(out);
  for (int d = 0; d < out; ++d) {
    if (in == out) {
      t.i0[d] = t.i1[d] = d, t.l1[d] = 0.f;
      continue;
    }
    float src = ratio * (static_cast<float>(d) + 0.5f) - 0.5f;
    if (src < 0.f) src = 0.f;
    int i0 = static_cast<int>(src);
    t.i0[d] = i0;
    t.i1[d] = i0 + (i0 < in - 1 ? 1 : 0);
    t.l1[d] = std::min(std::max(src - static_cast<float>(i0), 0.f), 1.f);
  }
  return t;
}

std::vector<int> nearest_taps(int in, int out) {
  XGD_CHECK(in > 0 && out > 0, "nearest_taps: bad sizes in ", in, " out ", out);
  std::vector<int> t(out);
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (int d = 0; d < out; ++d) {
    if (out == in)
      t[d] = d;
    else if (out == 2 * in)
      t[d] = d >> 1;
    else
      t[d] = std::min(static_cast<int>(std::floor(static_cast<float>(d) * scale)), in - 1);
  }
  return t;
}

void resize_bilinear(const float* src, int C, int H, int W, float* dst, int OH, int OW) {
  LinearTaps ty = linear_taps(H, OH), tx = linear_taps(W, OW);
#pragma omp parallel for collapse(2) if (static_cast <int64_t>(C) * OH * OW > (1 << 16))
  for (int c = 0; c < C; ++c)
    for (int y = 0; y < OH; ++y) {
      const float* r0 = src + (static_cast<int64_t>(c) * H + ty.i0[y]) * W;  // (W,)
      const float* r1 = src + (static_cast<int64_t>(c) * H + ty.i1[y]) * W;
      const float ly = ty.l1[y];
      float* o = dst + (static_cast<int64_t>(c) * OH + y) * OW;  // (OW,)
      for (int x = 0; x < OW; ++x) {
        const float lx = tx.l1[x];
        float top = r0[tx.i0[x]] * (1.f - lx) + r0[tx.i1[x]] * lx;
        float bot = r1[tx.i0[x]] * (1.f - lx) + r1[tx.i1[x]] * lx;
        o[x] = top * (1.f - ly) + bot * ly;
      }
    }
}

void resize_nearest(const uint8_t* src, int H, int W, uint8_t* dst, int OH, int OW) {
  std::vector<int> ty = nearest_taps(H, OH), tx = nearest_taps(W, OW);
  for (int y = 0; y < OH; ++y) {
    const uint8_t* r = src + static_cast<int64_t>(ty[y]) * W;
    uint8_t* o = dst + static_cast<int64_t>(y) * OW;
    for (int x = 0; x < OW; ++x) o[x] = r[tx[x]];
  }
}

void render_sample(const Image& image, const Image& label, const AugmentParams& p,
                   const Normalization& norm, int out_h, int out_w, float* dimage,
                   int64_t* dlabel) {
  XGD_CHECK(image.channels == 3 && label.channels == 1, "render_sample: expected a 3-channel ",
            "image and a 1-channel label map, got ", image.channels, " and ", label.channels);
  XGD_CHECK(image.height == label.height && image.width == label.width, "render_sample: image ",
            image.width, "x", image.height, " and label ", label.width, "x", label.height,
            " differ in size");
  XGD_CHECK(p.scaled_h > 0 && p.scaled_w > 0 && out_h > 0 && out_w > 0 && p.top >= 0 && p.left >= 0,
            "render_sample: bad window (scaled ", p.scaled_w, "x", p.scaled_h, ", window ", out_w,
            "x", out_h, " at ", p.left, ",", p.top, ")");
  const int H = image.height, W = image.width;
  const LinearTaps ty = linear_taps(H, p.scaled_h), tx = linear_taps(W, p.scaled_w);
  const std::vector<int> ny = nearest_taps(H, p.scaled_h), nx = nearest_taps(W, p.scaled_w);

  // Per output column: the scaled-image column it shows (after the flip of the window), its
  // bilinear taps as byte offsets into an interleaved row, and its nearest label column.
  std::vector<int> c0(out_w), c1(out_w), cn(out_w);
  std::vector<float> cl(out_w);
  std::vector<uint8_t> inside(out_w);
  for (int x = 0; x < out_w; ++x) {
    int sx = p.left + (p.flip ? out_w - 1 - x : x);
    inside[x] = sx < p.scaled_w;
    if (!inside[x]) continue;
    c0[x] = 3 * tx.i0[sx], c1[x] = 3 * tx.i1[sx], cl[x] = tx.l1[sx], cn[x] = nx[sx];
  }
  // (v / 255 - mean) / std = v * gain + bias
  float gain[3], bias[3];
  for (int c = 0; c < 3; ++c) {
    gain[c] = 1.f / (255.f * norm.std[c]);
    bias[c] = -norm.mean[c] / norm.std[c];
  }
  const int64_t plane = static_cast<int64_t>(out_h) * out_w;
  for (int y = 0; y < out_h; ++y) {
    float* o0 = dimage + static_cast<int64_t>(y) * out_w;  // (out_w,) in channel 0
    float* o1 = o0 + plane;
    float* o2 = o1 + plane;
    int64_t* ol = dlabel + static_cast<int64_t>(y) * out_w;  // (out_w,)
    const int sy = p.top + y;
    if (sy >= p.scaled_h) {  // padding rows
      std::fill(o0, o0 + out_w, 0.f), std::fill(o1, o1 + out_w, 0.f),
          std::fill(o2, o2 + out_w, 0.f);
      std::fill(ol, ol + out_w, int64_t{kIgnoreLabel});
      continue;
    }
    const uint8_t* r0 = image.row(ty.i0[sy]);  // (W, 3)
    const uint8_t* r1 = image.row(ty.i1[sy]);
    const uint8_t* lr = label.row(ny[sy]);  // (W,)
    const float ly = ty.l1[sy], ly0 = 1.f - ly;
    for (int x = 0; x < out_w; ++x) {
      if (!inside[x]) {
        o0[x] = o1[x] = o2[x] = 0.f;
        ol[x] = kIgnoreLabel;
        continue;
      }
      const float lx = cl[x], lx0 = 1.f - lx;
      const uint8_t *a = r0 + c0[x], *b = r0 + c1[x], *c = r1 + c0[x], *d = r1 + c1[x];
      float v0 = (a[0] * lx0 + b[0] * lx) * ly0 + (c[0] * lx0 + d[0] * lx) * ly;
      float v1 = (a[1] * lx0 + b[1] * lx) * ly0 + (c[1] * lx0 + d[1] * lx) * ly;
      float v2 = (a[2] * lx0 + b[2] * lx) * ly0 + (c[2] * lx0 + d[2] * lx) * ly;
      o0[x] = v0 * gain[0] + bias[0];
      o1[x] = v1 * gain[1] + bias[1];
      o2[x] = v2 * gain[2] + bias[2];
      ol[x] = lr[cn[x]];
    }
  }
}

Tensor image_to_tensor(const Image& image, const Normalization& norm) {
  XGD_CHECK(image.channels == 3, "image_to_tensor: expected an RGB image, got ", image.channels,
            " channels");
  // Evaluation's identity window through render_sample: one definition of the normalisation.
  const int H = image.height, W = image.width;
  AugmentParams identity{H, W, 0, 0, false};
  Image no_label(H, W, 1, 0);
  std::vector<int64_t> labels(static_cast<size_t>(H) * W);
  Tensor t = Tensor::empty({1, 3, H, W});
  render_sample(image, no_label, identity, norm, H, W, t.data<float>(), labels.data());
  return t;
}

}  // namespace xgd::data
