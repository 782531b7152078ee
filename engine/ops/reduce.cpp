// Reductions: forward and backward together. Kernels: kernels/cpu/reduce.* on the CPU,
// kernels/cuda/reduce.* on Device::CUDA (through the registered ReduceTable).
//   sum/mean  d x = g broadcast over the reduced dims (· 1/count for mean)
//   max/min   one dim: d x[index] = g (PyTorch's max(dim)); several dims or all: g split evenly
//             among the elements equal to the extreme (PyTorch's max() and amax/amin)
//   argmax    int64, no gradient
#include "engine/ops/reduce.h"

#include <algorithm>
#include <sstream>

#include "engine/ops/op_util.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cuda/reduce.h"

namespace xgd {

using autograd::record;
using Grads = std::vector<Tensor>;
using Need = std::vector<bool>;

namespace {

std::string dims_str(const std::vector<int64_t>& dims) {
  std::ostringstream s;
  s << "{";
  for (size_t i = 0; i < dims.size(); ++i) s << (i ? ", " : "") << dims[i];
  s << "}";
  return s.str();
}

// Which dims are reduced, and the output's shape. An empty `dims` reduces every dim (PyTorch's
// sum(x, dim=[])). A 0-dim tensor accepts dim 0 / -1, as PyTorch does.
struct Plan {
  std::vector<uint8_t> reduce;  // (ndim,)
  Shape out_shape;
  int64_t count = 1;  // elements reduced into each output
};

Plan make_plan(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, const char* op) {
  const int64_t nd = x.dim();
  Plan p;
  p.reduce.assign(nd, dims.empty() ? 1 : 0);
  for (int64_t d : dims) {
    int64_t w = ops::wrap_dim(d, nd == 0 ? 1 : nd, op);
    if (nd == 0) continue;
    XGD_CHECK(!p.reduce[w], op, ": dim ", d, " appears more than once in dims ", dims_str(dims),
              " for ", x.str());
    p.reduce[w] = 1;
  }
  for (int64_t d = 0; d < nd; ++d) {
    if (p.reduce[d]) {
      p.count *= x.shape()[d];
      if (keepdim) p.out_shape.push_back(1);
    } else {
      p.out_shape.push_back(x.shape()[d]);
    }
  }
  return p;
}

void check_input(const Tensor& x, const char* op) {
  ops::check_float_input(x, op, "input");
}

bool on_cpu(const Tensor& t) {
  return t.device() == Device::CPU;
}
const kernels::cuda::ReduceTable& cuda_table(const char* op) {
  return ops::cuda_kernels<kernels::cuda::ReduceTable>(op);
}
template <class T>
const kernels::cuda::ReduceFns<T>& cuda_fns(const char* op) {
  return cuda_table(op).template of<T>();
}
// The launchers' scratch (kernels/cuda/reduce.h), through the device's caching allocator.
Tensor cuda_workspace(const Shape& shape, const std::vector<uint8_t>& reduce, const char* op) {
  const int64_t n =
      cuda_table(op).workspace(shape.data(), static_cast<int>(shape.size()), reduce.data());
  return Tensor::empty({std::max<int64_t>(n, 1)}, DType::F64, Device::CUDA);
}

Tensor sum_impl(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, bool mean,
                const char* op) {
  check_input(x, op);
  Plan p = make_plan(x, dims, keepdim, op);
  // A mean over zero elements is 0/0 = NaN, as PyTorch.
  const double scale = mean ? 1.0 / static_cast<double>(p.count) : 1.0;
  Tensor out = Tensor::empty(p.out_shape, x.dtype(), x.device());
  const int nd = static_cast<int>(x.dim());
  dispatch_float(x.dtype(), op, [&]<class T>() {
    if (on_cpu(x))
      return kernels::cpu::reduce_sum<T>(x.data<T>(), x.shape().data(), nd, p.reduce.data(), scale,
                                         out.data<T>());
    Tensor ws = cuda_workspace(x.shape(), p.reduce, op);
    cuda_fns<T>(op).reduce_sum(x.data<T>(), x.shape().data(), nd, p.reduce.data(), scale,
                               out.data<T>(), ws.data<double>(), ops::cuda_stream());
  });
  Shape shape = x.shape();
  auto reduce = p.reduce;
  return record(out, op, {x}, [shape, reduce, scale, op](const Tensor& g, const Need&) {
    Tensor dx = Tensor::empty(shape, g.dtype(), g.device());  // (x's shape)
    dispatch_float(g.dtype(), op, [&]<class T>() {
      const int nd = static_cast<int>(shape.size());
      if (on_cpu(g))
        return kernels::cpu::expand_reduced<T>(g.data<T>(), shape.data(), nd, reduce.data(),
                                               T(scale), dx.data<T>());
      cuda_fns<T>(op).expand_reduced(g.data<T>(), shape.data(), nd, reduce.data(), T(scale),
                                     dx.data<T>(), ops::cuda_stream());
    });
    return Grads{dx};
  });
}

// (outer, R, inner) view of x around dim d.
void split_at(const Shape& s, int64_t d, int64_t& outer, int64_t& R, int64_t& inner) {
  outer = 1, R = s.empty() ? 1 : s[d], inner = 1;
  for (int64_t k = 0; k < d; ++k) outer *= s[k];
  for (size_t k = d + 1; k < s.size(); ++k) inner *= s[k];
}

Tensor extreme_impl(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, bool is_max,
                    const char* op) {
  check_input(x, op);
  Plan p = make_plan(x, dims, keepdim, op);
  XGD_CHECK(p.count > 0, op, ": cannot reduce over zero elements (dims ", dims_str(dims), " of ",
            x.str(), ")");
  Tensor out = Tensor::empty(p.out_shape, x.dtype(), x.device());
  const int nd = static_cast<int>(x.dim());
  Shape shape = x.shape();

  if (dims.size() == 1) {
    // One dim: PyTorch's max(x, dim) — the gradient goes to the returned (first) index.
    int64_t d = x.dim() == 0 ? 0 : ops::wrap_dim(dims[0], x.dim(), op), outer, R, inner;
    split_at(shape, d, outer, R, inner);
    Tensor index = Tensor::empty(p.out_shape, DType::I64, x.device());  // (outer, inner)
    dispatch_float(x.dtype(), op, [&]<class T>() {
      if (on_cpu(x))
        return kernels::cpu::arg_extreme<T>(is_max, x.data<T>(), outer, R, inner, out.data<T>(),
                                            index.data<int64_t>());
      cuda_fns<T>(op).arg_extreme(is_max, x.data<T>(), outer, R, inner, out.data<T>(),
                                  index.data<int64_t>(), ops::cuda_stream());
    });
    return record(out, op, {x}, [shape, index, outer, R, inner, op](const Tensor& g, const Need&) {
      Tensor dx = Tensor::empty(shape, g.dtype(), g.device());
      dispatch_float(g.dtype(), op, [&]<class T>() {
        if (on_cpu(g))
          return kernels::cpu::scatter_index_backward<T>(g.data<T>(), index.data<int64_t>(), outer,
                                                         R, inner, dx.data<T>());
        cuda_fns<T>(op).scatter_index_backward(g.data<T>(), index.data<int64_t>(), outer, R, inner,
                                               dx.data<T>(), ops::cuda_stream());
      });
      return Grads{dx};
    });
  }

  dispatch_float(x.dtype(), op, [&]<class T>() {
    if (on_cpu(x))
      return kernels::cpu::reduce_extreme<T>(is_max, x.data<T>(), shape.data(), nd, p.reduce.data(),
                                             out.data<T>());
    Tensor ws = cuda_workspace(shape, p.reduce, op);
    cuda_fns<T>(op).reduce_extreme(is_max, x.data<T>(), shape.data(), nd, p.reduce.data(),
                                   out.data<T>(), ws.data<double>(), ops::cuda_stream());
  });
  Tensor xs = x.detach(), ms = out.detach();
  auto reduce = p.reduce;
  return record(out, op, {x}, [xs, ms, reduce, op](const Tensor& g, const Need&) {
    Tensor dx = Tensor::empty(xs.shape(), g.dtype(), g.device());
    dispatch_float(g.dtype(), op, [&]<class T>() {
      const int nd = static_cast<int>(xs.dim());
      if (on_cpu(g))
        return kernels::cpu::extreme_backward_even<T>(xs.data<T>(), ms.data<T>(), g.data<T>(),
                                                      xs.shape().data(), nd, reduce.data(),
                                                      dx.data<T>());
      Tensor ws = cuda_workspace(xs.shape(), reduce, op);
      cuda_fns<T>(op).extreme_backward_even(xs.data<T>(), ms.data<T>(), g.data<T>(),
                                            xs.shape().data(), nd, reduce.data(), dx.data<T>(),
                                            ws.data<double>(), ops::cuda_stream());
    });
    return Grads{dx};
  });
}

}  // namespace

Tensor sum(const Tensor& x) {
  return sum_impl(x, {}, false, false, "sum");
}
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return sum_impl(x, dims, keepdim, false, "sum");
}
Tensor mean(const Tensor& x) {
  return sum_impl(x, {}, false, true, "mean");
}
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return sum_impl(x, dims, keepdim, true, "mean");
}

