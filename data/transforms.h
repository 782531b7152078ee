// Augmentation and normalisation: one sample (H, W, 3) uint8 + (H, W) labels -> a window of
// (3, h, w) float32 + (h, w) int64, in one pass.
//   training: random scale in [scale_min, scale_max] (bilinear for the image, nearest for the
//             labels, both with PyTorch F.interpolate's conventions), random crop to `crop` x
//             `crop` (scaled images smaller than the crop are padded at the bottom/right, the
//             image with 0 -- after normalisation, i.e. the mean colour -- and the labels with
//             255, so padding is never trained as background), horizontal flip with p = 0.5;
//   evaluation: the whole image, no resampling; a window larger than the image is padded the
//             same way (the caller crops the prediction back to the image size).
// Both: ImageNet mean/std normalisation, (x / 255 - mean) / std per channel.
// Every random draw is a Philox word keyed by (seed, epoch, sample index), so a sample's
// augmentation does not depend on which thread prepares it or in what order.
#pragma once
#include <cstdint>
#include <vector>

#include "data/image_io.h"
#include "engine/tensor.h"

namespace xgd::data {

struct Normalization {
  float mean[3] = {0.485f, 0.456f, 0.406f};  // ImageNet (torchvision's pretrained encoders)
  float std[3] = {0.229f, 0.224f, 0.225f};
};

struct AugmentOptions {
  bool train = false;      // false: evaluation (no scale, crop or flip)
  double scale_min = 0.5;  // random scale factor range (of the original size)
  double scale_max = 2.0;
  int crop = 0;      // square crop size in training; 0 = no crop (keep the scaled size)
  bool flip = true;  // random horizontal flip in training
  Normalization norm;
};

// The draws for one sample: the scaled size, the window's top-left corner in the scaled
// (and bottom/right-padded) image, and the flip.
struct AugmentParams {
  int scaled_h = 0, scaled_w = 0;
  int top = 0, left = 0;
  bool flip = false;
};

// Checks options (scale range, crop) and throws xgd::Error naming the bad value.
void check_augment_options(const AugmentOptions& o);

// Deterministic in (seed, epoch, index). Evaluation: the identity (scaled = original size).
AugmentParams draw_augment(const AugmentOptions& o, int height, int width, uint64_t seed,
                           int64_t epoch, int64_t index);

// Size of the window render_sample writes for these params: (crop, crop) in training with a
// crop, else the scaled size.
void window_size(const AugmentOptions& o, const AugmentParams& p, int& out_h, int& out_w);

// Resamples, crops, flips and normalises one sample into a window of (out_h, out_w):
//   dimage (3, out_h, out_w) float32, dlabel (out_h, out_w) int64 (255 outside the image).
// The label map's values are copied, never blended: only original values and 255 appear.
void render_sample(const Image& image, const Image& label, const AugmentParams& p,
                   const Normalization& norm, int out_h, int out_w, float* dimage, int64_t* dlabel);

// One RGB image as a normalised (1, 3, H, W) float32 tensor, unresampled (xgd_cam, xgd_predict).
Tensor image_to_tensor(const Image& image, const Normalization& norm = {});

// ---- resampling, exposed for tests (PyTorch F.interpolate conventions, size given)
// Bilinear, align_corners=False, antialias=False: src = (dst + 0.5) * in/out - 0.5, clamped at
// 0, taps floor(src) and floor(src) + 1 (clamped to in - 1), in float as PyTorch's CPU kernel.
struct LinearTaps {
  std::vector<int> i0, i1;  // (out,)
  std::vector<float> l1;    // (out,) weight of i1; i0 gets 1 - l1
};
LinearTaps linear_taps(int in, int out);
// mode='nearest': src = min(floor(dst * (float)(in / out)), in - 1) (PyTorch's legacy nearest,
// not 'nearest-exact'); out == 2 * in uses dst >> 1 as PyTorch does.
std::vector<int> nearest_taps(int in, int out);

// (C, H, W) float -> (C, OH, OW) float, bilinear.
void resize_bilinear(const float* src, int C, int H, int W, float* dst, int OH, int OW);
// (H, W) uint8 -> (OH, OW) uint8, nearest.
void resize_nearest(const uint8_t* src, int H, int W, uint8_t* dst, int OH, int OW);

// Uniform integer in [0, n) from a 32-bit random word (multiply-shift; bias < n / 2^32).
inline int64_t uniform_int(uint32_t word, int64_t n) {
  return static_cast<int64_t>((static_cast<uint64_t>(word) * static_cast<uint64_t>(n)) >> 32);
}

}  // namespace xgd::data
