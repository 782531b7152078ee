// CPU kernels of softmax / log_softmax over one dim of a tensor viewed as (outer, C, inner):
// the hot case, classes of N×C×H×W, is (N, C, H·W) with the pixels contiguous. Raw pointers and
// sizes only (DESIGN.md §2). Backward overwrites dx (=).
#pragma once
#include <cstdint>

namespace xgd::kernels::cpu {

// y = softmax(x) (or log_softmax) over C, max-subtracted.   x, y: (outer, C, inner)
template <class T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t C, int64_t inner, bool log);

// dx from the forward's output y and dy.   y, dy, dx: (outer, C, inner)
template <class T>
void softmax_backward(const T* y, const T* dy, T* dx, int64_t outer, int64_t C, int64_t inner,
                      bool log);

}  // namespace xgd::kernels::cpu
