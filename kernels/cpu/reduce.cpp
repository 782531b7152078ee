// Reduction kernels. Backward kernels overwrite dx (=).
//
// Layout: adjacent dims with the same reduce flag are merged and size-1 dims dropped, so any
// reduction becomes alternating (kept, reduced, kept, ...) groups. A reduction over one group is
// a pass over (outer, R, inner): inner == 1 sums contiguous rows; inner > 1 (e.g. dim 1 of
// N×C×H×W, stride H·W) accumulates whole contiguous inner blocks, so every inner loop is
// unit-stride. Several reduced groups (dims {0, 2, 3}) take one pass each, innermost first.
#include "kernels/cpu/reduce.h"

#include <algorithm>
#include <bit>
#include <climits>
#include <cstring>
#include <type_traits>
#include <vector>

namespace xgd::kernels::cpu {

namespace {

constexpr int64_t kChunk = 16384;     // elements of one row summed by one task
constexpr int64_t kBlock = 512;       // inner elements accumulated together (4 KB of doubles)
constexpr int64_t kParallel = 32768;  // below this, threads cost more than they save

struct Groups {
  std::vector<int64_t> size;
  std::vector<uint8_t> red;
  int64_t numel = 1;
};

Groups coalesce(const int64_t* shape, int ndim, const uint8_t* reduce) {
  Groups g;
  for (int d = 0; d < ndim; ++d) {
    g.numel *= shape[d];
    if (shape[d] == 1) continue;
    uint8_t r = reduce[d] ? 1 : 0;
    if (!g.size.empty() && g.red.back() == r) {
      g.size.back() *= shape[d];
    } else {
      g.size.push_back(shape[d]);
      g.red.push_back(r);
    }
  }
  if (g.size.empty()) g.size.push_back(1), g.red.push_back(0);  // one element
  return g;
}

int64_t kept_numel(const int64_t* shape, int ndim, const uint8_t* reduce) {
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d)
    if (!reduce[d]) n *= shape[d];
  return n;
}

// ---------------------------------------------------------------- sum passes
template <class In>
double row_sum(const In* x, int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]);
  return s;
}

// out[o, i] = scale · Σ_r x[o, r, i]   x: (outer, R, inner), out: (outer, inner)
template <class In, class Out>
void sum_pass(const In* x, int64_t outer, int64_t R, int64_t inner, double scale, Out* out) {
  const bool par = outer * R * inner > kParallel;
  if (inner == 1) {
    if (R <= kChunk) {
#pragma omp parallel for schedule(static) if (par)
      for (int64_t o = 0; o < outer; ++o) out[o] = static_cast<Out>(row_sum(x + o * R, R) * scale);
      return;
    }
    // Long rows: fixed chunks in parallel, partials added in order (thread-count independent).
    const int64_t nc = (R + kChunk - 1) / kChunk;
    std::vector<double> part(outer * nc);
#pragma omp parallel for schedule(static) if (par)
    for (int64_t k = 0; k < outer * nc; ++k) {
      int64_t o = k / nc, c = k % nc;
      part[k] = row_sum(x + o * R + c * kChunk, std::min(kChunk, R - c * kChunk));
    }
    for (int64_t o = 0; o < outer; ++o) {
      double s = 0;
      for (int64_t c = 0; c < nc; ++c) s += part[o * nc + c];
      out[o] = static_cast<Out>(s * scale);
    }
    return;
  }
  const int64_t nb = (inner + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t k = 0; k < outer * nb; ++k) {
    const int64_t o = k / nb, i0 = (k % nb) * kBlock, len = std::min(kBlock, inner - i0);
    double acc[kBlock];  // (len,)
    for (int64_t i = 0; i < len; ++i) acc[i] = 0;
    for (int64_t r = 0; r < R; ++r) {
      const In* p = x + (o * R + r) * inner + i0;
      for (int64_t i = 0; i < len; ++i) acc[i] += static_cast<double>(p[i]);
    }
    Out* q = out + o * inner + i0;
    for (int64_t i = 0; i < len; ++i) q[i] = static_cast<Out>(acc[i] * scale);
  }
}

