// Helpers shared by the op implementations (not part of the public API).
#pragma once
#include "engine/autograd.h"
#include "engine/tensor.h"

namespace xgd::ops {

// The device an op runs on. Until the CUDA backend dispatches this op, a CUDA tensor is a
// clear error rather than a silent host copy (DESIGN.md §3: ops never copy across devices).
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

}  // namespace xgd::ops
