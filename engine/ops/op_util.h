// Helpers shared by the op implementations (not part of the public API).
#pragma once
#include "engine/autograd.h"
#include "engine/tensor.h"
#include "kernels/cuda/api.h"

namespace xgd::ops {

// For op families without CUDA kernels yet: a CUDA tensor is a clear error rather than a silent
// host copy (DESIGN.md §3: ops never copy across devices).
inline void require_cpu(const Tensor& t, const char* op) {
  XGD_CHECK(t.device() == Device::CPU, op, ": no CUDA kernel is wired for this op yet (got ",
            t.str(), ")");
}

// Normalises a possibly negative dim; error names the op and the shape.
inline int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t d = dim < 0 ? dim + ndim : dim;
  XGD_CHECK(d >= 0 && d < ndim, op, ": dim ", dim, " out of range for a ", ndim, "-d tensor");
  return d;
}

// A floating tensor on the CPU: the common precondition of the CPU ops.
inline void check_float_input(const Tensor& t, const char* op, const char* what) {
  check_defined(t, op, what);
  XGD_CHECK(is_floating(t.dtype()), op, ": ", what, " must be float32 or float64, got ", t.str());
}

// ---- CUDA dispatch. The engine builds and links without CUDA: the CUDA backend
// (kernels/cuda/backend.cpp), or in tests its CPU emulation (kernels/emu/backend.cpp), registers
// at start-up one kernel table per op family (kernels/cuda/<family>.h, e.g. PointwiseTable) and
// the stream to enqueue on; an op whose tensors are on Device::CUDA calls through its table.
template <class Table>
const Table*& cuda_table_slot() {
  static const Table* table = nullptr;
  return table;
}
template <class Table>
void register_cuda_kernels(const Table* table) {
  cuda_table_slot<Table>() = table;
}
// The registered table, or an error naming the op when no CUDA backend registered one.
template <class Table>
const Table& cuda_kernels(const char* op) {
  const Table* table = cuda_table_slot<Table>();
  XGD_CHECK(table != nullptr, op, ": no CUDA kernels are registered for this op (build with ",
            "-DXGD_CUDA=ON and link the CUDA backend)");
  return *table;
}

using CudaStreamFn = cudaStream_t (*)();
inline CudaStreamFn& cuda_stream_slot() {
  static CudaStreamFn fn = nullptr;
  return fn;
}
inline void register_cuda_stream(CudaStreamFn fn) {
  cuda_stream_slot() = fn;
}
// The backend's stream (nullptr, the default stream, if none was registered).
inline cudaStream_t cuda_stream() {
  CudaStreamFn fn = cuda_stream_slot();
  return fn ? fn() : nullptr;
}

}  // namespace xgd::ops
