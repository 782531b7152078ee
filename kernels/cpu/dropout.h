// CPU kernels of dropout: raw pointers and sizes only (DESIGN.md §2). Backward reuses the
// forward's mask and overwrites (=).
#pragma once
#include <cstdint>

namespace xgd::kernels::cpu {

// mask[i] = 1 where element i of the Philox stream (seed, first_counter) keeps, for i < n
// (kernels/common/dropout.h); threshold = dropout_threshold(p).
void dropout_mask(uint64_t seed, uint64_t first_counter, int64_t n, uint32_t threshold,
                  uint8_t* mask);

// out[j] = mask[j / group] ? x[j] · scale : 0 for j < n·group (group = 1: dropout; group = H·W
// with one mask byte per (n, c): dropout2d).   x, out: (n, group)
template <class T>
void dropout_apply(const T* x, const uint8_t* mask, int64_t n, int64_t group, T scale, T* out);

}  // namespace xgd::kernels::cpu
