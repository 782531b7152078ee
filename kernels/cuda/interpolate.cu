// CUDA kernels of bilinear resizing. Both launchers overwrite their output (=). Built by nvcc
// into xgd_kernels_cuda and by the host compiler into xgd_kernels_emu (kernels/emu).
// Forward: one thread per output element (grid-stride, consecutive threads along W: coalesced
// stores, neighbouring gathers). Backward: one thread per input element gathering the output
// pixels that read it (the range comes from the index maths, linear_first_at_least), in the
// CPU kernel's order, so the result is deterministic and equal to the CPU's bit for bit; no
// atomics, no workspace. Products are kept unfused (__fmul_rn) as on the CPU, where x86-64
// without -mfma never contracts them.
#include "kernels/cuda/device.h"
// (device.h first)
#include "kernels/common/interpolate.h"
#include "kernels/cuda/interpolate.h"
#include "kernels/cuda/launch.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
namespace {

// The geometry as the kernels read it: sizes in the index type I (uint32 when every flat index
// fits: cheaper division on the GPU), scales already in T as the CPU computes them.
template <class T, class I>
struct Resize {
  I in_h, in_w, out_h, out_w;
  T scale_h, scale_w;
  bool align_corners;
};

template <class T, class I>
__global__ void bilinear_forward_kernel(const T* __restrict__ x, T* __restrict__ y, I n,
                                        Resize<T, I> g) {
  for (int64_t i = global_thread(); i < static_cast<int64_t>(n); i += grid_stride()) {
    const I idx = static_cast<I>(i);
    const I ow = idx % g.out_w, t = idx / g.out_w;
    const I oh = t % g.out_h, p = t / g.out_h;
    const LinearTap<T> th = linear_tap<T>(oh, g.in_h, g.out_h, g.scale_h, g.align_corners);
    const LinearTap<T> tw = linear_tap<T>(ow, g.in_w, g.out_w, g.scale_w, g.align_corners);
    const T* r0 = x + (static_cast<int64_t>(p) * g.in_h + th.i0) * g.in_w;  // (in_w)
    const T* r1 = r0 + th.step * g.in_w;
    const int64_t c0 = tw.i0, c1 = tw.i0 + tw.step;
    // The CPU's order: along W first (two rows), then blend the rows along H.
    const T a = mul_rn(tw.w0, r0[c0]) + mul_rn(tw.w1, r0[c1]);
    const T b = mul_rn(tw.w0, r1[c0]) + mul_rn(tw.w1, r1[c1]);
    y[i] = mul_rn(th.w0, a) + mul_rn(th.w1, b);
  }
}

// dx[p, ih, iw] = Σ over output rows oh reading ih (ascending; its w0 tap before its w1 tap when
// both land on ih), over output columns ow reading iw (ascending, w0 before w1), of
// (wh·ww)·dy[p, oh, ow] — the order in which the CPU kernel adds into each dx element.
template <class T, class I>
__global__ void bilinear_backward_kernel(const T* __restrict__ dy, T* __restrict__ dx, I n,
                                         Resize<T, I> g) {
  for (int64_t i = global_thread(); i < static_cast<int64_t>(n); i += grid_stride()) {
    const I idx = static_cast<I>(i);
    const I iw = idx % g.in_w, t = idx / g.in_w;
    const I ih = t % g.in_h, p = t / g.in_h;
    const int64_t h_lo =
        linear_first_at_least<T>(int64_t(ih) - 1, g.in_h, g.out_h, g.scale_h, g.align_corners);
    const int64_t h_hi =
        linear_first_at_least<T>(int64_t(ih) + 1, g.in_h, g.out_h, g.scale_h, g.align_corners);
    const int64_t w_lo =
        linear_first_at_least<T>(int64_t(iw) - 1, g.in_w, g.out_w, g.scale_w, g.align_corners);
    const int64_t w_hi =
        linear_first_at_least<T>(int64_t(iw) + 1, g.in_w, g.out_w, g.scale_w, g.align_corners);
    const T* dyp = dy + static_cast<int64_t>(p) * g.out_h * g.out_w;  // (out_h, out_w)
    T acc = T(0);
    for (int64_t oh = h_lo; oh < h_hi; ++oh) {
      const LinearTap<T> th = linear_tap<T>(oh, g.in_h, g.out_h, g.scale_h, g.align_corners);
      const T* dyr = dyp + oh * g.out_w;
      for (int e = 0; e < 2; ++e) {
        if ((e == 0 ? th.i0 : th.i0 + th.step) != static_cast<int64_t>(ih)) continue;
        const T wh = e == 0 ? th.w0 : th.w1;
        for (int64_t ow = w_lo; ow < w_hi; ++ow) {
          const LinearTap<T> tw = linear_tap<T>(ow, g.in_w, g.out_w, g.scale_w, g.align_corners);
          if (tw.i0 == static_cast<int64_t>(iw)) acc += mul_rn(mul_rn(wh, tw.w0), dyr[ow]);
          if (tw.i0 + tw.step == static_cast<int64_t>(iw))
            acc += mul_rn(mul_rn(wh, tw.w1), dyr[ow]);
        }
      }
    }
    dx[i] = acc;
  }
}

template <class T, class I>
Resize<T, I> to_resize(const ResizeGeometry& g) {
  return {static_cast<I>(g.in_h),
          static_cast<I>(g.in_w),
          static_cast<I>(g.out_h),
          static_cast<I>(g.out_w),
          linear_scale<T>(g.in_h, g.out_h, g.align_corners, g.scale_h),
          linear_scale<T>(g.in_w, g.out_w, g.align_corners, g.scale_w),
          g.align_corners};
}

bool fits_u32(const ResizeGeometry& g) {
  return g.planes * g.in_h * g.in_w <= INT32_MAX && g.planes * g.out_h * g.out_w <= INT32_MAX;
}

}  // namespace

