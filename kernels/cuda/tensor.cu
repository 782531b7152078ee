// CUDA kernels of Tensor::fill_ and Tensor::to(DType). Both overwrite their output (=).
// Grid-stride loops over 256-thread blocks; one element per thread per iteration (consecutive
// threads, consecutive elements: coalesced). Exact (conversions as static_cast, see tensor.h).
#include "kernels/cuda/device.h"
// (device.h first)
#include "kernels/cuda/launch.h"
#include "kernels/cuda/tensor.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
namespace {

template <class T>
__global__ void fill_kernel(T* __restrict__ p, int64_t n, T value) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) p[i] = value;
}

template <class S, class D>
__global__ void cast_kernel(const S* __restrict__ src, D* __restrict__ dst, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) dst[i] = static_cast<D>(src[i]);
}

template <class T>
void fill_untyped(void* p, int64_t n, double value, cudaStream_t s) {
  fill<T>(static_cast<T*>(p), n, static_cast<T>(value), s);
}
template <class S, class D>
void cast_untyped(const void* src, void* dst, int64_t n, cudaStream_t s) {
  cast<S, D>(static_cast<const S*>(src), static_cast<D*>(dst), n, s);
}

// Row s of the cast table: S to each of the four types, null on the diagonal.
template <class S>
constexpr void cast_row(CastFn* row, int self) {
  row[0] = &cast_untyped<S, float>;
  row[1] = &cast_untyped<S, double>;
  row[2] = &cast_untyped<S, int64_t>;
  row[3] = &cast_untyped<S, uint8_t>;
  row[self] = nullptr;
}

}  // namespace

template <class T>
void fill(T* p, int64_t n, T value, cudaStream_t s) {
  if (n <= 0) return;
  XGD_LAUNCH(fill_kernel<T>, grid_1d(n), kBlock, 0, s)(p, n, value);
  XGD_CHECK_LAUNCH();
}

template <class S, class D>
void cast(const S* src, D* dst, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  XGD_LAUNCH((cast_kernel<S, D>), grid_1d(n), kBlock, 0, s)(src, dst, n);
  XGD_CHECK_LAUNCH();
}

const TensorTable& tensor_table() {
  static const TensorTable table = [] {
    TensorTable t{};
    t.fill[0] = &fill_untyped<float>;
    t.fill[1] = &fill_untyped<double>;
    t.fill[2] = &fill_untyped<int64_t>;
    t.fill[3] = &fill_untyped<uint8_t>;
    cast_row<float>(t.cast[0], 0);
    cast_row<double>(t.cast[1], 1);
    cast_row<int64_t>(t.cast[2], 2);
    cast_row<uint8_t>(t.cast[3], 3);
    return t;
  }();
  return table;
}

#define XGD_INSTANTIATE_FILL(T) template void fill<T>(T*, int64_t, T, cudaStream_t);
XGD_INSTANTIATE_FILL(float)
XGD_INSTANTIATE_FILL(double)
XGD_INSTANTIATE_FILL(int64_t)
XGD_INSTANTIATE_FILL(uint8_t)
#undef XGD_INSTANTIATE_FILL
#define XGD_INSTANTIATE_CAST(S)                                              \
  template void cast<S, float>(const S*, float*, int64_t, cudaStream_t);     \
  template void cast<S, double>(const S*, double*, int64_t, cudaStream_t);   \
  template void cast<S, int64_t>(const S*, int64_t*, int64_t, cudaStream_t); \
  template void cast<S, uint8_t>(const S*, uint8_t*, int64_t, cudaStream_t);
XGD_INSTANTIATE_CAST(float)
XGD_INSTANTIATE_CAST(double)
XGD_INSTANTIATE_CAST(int64_t)
XGD_INSTANTIATE_CAST(uint8_t)
#undef XGD_INSTANTIATE_CAST

XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
