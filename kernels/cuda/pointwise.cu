// CUDA kernels of the pointwise family. Every launcher overwrites its output (=). Built by nvcc
// into xgd_kernels_cuda and by the host compiler into xgd_kernels_emu (kernels/emu).
// Elementwise kernels are grid-stride loops over 256-thread blocks; broadcast binary ops
// coalesce dims first so a (N,C,H,W)+(1,C,1,1) add does two index divisions per element.
// Results match kernels/cpu bit for bit where the maths is IEEE-exact (+ - * /, sqrt, abs,
// relu, clamp; x·s+t is kept unfused with __fmul_rn) and within libm's ulps otherwise.
#include "kernels/cuda/device.h"
// (device.h first)
#include "kernels/common/pointwise.h"
#include "kernels/cuda/block_reduce.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/pointwise.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
namespace {

using cpu::kMaxDims;

// ---------------------------------------------------------------- per-element functors

template <class T>
struct AddF {
  XGD_DEVICE T operator()(T x, T y) const { return x + y; }
};
template <class T>
struct SubF {
  XGD_DEVICE T operator()(T x, T y) const { return x - y; }
};
template <class T>
struct MulF {
  XGD_DEVICE T operator()(T x, T y) const { return x * y; }
};
template <class T>
struct DivF {
  XGD_DEVICE T operator()(T x, T y) const { return x / y; }
};

template <class T>
struct NegF {
  XGD_DEVICE T operator()(T x) const { return -x; }
};
template <class T>
struct ExpF {
  XGD_DEVICE T operator()(T x) const { return std::exp(x); }
};
template <class T>
struct LogF {
  XGD_DEVICE T operator()(T x) const { return std::log(x); }
};
template <class T>
struct SqrtF {
  XGD_DEVICE T operator()(T x) const { return std::sqrt(x); }
};
template <class T>
struct AbsF {
  XGD_DEVICE T operator()(T x) const { return std::abs(x); }
};
template <class T>
struct ReluF {
  XGD_DEVICE T operator()(T x) const { return relu_fwd(x); }
};
template <class T>
struct Relu6F {
  XGD_DEVICE T operator()(T x) const { return relu6_fwd(x); }
};

template <class T>
struct AffineF {
  T scale, shift;
  XGD_DEVICE T operator()(T x) const { return mul_rn(x, scale) + shift; }
};
template <class T>
struct RdivF {
  T s;
  XGD_DEVICE T operator()(T x) const { return s / x; }
};
// As the CPU kernel: x·x for e = 2 (exact), pow otherwise.
template <class T>
struct SquareF {
  XGD_DEVICE T operator()(T x) const { return x * x; }
};
template <class T>
struct PowF {
  T e;
  XGD_DEVICE T operator()(T x) const { return std::pow(x, e); }
};
template <class T>
struct ClampF {
  T lo, hi;
  XGD_DEVICE T operator()(T x) const { return clamp_fwd(x, lo, hi); }
};

// Backward bodies: (saved, dy) -> dx.
template <class T>
struct ReluBwdF {
  XGD_DEVICE T operator()(T y, T g) const { return relu_bwd(y, g); }
};
template <class T>
struct Relu6BwdF {
  XGD_DEVICE T operator()(T x, T g) const { return relu6_bwd(x, g); }
};
template <class T>
struct ClampBwdF {
  T lo, hi;
  XGD_DEVICE T operator()(T x, T g) const { return clamp_bwd(x, lo, hi, g); }
};
template <class T>
struct PowBwdF {
  T e;
  XGD_DEVICE T operator()(T x, T g) const { return pow_bwd(x, e, g); }
};
// |x|' = sign(x), 0 at 0 (PyTorch's sgn); the engine's CPU path computes g · sign(x) too.
template <class T>
struct AbsBwdF {
  XGD_DEVICE T operator()(T x, T g) const { return g * sign(x); }
};

// ---------------------------------------------------------------- elementwise kernels
// Contiguous operands aligned to 16 bytes move in 16-byte packs (one 128-bit load or store per
// 4 floats / 2 doubles: fewer instructions, more bytes in flight); others element by element.
template <class T>
struct alignas(16) Pack {
  static constexpr int kSize = 16 / sizeof(T);
  T v[kSize];
};
inline bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

template <class T, class F>
__global__ void map_kernel(const T* __restrict__ a, T* __restrict__ out, int64_t n, F f) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) out[i] = f(a[i]);
}
template <class T, class F>
__global__ void map_pack_kernel(const T* __restrict__ a, T* __restrict__ out, int64_t n, F f) {
  constexpr int P = Pack<T>::kSize;
  const int64_t packs = n / P;
  const Pack<T>* ap = reinterpret_cast<const Pack<T>*>(a);
  Pack<T>* op = reinterpret_cast<Pack<T>*>(out);
  for (int64_t i = global_thread(); i < packs; i += grid_stride()) {
    Pack<T> x = ap[i], y;
    for (int k = 0; k < P; ++k) y.v[k] = f(x.v[k]);
    op[i] = y;
  }
  const int64_t tail = packs * P + global_thread();  // the last n % P elements
  if (tail < n) out[tail] = f(a[tail]);
}