// ---------------------------------------------------------------- max/min passes
// NaN wins (PyTorch propagates NaN through max/min): once m is NaN no v replaces it. The
// tests are non-short-circuit and the selects work on the bits: GCC will not if-convert float
// selects without -fno-trapping-math, and these loops must vectorise.
template <class T>
inline bool better(bool is_max, T v, T m) {
  return (is_max ? v > m : v < m) | ((v != v) & (m == m));
}
template <class T>
inline T pick(bool take_v, T v, T m) {
  using I = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  const I mask = -static_cast<I>(take_v);
  return std::bit_cast<T>((std::bit_cast<I>(v) & mask) | (std::bit_cast<I>(m) & ~mask));
}

// Extreme of n contiguous values, kept in kLanes independent lanes so the loop vectorises
// (max/min is exact in any order; any NaN wins in every order).
template <class T>
T row_extreme(bool is_max, const T* x, int64_t n) {
  constexpr int64_t kLanes = 16;
  if (n < kLanes) {
    T m = x[0];
    for (int64_t i = 1; i < n; ++i) m = pick(better(is_max, x[i], m), x[i], m);
    return m;
  }
  T lane[kLanes];
  for (int64_t j = 0; j < kLanes; ++j) lane[j] = x[j];
  int64_t i = kLanes;
  for (; i + kLanes <= n; i += kLanes) {
    if (is_max) {
      for (int64_t j = 0; j < kLanes; ++j)
        lane[j] = pick(better(true, x[i + j], lane[j]), x[i + j], lane[j]);
    } else {
      for (int64_t j = 0; j < kLanes; ++j)
        lane[j] = pick(better(false, x[i + j], lane[j]), x[i + j], lane[j]);
    }
  }
  T m = lane[0];
  for (int64_t j = 1; j < kLanes; ++j) m = pick(better(is_max, lane[j], m), lane[j], m);
  for (; i < n; ++i) m = pick(better(is_max, x[i], m), x[i], m);
  return m;
}

// out[o, i] = extreme_r x[o, r, i]
template <class T>
void extreme_pass(bool is_max, const T* x, int64_t outer, int64_t R, int64_t inner, T* out) {
  const bool par = outer * R * inner > kParallel;
  if (inner == 1) {
    const int64_t nc = (R + kChunk - 1) / kChunk;
    std::vector<T> part(outer * nc);
#pragma omp parallel for schedule(static) if (par)
    for (int64_t k = 0; k < outer * nc; ++k) {
      int64_t o = k / nc, c = k % nc;
      part[k] = row_extreme(is_max, x + o * R + c * kChunk, std::min(kChunk, R - c * kChunk));
    }
    for (int64_t o = 0; o < outer; ++o) out[o] = row_extreme(is_max, part.data() + o * nc, nc);
    return;
  }
  const int64_t nb = (inner + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t k = 0; k < outer * nb; ++k) {
    const int64_t o = k / nb, i0 = (k % nb) * kBlock, len = std::min(kBlock, inner - i0);
    T* q = out + o * inner + i0;  // (len,) running extreme
    std::memcpy(q, x + o * R * inner + i0, len * sizeof(T));
    for (int64_t r = 1; r < R; ++r) {
      const T* p = x + (o * R + r) * inner + i0;
      if (is_max) {
        for (int64_t i = 0; i < len; ++i) q[i] = pick(better(true, p[i], q[i]), p[i], q[i]);
      } else {
        for (int64_t i = 0; i < len; ++i) q[i] = pick(better(false, p[i], q[i]), p[i], q[i]);
      }
    }
  }
}

// Removes reduced group j after its pass; its kept neighbours become one group.
void drop_group(Groups& g, size_t j) {
  g.size.erase(g.size.begin() + j);
  g.red.erase(g.red.begin() + j);
  if (j > 0 && j < g.size.size()) {
    g.size[j - 1] *= g.size[j];
    g.size.erase(g.size.begin() + j);
    g.red.erase(g.red.begin() + j);
  }
}

// Runs pass(src, outer, R, inner, dst, last) for each reduced group, innermost first; the
// intermediate results live in Acc buffers, the last pass writes `out`.
template <class T, class Acc, class Pass>
void multi_pass(const T* x, Groups g, T* out, Pass pass) {
  std::vector<Acc> a, b;
  const void* src = x;
  bool src_is_input = true;
  while (true) {
    int j = -1, reduced = 0;
    for (size_t k = 0; k < g.size.size(); ++k)
      if (g.red[k]) j = static_cast<int>(k), ++reduced;
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < j; ++k) outer *= g.size[k];
    for (size_t k = j + 1; k < g.size.size(); ++k) inner *= g.size[k];
    const bool last = reduced == 1;
    std::vector<Acc>& dst = src == a.data() && !src_is_input ? b : a;
    if (!last) dst.assign(outer * inner, Acc(0));
    if (src_is_input)
      pass(static_cast<const T*>(src), outer, g.size[j], inner, last ? nullptr : dst.data(),
           last ? out : nullptr);
    else
      pass(static_cast<const Acc*>(src), outer, g.size[j], inner, last ? nullptr : dst.data(),
           last ? out : nullptr);
    if (last) return;
    src = dst.data();
    src_is_input = false;
    drop_group(g, j);
  }
}

