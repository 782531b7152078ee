// Bilinear resizing. Both passes are separable like ATen's CPU kernel: along W first (two
// gathered taps), then along H (a vectorisable blend of two W-interpolated rows), which is
// also ATen's order of operations, so float32 results round the same way.
#include "kernels/cpu/interpolate.h"

#include <algorithm>
#include <vector>

#include "kernels/common/interpolate.h"

namespace xgd::kernels::cpu {

namespace {
constexpr int64_t kParallelWork = 16384;

template <class T>
std::vector<LinearTap<T>> taps(int64_t in, int64_t out, bool align_corners, double factor) {
  const T scale = linear_scale<T>(in, out, align_corners, factor);
  std::vector<LinearTap<T>> t(out);
  for (int64_t i = 0; i < out; ++i) t[i] = linear_tap<T>(i, in, out, scale, align_corners);
  return t;
}

// Interpolates one input row (in_w) along W into out (out_w).
template <class T>
void resize_row(const T* x, const LinearTap<T>* tw, int64_t out_w, T* out) {
  for (int64_t o = 0; o < out_w; ++o) {
    const LinearTap<T>& t = tw[o];
    out[o] = t.w0 * x[t.i0] + t.w1 * x[t.i0 + t.step];
  }
}
}  // namespace

template <class T>
void bilinear_forward(const T* x, T* y, const ResizeGeometry& g) {
  const auto th = taps<T>(g.in_h, g.out_h, g.align_corners, g.scale_h);
  const auto tw = taps<T>(g.in_w, g.out_w, g.align_corners, g.scale_w);
  const int64_t rows = g.planes * g.out_h;
#pragma omp parallel if (rows * g.out_w > kParallelWork)
  {
    // Two cached W-interpolated input rows per thread, keyed by plane·in_h + row: with a static
    // schedule a thread walks consecutive output rows, which reuse input rows when upsampling.
    std::vector<T> buf(2 * g.out_w);
    T* slot[2] = {buf.data(), buf.data() + g.out_w};
    int64_t key[2] = {-1, -1};
    auto row = [&](int64_t k, int64_t keep) -> const T* {
      for (int s = 0; s < 2; ++s)
        if (key[s] == k) return slot[s];
      const int s = key[0] == keep ? 1 : 0;  // never evict the other row this output needs
      resize_row(x + k * g.in_w, tw.data(), g.out_w, slot[s]);
      key[s] = k;
      return slot[s];
    };
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t p = r / g.out_h, oh = r % g.out_h;
      const LinearTap<T>& t = th[oh];
      const int64_t k0 = p * g.in_h + t.i0, k1 = k0 + t.step;
      const T* a = row(k0, k1);  // (out_w)
      const T* b = row(k1, k0);
      T* yr = y + r * g.out_w;
      const T w0 = t.w0, w1 = t.w1;
      for (int64_t o = 0; o < g.out_w; ++o) yr[o] = w0 * a[o] + w1 * b[o];
    }
  }
}

template <class T>
void bilinear_backward(const T* dy, T* dx, const ResizeGeometry& g) {
  const auto th = taps<T>(g.in_h, g.out_h, g.align_corners, g.scale_h);
  const auto tw = taps<T>(g.in_w, g.out_w, g.align_corners, g.scale_w);
  // Transposed H taps (CSR): for input row ih, the output rows reading it and their weights,
  // in ascending output order, as ATen's scatter visits them.
  std::vector<int64_t> begin(g.in_h + 1, 0);
  for (const auto& t : th) {
    ++begin[t.i0 + 1];
    ++begin[t.i0 + t.step + 1];
  }
  for (int64_t i = 0; i < g.in_h; ++i) begin[i + 1] += begin[i];
  std::vector<int64_t> src_row(begin[g.in_h]);
  std::vector<T> weight(begin[g.in_h]);
  {
    std::vector<int64_t> fill(begin.begin(), begin.end() - 1);
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const auto& t = th[oh];
      src_row[fill[t.i0]] = oh;
      weight[fill[t.i0]++] = t.w0;
      src_row[fill[t.i0 + t.step]] = oh;
      weight[fill[t.i0 + t.step]++] = t.w1;
    }
  }
  const int64_t rows = g.planes * g.in_h;
#pragma omp parallel for schedule(static) if (g.planes * g.out_h * g.out_w > kParallelWork)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t p = r / g.in_h, ih = r % g.in_h;
    T* dxr = dx + r * g.in_w;  // (in_w)
    std::fill(dxr, dxr + g.in_w, T(0));
    for (int64_t e = begin[ih]; e < begin[ih + 1]; ++e) {
      const T* dyr = dy + (p * g.out_h + src_row[e]) * g.out_w;  // (out_w)
      const T wh = weight[e];
      for (int64_t o = 0; o < g.out_w; ++o) {
        const LinearTap<T>& t = tw[o];
        dxr[t.i0] += (wh * t.w0) * dyr[o];  // ATen: h_lambda · w_lambda · grad
        dxr[t.i0 + t.step] += (wh * t.w1) * dyr[o];
      }
    }
  }
}

template void bilinear_forward<float>(const float*, float*, const ResizeGeometry&);
template void bilinear_forward<double>(const double*, double*, const ResizeGeometry&);
template void bilinear_backward<float>(const float*, float*, const ResizeGeometry&);
template void bilinear_backward<double>(const double*, double*, const ResizeGeometry&);

}  // namespace xgd::kernels::cpu
