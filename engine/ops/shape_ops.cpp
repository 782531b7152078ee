// Concatenation and slicing: forward and backward together. Kernels: kernels/cpu/shape_ops.* on
// the CPU, kernels/cuda/shape_ops.* on Device::CUDA (through the registered ShapeOpsTable)
// (byte copies, so any dtype works forward; gradients exist for float tensors only).
#include "engine/ops/shape_ops.h"

#include "engine/ops/op_util.h"
#include "kernels/cpu/shape_ops.h"
#include "kernels/cuda/shape_ops.h"

namespace xgd {

using autograd::record;
using Grads = std::vector<Tensor>;
using Need = std::vector<bool>;

namespace {

const kernels::cuda::ShapeOpsTable& cuda_fns(const char* op) {
  return ops::cuda_kernels<kernels::cuda::ShapeOpsTable>(op);
}

// A tensor seen as (outer, size(dim), inner): the row-copy view of concat/slice.
struct DimSplit {
  int64_t outer = 1, inner = 1;
};
DimSplit split_at(const Shape& s, int64_t dim) {
  DimSplit d;
  for (int64_t i = 0; i < dim; ++i) d.outer *= s[i];
  for (size_t i = dim + 1; i < s.size(); ++i) d.inner *= s[i];
  return d;
}

// Copies a block of `len` positions along dim: src positions [src_off, src_off + len) of its
// src_len into dst positions [dst_off, dst_off + len) of its dst_len, for every outer index.
void copy_block(const Tensor& src, int64_t src_off, int64_t src_len, Tensor& dst, int64_t dst_off,
                int64_t dst_len, int64_t len, const DimSplit& d) {
  const int64_t es = static_cast<int64_t>(dtype_size(src.dtype()));
  const int64_t row = d.inner * es;
  const char* from = static_cast<const char*>(src.raw_data()) + src_off * row;
  char* to = static_cast<char*>(dst.raw_data()) + dst_off * row;
  if (src.device() == Device::CPU)
    return kernels::cpu::copy_rows(from, src_len * row, to, dst_len * row, d.outer, len * row);
  cuda_fns("copy_rows")
      .copy_rows(from, src_len * row, to, dst_len * row, d.outer, len * row, ops::cuda_stream());
}

}  // namespace

Tensor concat(const std::vector<Tensor>& tensors, int64_t dim) {
  XGD_CHECK(!tensors.empty(), "concat: expected at least one tensor");
  const Tensor& first = tensors[0];
  check_defined(first, "concat", "tensors[0]");
  XGD_CHECK(first.dim() > 0, "concat: zero-dimensional tensor ", first.str(),
            " cannot be concatenated");
  const int64_t d = ops::wrap_dim(dim, first.dim(), "concat");
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    check_defined(t, "concat", "tensor");
    check_same_device_dtype(first, t, "concat");
    bool match = t.dim() == first.dim();
    for (int64_t k = 0; match && k < t.dim(); ++k) match = k == d || t.size(k) == first.size(k);
    XGD_CHECK(match, "concat: tensors[", i, "] ", t.str(), " does not match tensors[0] ",
              first.str(), " outside dim ", d);
    out_shape[d] += t.size(d);
  }
  Tensor out = Tensor::empty(out_shape, first.dtype(), first.device());
  const DimSplit split = split_at(out_shape, d);
  std::vector<int64_t> offsets;  // start of each input along dim
  int64_t off = 0;
  for (const Tensor& t : tensors) {
    offsets.push_back(off);
    copy_block(t, 0, t.size(d), out, off, out_shape[d], t.size(d), split);
    off += t.size(d);
  }
  std::vector<int64_t> sizes;
  for (const Tensor& t : tensors) sizes.push_back(t.size(d));
  return record(out, "concat", tensors, [d, offsets, sizes](const Tensor& g, const Need& need) {
    // d(concat)/d(input i) is the slice of the upstream gradient that input i filled.
    Grads grads(sizes.size());
    for (size_t i = 0; i < sizes.size(); ++i)
      if (need[i]) grads[i] = slice(g, d, offsets[i], offsets[i] + sizes[i]);
    return grads;
  });
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end) {
  check_defined(x, "slice", "input");
  XGD_CHECK(x.dim() > 0, "slice: cannot slice a zero-dimensional tensor ", x.str());
  const int64_t d = ops::wrap_dim(dim, x.dim(), "slice");
  const int64_t size = x.size(d);
  // Python's indexing: negative positions count from the end; end past the size is clamped.
  // A start outside [-size, size] or an end before start is an error rather than PyTorch's
  // silent empty result, since here it is always a caller's bug.
  XGD_CHECK(start >= -size && start <= size, "slice: start ", start, " out of range for dim ", d,
            " of ", x.str());
  const int64_t s = start < 0 ? start + size : start;
  XGD_CHECK(end >= -size, "slice: end ", end, " out of range for dim ", d, " of ", x.str());
  int64_t e = end < 0 ? end + size : end;
  if (e > size) e = size;
  XGD_CHECK(e >= s, "slice: end ", end, " is before start ", start, " on dim ", d, " of ", x.str());
  Shape out_shape = x.shape();
  out_shape[d] = e - s;
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  const DimSplit split = split_at(x.shape(), d);
  copy_block(x, s, size, out, 0, e - s, e - s, split);
  Shape in = x.shape();
  return record(out, "slice", {x}, [in, d, s, e, split](const Tensor& g, const Need&) {
    // Gradient: zeros of the input's shape with the sliced block filled by g.
    Tensor dx = Tensor::zeros(in, g.dtype(), g.device());
    copy_block(g, 0, e - s, dx, s, in[d], e - s, split);
    return Grads{dx};
  });
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  check_defined(x, "transpose", "input");
  int64_t a = ops::wrap_dim(d0, x.dim(), "transpose");
  int64_t b = ops::wrap_dim(d1, x.dim(), "transpose");
  if (a == b) return x.clone();
  if (a > b) std::swap(a, b);
  const Shape& s = x.shape();
  int64_t outer = 1, mid = 1, inner = 1;
  for (int64_t i = 0; i < a; ++i) outer *= s[i];
  for (int64_t i = a + 1; i < b; ++i) mid *= s[i];
  for (int64_t i = b + 1; i < x.dim(); ++i) inner *= s[i];
  Shape out_shape = s;
  std::swap(out_shape[a], out_shape[b]);
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  const int64_t es = static_cast<int64_t>(dtype_size(x.dtype()));
  if (x.device() == Device::CPU)
    kernels::cpu::transpose(x.raw_data(), out.raw_data(), outer, s[a], mid, s[b], inner, es);
  else
    cuda_fns("transpose")
        .transpose(x.raw_data(), out.raw_data(), outer, s[a], mid, s[b], inner, es,
                   ops::cuda_stream());
  return record(out, "transpose", {x}, [a, b](const Tensor& g, const Need&) {
    return Grads{transpose(g, a, b)};  // a transpose is its own inverse
  });
}