// Calls f(x_off, out_off, len, out_step) for runs of the innermost group (split in chunks);
// out_step is 1 where the innermost group is kept, 0 where it is reduced (out constant).
template <class F>
void for_each_run(const Groups& g, F f) {
  const size_t n = g.size.size();
  std::vector<int64_t> ostride(n, 0);
  for (int64_t k = static_cast<int64_t>(n) - 1, s = 1; k >= 0; --k)
    if (!g.red[k]) ostride[k] = s, s *= g.size[k];
  const int64_t last = g.size[n - 1], rows = g.numel / last;
  const int64_t nc = (last + kChunk - 1) / kChunk;
  const int64_t step = g.red[n - 1] ? 0 : 1;
#pragma omp parallel for schedule(static) if (g.numel > kParallel)
  for (int64_t k = 0; k < rows * nc; ++k) {
    int64_t row = k / nc, c = k % nc, rem = row, o = 0;
    for (int64_t d = static_cast<int64_t>(n) - 2; d >= 0; --d) {
      o += (rem % g.size[d]) * ostride[d];
      rem /= g.size[d];
    }
    const int64_t i0 = c * kChunk;
    f(row * last + i0, o + step * i0, std::min(kChunk, last - i0), step);
  }
}

template <class T>
inline bool same_value(T a, T b) {
  return a == b || (a != a && b != b);  // NaN extreme: the NaN elements share the gradient
}

}  // namespace

template <class T>
void reduce_sum(const T* x, const int64_t* shape, int ndim, const uint8_t* reduce, double scale,
                T* out) {
  Groups g = coalesce(shape, ndim, reduce);
  if (g.numel == 0) {  // Σ of nothing is 0; a mean's scale is inf here, giving NaN as PyTorch
    std::fill_n(out, kept_numel(shape, ndim, reduce), static_cast<T>(0.0 * scale));
    return;
  }
  if (std::find(g.red.begin(), g.red.end(), 1) == g.red.end()) {
    for (int64_t i = 0; i < g.numel; ++i) out[i] = static_cast<T>(x[i] * scale);
    return;
  }
  multi_pass<T, double>(x, g, out,
                        [&](const auto* src, int64_t o, int64_t R, int64_t i, double* mid, T* fin) {
                          if (fin)
                            sum_pass(src, o, R, i, scale, fin);
                          else
                            sum_pass(src, o, R, i, 1.0, mid);
                        });
}

template <class T>
void reduce_extreme(bool is_max, const T* x, const int64_t* shape, int ndim, const uint8_t* reduce,
                    T* out) {
  Groups g = coalesce(shape, ndim, reduce);
  if (g.numel == 0) return;  // the op rejects empty reductions; empty kept dims: nothing to do
  if (std::find(g.red.begin(), g.red.end(), 1) == g.red.end()) {
    std::memcpy(out, x, g.numel * sizeof(T));
    return;
  }
  multi_pass<T, T>(x, g, out, [&](const T* src, int64_t o, int64_t R, int64_t i, T* mid, T* fin) {
    extreme_pass(is_max, src, o, R, i, fin ? fin : mid);
  });
}

