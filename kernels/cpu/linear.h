// CPU helpers of the linear family besides the GEMM itself (kernels/cpu/gemm.h): the bias of
// nn.Linear, broadcast over rows in forward and summed over rows in backward.
#pragma once
#include <cstdint>

namespace xgd::kernels::cpu {

// y (rows, cols) = bias (cols) broadcast to every row.
template <class T>
void fill_rows(const T* bias, T* y, int64_t rows, int64_t cols);

// dbias (cols) = Σ_rows dy (rows, cols). Overwrites dbias.
template <class T>
void sum_rows(const T* dy, T* dbias, int64_t rows, int64_t cols);

}  // namespace xgd::kernels::cpu
