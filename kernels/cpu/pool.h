// CPU kernels of the pooling family: raw pointers and sizes only (DESIGN.md §2).
// Tensors are (P, H, W) with P = N·C planes. Backward kernels OVERWRITE dx (=).
#pragma once
#include <cstdint>

namespace xgd::kernels::cpu {

struct Pool2dGeometry {
  int64_t planes = 0;  // N·C
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t k_h = 0, k_w = 0, s_h = 0, s_w = 0, p_h = 0, p_w = 0;
};

// y (P, out_h, out_w); idx (P, out_h, out_w) = flat index h·in_w + w of the chosen input in
// its plane (PyTorch's return_indices layout); idx may be null when no backward follows.
template <class T>
void max_pool2d_forward(const T* x, T* y, int64_t* idx, const Pool2dGeometry& g);
// dx (P, in_h, in_w) = Σ of dy routed through idx.
template <class T>
void max_pool2d_backward(const T* dy, const int64_t* idx, T* dx, const Pool2dGeometry& g);

template <class T>
void avg_pool2d_forward(const T* x, T* y, const Pool2dGeometry& g, bool count_include_pad);
template <class T>
void avg_pool2d_backward(const T* dy, T* dx, const Pool2dGeometry& g, bool count_include_pad);

// Only planes, in_* and out_* of g are used.
template <class T>
void adaptive_avg_pool2d_forward(const T* x, T* y, const Pool2dGeometry& g);
template <class T>
void adaptive_avg_pool2d_backward(const T* dy, T* dx, const Pool2dGeometry& g);

}  // namespace xgd::kernels::cpu