// out[i] = f(a[i], b[i]): same-shape binary ops and the backward bodies.
template <class T, class F>
__global__ void map2_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out,
                            int64_t n, F f) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) out[i] = f(a[i], b[i]);
}
template <class T, class F>
__global__ void map2_pack_kernel(const T* __restrict__ a, const T* __restrict__ b,
                                 T* __restrict__ out, int64_t n, F f) {
  constexpr int P = Pack<T>::kSize;
  const int64_t packs = n / P;
  const Pack<T>* ap = reinterpret_cast<const Pack<T>*>(a);
  const Pack<T>* bp = reinterpret_cast<const Pack<T>*>(b);
  Pack<T>* op = reinterpret_cast<Pack<T>*>(out);
  for (int64_t i = global_thread(); i < packs; i += grid_stride()) {
    Pack<T> x = ap[i], y = bp[i], z;
    for (int k = 0; k < P; ++k) z.v[k] = f(x.v[k], y.v[k]);
    op[i] = z;
  }
  const int64_t tail = packs * P + global_thread();
  if (tail < n) out[tail] = f(a[tail], b[tail]);
}

template <class T, class F>
void map(const T* a, T* out, int64_t n, F f, cudaStream_t stream) {
  if (n == 0) return;
  constexpr int P = Pack<T>::kSize;
  if (n >= P && aligned16(a) && aligned16(out)) {
    XGD_LAUNCH((map_pack_kernel<T, F>), grid_1d((n + P - 1) / P), kBlock, 0, stream)(a, out, n, f);
  } else {
    XGD_LAUNCH((map_kernel<T, F>), grid_1d(n), kBlock, 0, stream)(a, out, n, f);
  }
  XGD_CHECK_LAUNCH();
}
template <class T, class F>
void map2(const T* a, const T* b, T* out, int64_t n, F f, cudaStream_t stream) {
  if (n == 0) return;
  constexpr int P = Pack<T>::kSize;
  if (n >= P && aligned16(a) && aligned16(b) && aligned16(out)) {
    XGD_LAUNCH((map2_pack_kernel<T, F>), grid_1d((n + P - 1) / P), kBlock, 0, stream)
    (a, b, out, n, f);
  } else {
    XGD_LAUNCH((map2_kernel<T, F>), grid_1d(n), kBlock, 0, stream)(a, b, out, n, f);
  }
  XGD_CHECK_LAUNCH();
}

// ---------------------------------------------------------------- broadcast binary
// Output dims after dropping size-1 dims and merging neighbours that are contiguous in both
// inputs; strides are 0 along broadcast dims. I is uint32 when every offset fits (faster
// division on the GPU), int64 otherwise.
template <class I>
struct BroadcastGeom {
  int ndim = 0;
  I shape[kMaxDims] = {};
  I a_stride[kMaxDims] = {};
  I b_stride[kMaxDims] = {};
};

template <class T, class I, class F>
__global__ void broadcast_kernel(const T* __restrict__ a, const T* __restrict__ b,
                                 T* __restrict__ out, I n, BroadcastGeom<I> g, F f) {
  for (int64_t i = global_thread(); i < static_cast<int64_t>(n); i += grid_stride()) {
    I rem = static_cast<I>(i), ao = 0, bo = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
      I q = rem / g.shape[d], idx = rem - q * g.shape[d];
      ao += idx * g.a_stride[d];
      bo += idx * g.b_stride[d];
      rem = q;
    }
    out[i] = f(a[ao], b[bo]);
  }
}

