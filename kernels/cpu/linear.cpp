#include "kernels/cpu/linear.h"

#include <omp.h>

#include <algorithm>
#include <vector>

namespace xgd::kernels::cpu {

template <class T>
void fill_rows(const T* bias, T* y, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols > 32768)
  for (int64_t r = 0; r < rows; ++r) std::copy(bias, bias + cols, y + r * cols);
}

template <class T>
void sum_rows(const T* dy, T* dbias, int64_t rows, int64_t cols) {
  // Each thread sums a contiguous slab of rows into its own partial (the inner loop runs along
  // a row, contiguous and vectorisable); partials are added in thread order: deterministic for
  // a given thread count.
  const int nt = (rows * cols > 65536 && !omp_in_parallel()) ? omp_get_max_threads() : 1;
  std::vector<T> partial(static_cast<size_t>(nt) * cols, T(0));  // (nt, cols)
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), team = omp_get_num_threads();
    T* acc = partial.data() + t * cols;
    for (int64_t r = rows * t / team; r < rows * (t + 1) / team; ++r) {
      const T* row = dy + r * cols;
      for (int64_t c = 0; c < cols; ++c) acc[c] += row[c];
    }
  }
  std::copy(partial.begin(), partial.begin() + cols, dbias);
  for (int t = 1; t < nt; ++t)
    for (int64_t c = 0; c < cols; ++c) dbias[c] += partial[t * cols + c];
}

template void fill_rows<float>(const float*, float*, int64_t, int64_t);
template void fill_rows<double>(const double*, double*, int64_t, int64_t);
template void sum_rows<float>(const float*, float*, int64_t, int64_t);
template void sum_rows<double>(const double*, double*, int64_t, int64_t);

}  // namespace xgd::kernels::cpu
