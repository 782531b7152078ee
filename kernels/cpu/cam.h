// CPU kernels of the Grad-CAM weighting ops (engine/ops/cam.*): raw pointers and sizes only
// (DESIGN.md §2); per-element maths in kernels/common/cam.h, shared with kernels/cuda/cam.*.
// Every kernel overwrites its outputs (=). A (activations) and G (gradients) are N×C×P with
// P = h·w; a "row" is one (n, c) channel of P pixels. Sums accumulate in double.
#pragma once
#include <cstdint>

namespace xgd::kernels::cpu {

// w[r] = mean over the P pixels of g's row r. g: (rows, P), w: (rows).
template <class T>
void cam_channel_mean(const T* g, int64_t rows, int64_t P, T* w);

// GradCAM++: w[r] = Σ_p gradcampp_term(g[r,p], T(Σ_p a[r,p])). a, g: (rows, P), w: (rows).
template <class T>
void gradcampp_weights(const T* a, const T* g, int64_t rows, int64_t P, T* w);

// m[n,p] = relu(Σ_k w·a[n,k,p]), w = w[n,k] (pixel false: N×C×1×1) or w[n,k,p] (pixel true:
// N×C×P), summed in k order. a: (N, C, P), m: (N, P).
template <class T>
void cam_weighted_sum_relu(const T* a, const T* w, int64_t N, int64_t C, int64_t P, bool pixel,
                           T* m);
// da[n,k,p] = relu_bwd(m[n,p], dm[n,p]) · w. m, dm: (N, P), da: (N, C, P).
template <class T>
void cam_weighted_sum_relu_backward(const T* m, const T* dm, const T* w, int64_t N, int64_t C,
                                    int64_t P, bool pixel, T* da);

// Per image n: out = (x − lo)/(hi − lo + eps); index[n] = {argmin, argmax} (first occurrence,
// NaN first). x, out: (N, P), index: (N, 2).
template <class T>
void minmax_normalise(const T* x, int64_t N, int64_t P, T eps, T* out, int64_t* index);
// dx from x, the forward's index, dy. x, dy, dx: (N, P).
template <class T>
void minmax_normalise_backward(const T* x, const int64_t* index, const T* dy, int64_t N, int64_t P,
                               T eps, T* dx);

}  // namespace xgd::kernels::cpu