// ---------------------------------------------------------------- launchers
template <class T>
void bilinear_forward(const T* x, T* y, const ResizeGeometry& g, cudaStream_t s) {
  const int64_t n = g.planes * g.out_h * g.out_w;  // (P, out_h, out_w)
  if (n == 0) return;
  if (fits_u32(g)) {
    XGD_LAUNCH((bilinear_forward_kernel<T, uint32_t>), grid_1d(n), kBlock, 0, s)
    (x, y, static_cast<uint32_t>(n), to_resize<T, uint32_t>(g));
  } else {
    XGD_LAUNCH((bilinear_forward_kernel<T, int64_t>), grid_1d(n), kBlock, 0, s)
    (x, y, n, to_resize<T, int64_t>(g));
  }
  XGD_CHECK_LAUNCH();
}

template <class T>
void bilinear_backward(const T* dy, T* dx, const ResizeGeometry& g, cudaStream_t s) {
  const int64_t n = g.planes * g.in_h * g.in_w;  // (P, in_h, in_w)
  if (n == 0) return;
  if (fits_u32(g)) {
    XGD_LAUNCH((bilinear_backward_kernel<T, uint32_t>), grid_1d(n), kBlock, 0, s)
    (dy, dx, static_cast<uint32_t>(n), to_resize<T, uint32_t>(g));
  } else {
    XGD_LAUNCH((bilinear_backward_kernel<T, int64_t>), grid_1d(n), kBlock, 0, s)
    (dy, dx, n, to_resize<T, int64_t>(g));
  }
  XGD_CHECK_LAUNCH();
}

const InterpolateTable& interpolate_table() {
  static const InterpolateTable table{{&bilinear_forward<float>, &bilinear_backward<float>},
                                      {&bilinear_forward<double>, &bilinear_backward<double>}};
  return table;
}

#define XGD_INSTANTIATE(T)                                                              \
  template void bilinear_forward<T>(const T*, T*, const ResizeGeometry&, cudaStream_t); \
  template void bilinear_backward<T>(const T*, T*, const ResizeGeometry&, cudaStream_t);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