template <class I>
BroadcastGeom<I> to_geom(const Broadcast& m, int ndim, const int64_t* shape) {
  BroadcastGeom<I> g;
  g.ndim = ndim;
  for (int d = 0; d < ndim; ++d) {
    g.shape[d] = static_cast<I>(shape[d]);
    g.a_stride[d] = static_cast<I>(m.a_stride[d]);
    g.b_stride[d] = static_cast<I>(m.b_stride[d]);
  }
  return g;
}

template <class T, class F>
void binary_impl(const T* a, const T* b, T* out, const Broadcast& bc, F f, cudaStream_t stream) {
  // Coalesce: drop size-1 dims, merge d into the previous kept dim when both inputs step
  // through them contiguously (stride[prev] == stride[d] · shape[d], which also holds for 0).
  Broadcast m;
  int nd = 0;
  int64_t n = 1;
  for (int d = 0; d < bc.ndim; ++d) {
    n *= bc.shape[d];
    if (bc.shape[d] == 1) continue;
    if (nd > 0 && m.a_stride[nd - 1] == bc.a_stride[d] * bc.shape[d] &&
        m.b_stride[nd - 1] == bc.b_stride[d] * bc.shape[d]) {
      m.shape[nd - 1] *= bc.shape[d];
      m.a_stride[nd - 1] = bc.a_stride[d];
      m.b_stride[nd - 1] = bc.b_stride[d];
      continue;
    }
    m.shape[nd] = bc.shape[d];
    m.a_stride[nd] = bc.a_stride[d];
    m.b_stride[nd] = bc.b_stride[d];
    ++nd;
  }
  if (n == 0) return;
  if (nd <= 1 && (nd == 0 || (m.a_stride[0] == 1 && m.b_stride[0] == 1))) {
    return map2(a, b, out, n, f, stream);  // same shape (or one element)
  }
  if (n <= INT32_MAX) {
    XGD_LAUNCH((broadcast_kernel<T, uint32_t, F>), grid_1d(n), kBlock, 0, stream)
    (a, b, out, static_cast<uint32_t>(n), to_geom<uint32_t>(m, nd, m.shape), f);
  } else {
    XGD_LAUNCH((broadcast_kernel<T, int64_t, F>), grid_1d(n), kBlock, 0, stream)
    (a, b, out, n, to_geom<int64_t>(m, nd, m.shape), f);
  }
  XGD_CHECK_LAUNCH();
}

// ---------------------------------------------------------------- sum_to
// Input dims split into kept (out has them) and reduced (out has 1) segments, size-1 dims
// dropped, same-kind neighbours merged. Output index o and reduction index r map to the input
// offset kept_offset(o) + reduced_offset(r).
struct SumGeom {
  int nk = 0, nr = 0;
  int64_t ksize[kMaxDims] = {}, kstride[kMaxDims] = {};
  int64_t rsize[kMaxDims] = {}, rstride[kMaxDims] = {};
  int64_t K = 1, R = 1;
};

XGD_DEVICE int64_t offset_of(int64_t idx, int n, const int64_t* size, const int64_t* stride) {
  int64_t off = 0;
  for (int d = n - 1; d >= 0; --d) {
    int64_t q = idx / size[d];
    off += (idx - q * size[d]) * stride[d];
    idx = q;
  }
  return off;
}

// Innermost segment reduced and long: one block per output, threads stride along r
// (contiguous loads), block tree sum.
template <class T>
__global__ void sum_to_rows_kernel(const T* __restrict__ in, T* __restrict__ out, SumGeom g) {
  for (int64_t o = blockIdx.x; o < g.K; o += gridDim.x) {
    const T* base = in + offset_of(o, g.nk, g.ksize, g.kstride);
    double acc = 0;
    for (int64_t r = threadIdx.x; r < g.R; r += blockDim.x)
      acc += static_cast<double>(base[offset_of(r, g.nr, g.rsize, g.rstride)]);
    acc = block_sum(acc);
    if (threadIdx.x == 0) out[o] = static_cast<T>(acc);
  }
}