template <class T>
void arg_extreme(bool is_max, const T* x, int64_t outer, int64_t R, int64_t inner, T* values,
                 int64_t* index) {
  const bool par = outer * R * inner > kParallel;
  // Rows (inner == 1), or a float dim too long for the int32 indices of the blocked path:
  // one scan per output at stride `inner`.
  if (inner == 1 || (sizeof(T) == 4 && R > INT32_MAX)) {
#pragma omp parallel for schedule(static) if (par)
    for (int64_t k = 0; k < outer * inner; ++k) {
      const T* p = x + (k / inner) * R * inner + k % inner;  // (R,) at stride inner
      T m = p[0];
      int64_t best = 0;
      for (int64_t r = 1; r < R; ++r)
        if (better(is_max, p[r * inner], m)) m = p[r * inner], best = r;
      if (values) values[k] = m;
      index[k] = best;
    }
    return;
  }
  const int64_t nb = (inner + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t k = 0; k < outer * nb; ++k) {
    const int64_t o = k / nb, i0 = (k % nb) * kBlock, len = std::min(kBlock, inner - i0);
    // Running extreme and its index per pixel; the index is kept as wide as T (int32 for
    // float) so both selects vectorise together, widened to int64 at the end.
    using I = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
    T m[kBlock];
    I idx[kBlock];  // (len,)
    const T* p0 = x + o * R * inner + i0;
    for (int64_t i = 0; i < len; ++i) m[i] = p0[i], idx[i] = 0;
    for (int64_t r = 1; r < R; ++r) {
      const T* p = p0 + r * inner;
      const I ri = static_cast<I>(r);
      for (int64_t i = 0; i < len; ++i) {
        const bool b = better(is_max, p[i], m[i]);
        m[i] = pick(b, p[i], m[i]);
        idx[i] = b ? ri : idx[i];
      }
    }
    int64_t* out_idx = index + o * inner + i0;
    for (int64_t i = 0; i < len; ++i) out_idx[i] = idx[i];
    if (values) std::memcpy(values + o * inner + i0, m, len * sizeof(T));
  }
}

template <class T>
void scatter_index_backward(const T* g, const int64_t* index, int64_t outer, int64_t R,
                            int64_t inner, T* dx) {
#pragma omp parallel for schedule(static) if (outer * R * inner > kParallel)
  for (int64_t o = 0; o < outer; ++o) {
    T* d = dx + o * R * inner;  // (R, inner)
    std::memset(d, 0, R * inner * sizeof(T));
    for (int64_t i = 0; i < inner; ++i) d[index[o * inner + i] * inner + i] = g[o * inner + i];
  }
}

template <class T>
void expand_reduced(const T* g, const int64_t* shape, int ndim, const uint8_t* reduce, T scale,
                    T* dx) {
  Groups gr = coalesce(shape, ndim, reduce);
  if (gr.numel == 0) return;
  for_each_run(gr, [&](int64_t xo, int64_t oo, int64_t len, int64_t step) {
    T* d = dx + xo;
    if (step) {
      const T* s = g + oo;
      for (int64_t i = 0; i < len; ++i) d[i] = s[i] * scale;
    } else {
      const T v = g[oo] * scale;
      for (int64_t i = 0; i < len; ++i) d[i] = v;
    }
  });
}

template <class T>
void extreme_backward_even(const T* x, const T* m, const T* g, const int64_t* shape, int ndim,
                           const uint8_t* reduce, T* dx) {
  Groups gr = coalesce(shape, ndim, reduce);
  if (gr.numel == 0) return;
  // dx = 1 where x equals its output's extreme, then counts = Σ over the reduced dims.
  for_each_run(gr, [&](int64_t xo, int64_t oo, int64_t len, int64_t step) {
    for (int64_t i = 0; i < len; ++i) dx[xo + i] = same_value(x[xo + i], m[oo + step * i]);
  });
  std::vector<T> count(kept_numel(shape, ndim, reduce));
  reduce_sum(dx, shape, ndim, reduce, 1.0, count.data());
  for_each_run(gr, [&](int64_t xo, int64_t oo, int64_t len, int64_t step) {
    for (int64_t i = 0; i < len; ++i) {
      int64_t o = oo + step * i;
      dx[xo + i] = dx[xo + i] != T(0) ? g[o] / count[o] : T(0);
    }
  });
}

#define XGD_INSTANTIATE(T)                                                                     \
  template void reduce_sum<T>(const T*, const int64_t*, int, const uint8_t*, double, T*);      \
  template void reduce_extreme<T>(bool, const T*, const int64_t*, int, const uint8_t*, T*);    \
  template void arg_extreme<T>(bool, const T*, int64_t, int64_t, int64_t, T*, int64_t*);       \
  template void scatter_index_backward<T>(const T*, const int64_t*, int64_t, int64_t, int64_t, \
                                          T*);                                                 \
  template void expand_reduced<T>(const T*, const int64_t*, int, const uint8_t*, T, T*);       \
  template void extreme_backward_even<T>(const T*, const T*, const T*, const int64_t*, int,    \
                                         const uint8_t*, T*);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

}  // namespace xgd::kernels::cpu
