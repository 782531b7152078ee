// Window arithmetic of the pooling ops, shared by the CPU backend and the CUDA kernels.
// Each function mirrors the PyTorch CPU kernel it names, so both backends pick the same
// windows, divisors and tie-breaking.
#pragma once
#include <cstdint>

#include "kernels/common/hd.h"

namespace xgd::kernels {

// Output length of a pooled dim (ATen's pooling_output_shape, dilation 1): floor or ceil of
// (in + 2·pad - k) / stride + 1, except that in ceil mode the last window must start inside
// the input or the left padding ((out-1)·stride < in + pad), else it is dropped.
XGD_HD int64_t pool_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, bool ceil_mode) {
  int64_t num = in + 2 * pad - k + (ceil_mode ? stride - 1 : 0);
  int64_t out = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;  // floor div
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

// One dim of an avg_pool2d window (ATen's cpu_avg_pool): [start, end) clipped to the input,
// and `padded` = the window's length clipped to the padded input (in + pad), which is the
// divisor's factor with count_include_pad. Windows overhanging in ceil mode are therefore
// clipped at the padded border, not counted at full kernel size.
struct PoolSpan {
  int64_t start, end, padded;
};
XGD_HD PoolSpan avg_pool_span(int64_t o, int64_t in, int64_t k, int64_t stride, int64_t pad) {
  int64_t s = o * stride - pad;
  int64_t e = s + k < in + pad ? s + k : in + pad;
  PoolSpan span{s, e, e - s};
  if (span.start < 0) span.start = 0;
  if (span.end > in) span.end = in;
  return span;
}
// max_pool2d's window is the same span without the divisor; padding acts as -inf because
// padded positions are simply never visited.
XGD_HD PoolSpan max_pool_span(int64_t o, int64_t in, int64_t k, int64_t stride, int64_t pad) {
  int64_t s = o * stride - pad;
  int64_t e = s + k < in ? s + k : in;
  return PoolSpan{s < 0 ? 0 : s, e, 0};
}

// adaptive_avg_pool2d's bin i of `out` over `in` (ATen's start_index/end_index):
// [floor(i·in/out), ceil((i+1)·in/out)). Bins overlap when in is not a multiple of out and
// repeat input elements when out > in.
XGD_HD int64_t adaptive_start(int64_t i, int64_t out, int64_t in) {
  return (i * in) / out;
}
XGD_HD int64_t adaptive_end(int64_t i, int64_t out, int64_t in) {
  return ((i + 1) * in + out - 1) / out;
}

// The gather form of the backward passes (one thread per input element, as the CUDA kernels):
// outputs o in [lo, hi) whose window holds input i. For max_pool2d and avg_pool2d the window of
// o spans [o·stride - pad, o·stride - pad + k) before clipping (clipping at in or in + pad
// never drops an i < in), so o·stride - pad <= i < o·stride - pad + k.
struct PoolRange {
  int64_t lo, hi;
};
XGD_HD PoolRange pool_windows_of(int64_t i, int64_t k, int64_t stride, int64_t pad, int64_t out) {
  const int64_t num = i + pad - k + 1;  // o >= ceil(num / stride)
  int64_t lo = num <= 0 ? 0 : (num + stride - 1) / stride;
  int64_t hi = (i + pad) / stride + 1;  // o <= floor((i + pad) / stride); i + pad >= 0
  if (hi > out) hi = out;
  if (lo > hi) lo = hi;
  return {lo, hi};
}
// adaptive_avg_pool2d: the bins holding input i, start(o) <= i < end(o), i.e.
// floor(i·out/in) <= o < ceil((i+1)·out/in).
XGD_HD PoolRange adaptive_bins_of(int64_t i, int64_t out, int64_t in) {
  int64_t hi = ((i + 1) * out + in - 1) / in;
  if (hi > out) hi = out;
  return {(i * out) / in, hi};
}

// max_pool2d's comparison (ATen's max_pool2d kernel): a strictly greater value or a NaN takes
// the maximum, so ties keep the FIRST maximum in row-major window order and NaN propagates.
template <class T>
XGD_HD bool max_pool_takes(T value, T current) {
  return value > current || value != value;
}

}  // namespace xgd::kernels
