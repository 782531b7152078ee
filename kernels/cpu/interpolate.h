// CPU kernels of bilinear resizing: raw pointers and sizes only (DESIGN.md §2).
// Tensors are (P, H, W) with P = N·C planes. The backward kernel OVERWRITES dx (=).
#pragma once
#include <cstdint>

namespace xgd::kernels::cpu {

struct ResizeGeometry {
  int64_t planes = 0;  // N·C
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  bool align_corners = false;
  double scale_h = 0, scale_w = 0;  // the caller's scale factors; <= 0 when a size was given
};

// y (P, out_h, out_w) = bilinear resize of x (P, in_h, in_w), PyTorch-exact.
template <class T>
void bilinear_forward(const T* x, T* y, const ResizeGeometry& g);
// dx (P, in_h, in_w) = adjoint of bilinear_forward applied to dy (P, out_h, out_w).
// Deterministic: each dx row is gathered by one thread in a fixed order.
template <class T>
void bilinear_backward(const T* dy, T* dx, const ResizeGeometry& g);

}  // namespace xgd::kernels::cpu