// Otherwise: 32 consecutive outputs per block along x (coalesced when the innermost segment is
// kept), 8 slices of r along y, the 8 partial sums added in y order.
constexpr unsigned kColX = 32, kColY = 8;
template <class T>
__global__ void sum_to_cols_kernel(const T* __restrict__ in, T* __restrict__ out, SumGeom g) {
  __shared__ double part[kColY][kColX + 1];
  for (int64_t tile = blockIdx.x; tile * kColX < g.K; tile += gridDim.x) {
    const int64_t o = tile * kColX + threadIdx.x;
    double acc = 0;
    if (o < g.K) {
      const T* base = in + offset_of(o, g.nk, g.ksize, g.kstride);
      for (int64_t r = threadIdx.y; r < g.R; r += kColY)
        acc += static_cast<double>(base[offset_of(r, g.nr, g.rsize, g.rstride)]);
    }
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && o < g.K) {
      double s = 0;
      for (unsigned y = 0; y < kColY; ++y) s += part[y][threadIdx.x];
      out[o] = static_cast<T>(s);
    }
    __syncthreads();  // part is rewritten by the next tile
  }
}

}  // namespace

// ---------------------------------------------------------------- launchers
template <class T>
void binary(BinaryOp op, const T* a, const T* b, T* out, const Broadcast& bc, cudaStream_t s) {
  switch (op) {
    case BinaryOp::Add:
      return binary_impl(a, b, out, bc, AddF<T>{}, s);
    case BinaryOp::Sub:
      return binary_impl(a, b, out, bc, SubF<T>{}, s);
    case BinaryOp::Mul:
      return binary_impl(a, b, out, bc, MulF<T>{}, s);
    case BinaryOp::Div:
      return binary_impl(a, b, out, bc, DivF<T>{}, s);
  }
}

template <class T>
void scalar_affine(const T* a, T* out, int64_t n, T scale, T shift, cudaStream_t s) {
  map(a, out, n, AffineF<T>{scale, shift}, s);
}
template <class T>
void scalar_rdiv(T v, const T* a, T* out, int64_t n, cudaStream_t s) {
  map(a, out, n, RdivF<T>{v}, s);
}

template <class T>
void unary(UnaryOp op, const T* a, T* out, int64_t n, cudaStream_t s) {
  switch (op) {
    case UnaryOp::Neg:
      return map(a, out, n, NegF<T>{}, s);
    case UnaryOp::Exp:
      return map(a, out, n, ExpF<T>{}, s);
    case UnaryOp::Log:
      return map(a, out, n, LogF<T>{}, s);
    case UnaryOp::Sqrt:
      return map(a, out, n, SqrtF<T>{}, s);
    case UnaryOp::Abs:
      return map(a, out, n, AbsF<T>{}, s);
    case UnaryOp::Relu:
      return map(a, out, n, ReluF<T>{}, s);
    case UnaryOp::Relu6:
      return map(a, out, n, Relu6F<T>{}, s);
  }
}

template <class T>
void pow_scalar(const T* a, T e, T* out, int64_t n, cudaStream_t s) {
  if (e == T(2)) return map(a, out, n, SquareF<T>{}, s);
  map(a, out, n, PowF<T>{e}, s);
}
template <class T>
void clamp(const T* a, T lo, T hi, T* out, int64_t n, cudaStream_t s) {
  map(a, out, n, ClampF<T>{lo, hi}, s);
}
template <class T>
void relu_backward(const T* y, const T* dy, T* dx, int64_t n, cudaStream_t s) {
  map2(y, dy, dx, n, ReluBwdF<T>{}, s);
}
template <class T>
void relu6_backward(const T* x, const T* dy, T* dx, int64_t n, cudaStream_t s) {
  map2(x, dy, dx, n, Relu6BwdF<T>{}, s);
}
template <class T>
void clamp_backward(const T* x, T lo, T hi, const T* dy, T* dx, int64_t n, cudaStream_t s) {
  map2(x, dy, dx, n, ClampBwdF<T>{lo, hi}, s);
}
template <class T>
void pow_backward(const T* x, T e, const T* dy, T* dx, int64_t n, cudaStream_t s) {
  map2(x, dy, dx, n, PowBwdF<T>{e}, s);
}
template <class T>
void abs_backward(const T* x, const T* dy, T* dx, int64_t n, cudaStream_t s) {
  map2(x, dy, dx, n, AbsBwdF<T>{}, s);
}