Tensor one_hot(const Tensor& labels, int64_t num_classes, int64_t ignore_index, DType dtype) {
  check_defined(labels, "one_hot", "labels");
  XGD_CHECK(labels.dtype() == DType::I64, "one_hot: labels must be int64, got ", labels.str());
  XGD_CHECK(labels.dim() >= 1, "one_hot: labels must have a batch dim, got ", labels.str());
  XGD_CHECK(num_classes > 0, "one_hot: num_classes must be positive, got ", num_classes);
  Shape out_shape = labels.shape();
  out_shape.insert(out_shape.begin() + 1, num_classes);
  Tensor out = Tensor::empty(out_shape, dtype, labels.device());
  const int64_t N = labels.size(0), P = labels.numel() / std::max<int64_t>(N, 1);
  int64_t bad = -1;
  if (labels.device() == Device::CPU) {
    bad = dispatch_float(dtype, "one_hot", [&]<class T>() {
      return kernels::cpu::one_hot<T>(labels.data<int64_t>(), N, P, num_classes, ignore_index,
                                      out.data<T>());
    });
  } else {
    // The kernel records the first bad label's index on the device; checking it is a host read
    // of 8 bytes (a synchronisation), the price of the CPU's error for bad labels.
    Tensor flag = Tensor::empty({1}, DType::I64, labels.device());
    dispatch_float(dtype, "one_hot", [&]<class T>() {
      cuda_fns("one_hot").one_hot<T>()(labels.data<int64_t>(), N, P, num_classes, ignore_index,
                                       out.data<T>(), flag.data<int64_t>(), ops::cuda_stream());
    });
    const int64_t first = flag.to(Device::CPU).data<int64_t>()[0];
    if (first < N * P) bad = first;
  }
  XGD_CHECK(bad < 0, "one_hot: label ",
            bad < 0 ? 0 : labels.detach().to(Device::CPU).data<int64_t>()[bad], " at flat index ",
            bad, " of ", labels.str(), " is outside [0, ", num_classes,
            ") and is not ignore_index ", ignore_index);
  return out;
}

}  // namespace xgd
