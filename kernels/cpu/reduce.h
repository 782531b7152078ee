// CPU kernels of the reduction family: raw pointers and sizes only (DESIGN.md §2).
// A reduction is described by the input's shape and a per-dim `reduce` flag; the output holds
// the kept dims in order (keepdim or not is the same memory). Backward kernels overwrite (=).
#pragma once
#include <cstdint>

namespace xgd::kernels::cpu {

// out = scale · Σ x over the reduced dims. float32 accumulates in double (a mean over
// 8×21×512×512 logits stays exact to ~1e-9); the chunking is fixed, so results do not depend on
// the thread count.
template <class T>
void reduce_sum(const T* x, const int64_t* shape, int ndim, const uint8_t* reduce, double scale,
                T* out);

// out = max (or min) of x over the reduced dims; NaN propagates (as PyTorch). numel > 0.
template <class T>
void reduce_extreme(bool is_max, const T* x, const int64_t* shape, int ndim, const uint8_t* reduce,
                    T* out);

// One dim as (outer, R, inner): values[o, i] = extreme of x[o, :, i] and index[o, i] its first
// position (NaN counts as the extreme, first NaN wins: PyTorch's max/argmax). values may be null.
template <class T>
void arg_extreme(bool is_max, const T* x, int64_t outer, int64_t R, int64_t inner, T* values,
                 int64_t* index);

// Backward of arg_extreme's values: dx (outer, R, inner) = 0 except dx[o, index[o, i], i] = g[o,
// i].
template <class T>
void scatter_index_backward(const T* g, const int64_t* index, int64_t outer, int64_t R,
                            int64_t inner, T* dx);

// dx = scale · g broadcast over the reduced dims (backward of sum and mean).
template <class T>
void expand_reduced(const T* g, const int64_t* shape, int ndim, const uint8_t* reduce, T scale,
                    T* dx);

// Backward of max/min over several dims (or all): the gradient of each output is split evenly
// among the elements equal to it (PyTorch's amax/amin and max() backward).
template <class T>
void extreme_backward_even(const T* x, const T* m, const T* g, const int64_t* shape, int ndim,
                           const uint8_t* reduce, T* dx);

}  // namespace xgd::kernels::cpu