// max()/min() over all elements (an empty dims list): ties share the gradient evenly, as
// PyTorch's max().
Tensor max(const Tensor& x) {
  return extreme_impl(x, {}, false, true, "max");
}
Tensor max(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extreme_impl(x, dims, keepdim, true, "max");
}
Tensor min(const Tensor& x) {
  return extreme_impl(x, {}, false, false, "min");
}
Tensor min(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extreme_impl(x, dims, keepdim, false, "min");
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  check_input(x, "argmax");
  Plan p = make_plan(x, {dim}, keepdim, "argmax");
  XGD_CHECK(p.count > 0, "argmax: cannot reduce over zero elements (dim ", dim, " of ", x.str(),
            ")");
  int64_t d = x.dim() == 0 ? 0 : ops::wrap_dim(dim, x.dim(), "argmax"), outer, R, inner;
  split_at(x.shape(), d, outer, R, inner);
  Tensor index = Tensor::empty(p.out_shape, DType::I64, x.device());
  dispatch_float(x.dtype(), "argmax", [&]<class T>() {
    if (on_cpu(x))
      return kernels::cpu::arg_extreme<T>(true, x.data<T>(), outer, R, inner, nullptr,
                                          index.data<int64_t>());
    cuda_fns<T>("argmax").arg_extreme(true, x.data<T>(), outer, R, inner, nullptr,
                                      index.data<int64_t>(), ops::cuda_stream());
  });
  return index;
}

}  // namespace xgd
