// CUDA kernels of the random fills of engine/rng.cpp (uniform_, normal_): the Philox stream of
// kernels/common/philox.h with the same per-element maths (fill_uniform, fill_normal), so a
// tensor filled on the device holds the CPU's numbers for the same generator state. Launchers
// on device pointers, enqueued on `stream`, never synchronising; they overwrite out (=).
// Plain C++: the engine includes it for RandomTable.
#pragma once
#include <cstdint>

#include "kernels/cuda/api.h"

namespace xgd::kernels::cuda {

struct RandomTable;

XGD_CUDA_ABI_BEGIN
// out[i] = fill_uniform(word i of the stream (seed, first_counter), low, high).   out: (n,)
template <class T>
void uniform_fill(T* out, int64_t n, uint64_t seed, uint64_t first_counter, double low, double high,
                  cudaStream_t stream);
// out[i] = fill_normal(words 2i, 2i + 1 of the stream, mean, stddev).   out: (n,)
template <class T>
void normal_fill(T* out, int64_t n, uint64_t seed, uint64_t first_counter, double mean,
                 double stddev, cudaStream_t stream);

const RandomTable& random_table();
XGD_CUDA_ABI_END

template <class T>
struct RandomFns {
  decltype(&cuda::uniform_fill<T>) uniform;
  decltype(&cuda::normal_fill<T>) normal;
};

struct RandomTable {
  RandomFns<float> f32;
  RandomFns<double> f64;
  template <class T>
  const RandomFns<T>& of() const {
    if constexpr (sizeof(T) == 4)
      return f32;
    else
      return f64;
  }
};

}  // namespace xgd::kernels::cuda