template <class T>
void sum_to(const T* in, const int64_t* in_shape, int nd, const int64_t* out_shape, T* out,
            cudaStream_t s) {
  SumGeom g;
  int64_t in_n = 1, out_n = 1, stride = 1;
  for (int d = 0; d < nd; ++d) {
    in_n *= in_shape[d];
    out_n *= out_shape[d];
  }
  if (out_n == 0) return;
  if (in_n == 0) {  // sums over nothing
    XGD_CUDA_CHECK(cudaMemsetAsync(out, 0, out_n * sizeof(T), s));
    return;
  }
  // Walk dims innermost first, building segments in reverse, then flip them.
  int last_kind = -1;  // 0 kept, 1 reduced
  for (int d = nd - 1; d >= 0; --d) {
    const int64_t size = in_shape[d];
    if (size != 1) {
      const int kind = out_shape[d] == 1 ? 1 : 0;
      int& cnt = kind ? g.nr : g.nk;
      int64_t* sz = kind ? g.rsize : g.ksize;
      int64_t* st = kind ? g.rstride : g.kstride;
      if (kind == last_kind) {
        sz[cnt - 1] *= size;  // merge: contiguous with the segment just inside it
      } else {
        sz[cnt] = size;
        st[cnt] = stride;
        ++cnt;
      }
      last_kind = kind;
    }
    stride *= size;
  }
  std::reverse(g.ksize, g.ksize + g.nk);
  std::reverse(g.kstride, g.kstride + g.nk);
  std::reverse(g.rsize, g.rsize + g.nr);
  std::reverse(g.rstride, g.rstride + g.nr);
  for (int i = 0; i < g.nk; ++i) g.K *= g.ksize[i];
  for (int i = 0; i < g.nr; ++i) g.R *= g.rsize[i];
  if (g.R == 1) {  // nothing is summed: out is in with its size-1 dims dropped
    XGD_CUDA_CHECK(cudaMemcpyAsync(out, in, out_n * sizeof(T), cudaMemcpyDeviceToDevice, s));
    return;
  }
  const bool inner_reduced = g.nr > 0 && g.rstride[g.nr - 1] == 1;
  if (inner_reduced && g.R >= 64) {
    unsigned threads = g.R >= 256 ? 256 : (g.R >= 128 ? 128 : 64);
    unsigned blocks = static_cast<unsigned>(std::min<int64_t>(g.K, max_grid_blocks()));
    XGD_LAUNCH(sum_to_rows_kernel<T>, blocks, threads, 0, s)(in, out, g);
  } else {
    unsigned blocks = grid_1d(g.K, kColX);
    XGD_LAUNCH(sum_to_cols_kernel<T>, blocks, dim3(kColX, kColY), 0, s)(in, out, g);
  }
  XGD_CHECK_LAUNCH();
}

namespace {
template <class T>
PointwiseFns<T> make_fns() {
  return {&binary<T>,         &scalar_affine<T>, &scalar_rdiv<T>,   &unary<T>,
          &pow_scalar<T>,     &clamp<T>,         &relu_backward<T>, &relu6_backward<T>,
          &clamp_backward<T>, &pow_backward<T>,  &abs_backward<T>,  &sum_to<T>};
}
}  // namespace

const PointwiseTable& pointwise_table() {
  static const PointwiseTable table{make_fns<float>(), make_fns<double>()};
  return table;
}

#define XGD_INSTANTIATE(T)                                                                   \
  template void binary<T>(BinaryOp, const T*, const T*, T*, const Broadcast&, cudaStream_t); \
  template void scalar_affine<T>(const T*, T*, int64_t, T, T, cudaStream_t);                 \
  template void scalar_rdiv<T>(T, const T*, T*, int64_t, cudaStream_t);                      \
  template void unary<T>(UnaryOp, const T*, T*, int64_t, cudaStream_t);                      \
  template void pow_scalar<T>(const T*, T, T*, int64_t, cudaStream_t);                       \
  template void clamp<T>(const T*, T, T, T*, int64_t, cudaStream_t);                         \
  template void relu_backward<T>(const T*, const T*, T*, int64_t, cudaStream_t);             \
  template void relu6_backward<T>(const T*, const T*, T*, int64_t, cudaStream_t);            \
  template void clamp_backward<T>(const T*, T, T, const T*, T*, int64_t, cudaStream_t);      \
  template void pow_backward<T>(const T*, T, const T*, T*, int64_t, cudaStream_t);           \
  template void abs_backward<T>(const T*, const T*, T*, int64_t, cudaStream_t);              \
  template void sum_to<T>(const T*, const int64_t*, int, const int64_t*, T*, cudaStream_t);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
