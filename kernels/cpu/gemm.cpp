// Packed GEMM driver (GotoBLAS/BLIS structure) and the float64 blocked GEMM.
//
// SGEMM loop nest of one thread's block of C (row-major terms; vectors run along N):
//   for ic in M by MC:            A block (mc × kc) packed into MR-row micro-panels (L3)
//     for pc in K by KC:          beta applies on the first KC step only, then C accumulates
//       pack A[ic.., pc..]
//       for jc in N by NC:        B block (kc × nc) packed into NR-col micro-panels (L2)
//         pack B[pc.., jc..]
//         for ir in mc by MR:     one A micro-panel (MR × kc) stays in L1 ...
//           for jr in nc by NR:   ... while B micro-panels stream from L2 through the kernel
// This is BLIS's skx order applied to Cᵀ = Bᵀ·Aᵀ (BLIS is column-major). Panels are zero-padded
// so the micro-kernel always runs a full MR×NR tile and masks only its stores.
// Threads: C is cut into a pm × pn grid (one block per thread, edges on MR/NR multiples), each
// thread packing its own panels: no barriers, and the duplicated packing is O((m+n)·K) against
// O(m·n·K) of FMAs.
#include "kernels/cpu/gemm.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <type_traits>
#include <vector>

#include "engine/error.h"

namespace xgd::kernels::cpu {

namespace {

// ---------------------------------------------------------------- ISA selection
bool cpu_has_avx512() {
  return __builtin_cpu_supports("avx512f");
}
bool cpu_has_avx2() {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

GemmIsa detect_isa() {
  if (cpu_has_avx512()) return GemmIsa::Avx512;
  if (cpu_has_avx2()) return GemmIsa::Avx2;
  return GemmIsa::Generic;
}

std::atomic<GemmIsa>& current_isa() {
  static std::atomic<GemmIsa> isa{detect_isa()};
  return isa;
}

// ---------------------------------------------------------------- portable micro-kernel
// Plain loops the compiler vectorises with the baseline ISA (SSE2), for CPUs without AVX2.
constexpr int kGenericMR = 4, kGenericNR = 16;

void generic_kernel(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, int64_t mr,
                    int64_t nr, float alpha, float beta) {
  float c[kGenericMR][kGenericNR] = {};  // (MR, NR)
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < kGenericMR; ++i) {
      float a = Ap[i];
      for (int j = 0; j < kGenericNR; ++j) c[i][j] += a * Bp[j];
    }
    Ap += kGenericMR;
    Bp += kGenericNR;
  }
  for (int64_t i = 0; i < mr; ++i)
    for (int64_t j = 0; j < nr; ++j)
      C[i * ldc + j] = alpha * c[i][j] + (beta != 0.0f ? beta * C[i * ldc + j] : 0.0f);
}

// ---------------------------------------------------------------- blocking
struct Config {
  detail::SgemmKernelInfo kernel;
  int64_t mc, kc, nc;  // mc a multiple of MR, nc a multiple of NR
};

Config config_for(GemmIsa isa) {
  switch (isa) {
    // KC·NR·4 = 48 KB B micro-panel, MR·KC·4 = 21 KB A micro-panel (L1: 48 KB on SPR);
    // KC·NC·4 = 720 KB B block (L2: 2 MB); MC·KC·4 = 2.6 MB A block (L3).
    case GemmIsa::Avx512:
      return {detail::sgemm_kernel_avx512(), 1680, 384, 480};
    case GemmIsa::Avx2:
      return {detail::sgemm_kernel_avx2(), 1536, 256, 512};
    default:
      return {{&generic_kernel, kGenericMR, kGenericNR}, 512, 256, 512};
  }
}

// 64-byte aligned scratch that grows and is kept per thread (OpenMP threads are persistent).
struct Scratch {
  float* p = nullptr;
  size_t n = 0;
  ~Scratch() { std::free(p); }
  float* get(size_t count) {
    if (count > n) {
      std::free(p);
      p = nullptr;
      n = 0;
      size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
      p = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!p) throw std::bad_alloc();
      n = count;
    }
    return p;
  }
};

// Ap (ceil(mc/MR) panels, each kc × MR) <- op(A)[i0 : i0+mc, p0 : p0+kc]; rows past mc are 0.
void pack_a(bool trans, const float* A, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
            float* Ap, int MR) {
  for (int64_t ir = 0; ir < mc; ir += MR) {
    int64_t rows = std::min<int64_t>(MR, mc - ir);
    float* dst = Ap + ir * kc;  // (kc, MR)
    if (!trans) {
      // A row-major (M, K): rows are contiguous in k; scatter each into the panel's column.
      for (int64_t i = 0; i < rows; ++i) {
        const float* src = A + (i0 + ir + i) * lda + p0;
        for (int64_t k = 0; k < kc; ++k) dst[k * MR + i] = src[k];
      }
      for (int64_t i = rows; i < MR; ++i)
        for (int64_t k = 0; k < kc; ++k) dst[k * MR + i] = 0.0f;
    } else {
      // A stored (K, M): each k gives `rows` contiguous values.
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = A + (p0 + k) * lda + i0 + ir;
        float* d = dst + k * MR;
        for (int64_t i = 0; i < rows; ++i) d[i] = src[i];
        for (int64_t i = rows; i < MR; ++i) d[i] = 0.0f;
      }
    }
  }
}

// Bp (ceil(nc/NR) panels, each kc × NR) <- op(B)[p0 : p0+kc, j0 : j0+nc]; cols past nc are 0.
void pack_b(bool trans, const float* B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
            float* Bp, int NR) {
  for (int64_t jr = 0; jr < nc; jr += NR) {
    int64_t cols = std::min<int64_t>(NR, nc - jr);
    float* dst = Bp + jr * kc;  // (kc, NR)
    if (!trans) {
      // B row-major (K, N): NR contiguous values per k.
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = B + (p0 + k) * ldb + j0 + jr;
        float* d = dst + k * NR;
        if (cols == NR) {
          std::memcpy(d, src, sizeof(float) * NR);
        } else {
          for (int64_t j = 0; j < cols; ++j) d[j] = src[j];
          for (int64_t j = cols; j < NR; ++j) d[j] = 0.0f;
        }
      }
    } else {
      // B stored (N, K): transpose 8 k at a time so writes fill whole 8×NR blocks.
      int64_t k = 0;
      for (; k + 8 <= kc; k += 8) {
        float* d = dst + k * NR;
        for (int64_t j = 0; j < cols; ++j) {
          const float* src = B + (j0 + jr + j) * ldb + p0 + k;
          for (int u = 0; u < 8; ++u) d[u * NR + j] = src[u];
        }
        for (int64_t j = cols; j < NR; ++j)
          for (int u = 0; u < 8; ++u) d[u * NR + j] = 0.0f;
      }
      for (; k < kc; ++k) {
        float* d = dst + k * NR;
        for (int64_t j = 0; j < cols; ++j) d[j] = B[(j0 + jr + j) * ldb + p0 + k];
        for (int64_t j = cols; j < NR; ++j) d[j] = 0.0f;
      }
    }
  }
}

// C[0:M, 0:N] = beta·C (beta == 0 writes zeros without reading C).
template <class T>
void scale_c(int64_t M, int64_t N, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    T* row = C + i * ldc;
    if (beta == T(0))
      std::fill(row, row + N, T(0));
    else if (beta != T(1))
      for (int64_t j = 0; j < N; ++j) row[j] *= beta;
  }
}

// Block size for a loop of `len`: ceil(len / blocks) rounded up to `unit`, with as few blocks
// as keep each within `max` (up to unit - 1 over it after rounding).
int64_t balanced_block(int64_t len, int64_t max, int64_t unit) {
  const int64_t blocks = (len + max - 1) / max;
  const int64_t size = (len + blocks - 1) / blocks;
  return std::min((size + unit - 1) / unit * unit, std::max<int64_t>(len, 1));
}

// One thread's block of C: rows [i_begin, i_end), cols [j_begin, j_end), all of K.
void sgemm_block(const Config& cfg, bool ta, bool tb, int64_t i_begin, int64_t i_end,
                 int64_t j_begin, int64_t j_end, int64_t K, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  static thread_local Scratch a_buf, b_buf;
  const int MR = cfg.kernel.mr, NR = cfg.kernel.nr;
  // Equal blocks no larger than the configured ones (a 2048-row block as 2×1024, not
  // 1680 + 368: a short last block repacks B for little work and runs shorter k loops).
  const int64_t mb = balanced_block(i_end - i_begin, cfg.mc, MR);
  const int64_t kb = balanced_block(K, cfg.kc, 16);
  const int64_t nb = balanced_block(j_end - j_begin, cfg.nc, NR);
  float* Ap = a_buf.get(static_cast<size_t>((mb + MR - 1) / MR * MR * kb));
  float* Bp = b_buf.get(static_cast<size_t>((nb + NR - 1) / NR * NR * kb));
  for (int64_t ic = i_begin; ic < i_end; ic += mb) {
    const int64_t mc = std::min(mb, i_end - ic);
    for (int64_t pc = 0; pc < K; pc += kb) {
      const int64_t kc = std::min(kb, K - pc);
      const float beta_k = pc == 0 ? beta : 1.0f;
      if (cfg.kernel.pack_a)
        cfg.kernel.pack_a(ta, A, lda, ic, mc, pc, kc, Ap);
      else
        pack_a(ta, A, lda, ic, mc, pc, kc, Ap, MR);
      for (int64_t jc = j_begin; jc < j_end; jc += nb) {
        const int64_t nc = std::min(nb, j_end - jc);
        if (cfg.kernel.pack_b)
          cfg.kernel.pack_b(tb, B, ldb, pc, kc, jc, nc, Bp);
        else
          pack_b(tb, B, ldb, pc, kc, jc, nc, Bp, NR);
        for (int64_t ir = 0; ir < mc; ir += MR) {
          const int64_t mr = std::min<int64_t>(MR, mc - ir);
          for (int64_t jr = 0; jr < nc; jr += NR) {
            const int64_t nr = std::min<int64_t>(NR, nc - jr);
            cfg.kernel.fn(kc, Ap + ir * kc, Bp + jr * kc, C + (ic + ir) * ldc + jc + jr, ldc, mr,
                          nr, alpha, beta_k);
          }
        }
      }
    }
  }
}

// Splits `len` into `parts` ranges on multiples of `unit`; range p is [begin, end).
void split_range(int64_t len, int64_t parts, int64_t unit, int64_t p, int64_t& begin,
                 int64_t& end) {
  int64_t units = (len + unit - 1) / unit;
  int64_t lo = units * p / parts, hi = units * (p + 1) / parts;
  begin = std::min(len, lo * unit);
  end = std::min(len, hi * unit);
}

// pm × pn thread grid for nt threads minimising the per-thread cost: the padded tile area
// (FMAs) plus the packing it duplicates, weighted ~8 elements packed per FMA-row of a tile.
void choose_grid(int64_t M, int64_t N, int64_t MR, int64_t NR, int nt, int& pm, int& pn) {
  double best = -1;
  for (int a = 1; a <= nt; ++a) {
    if (nt % a) continue;
    int b = nt / a;
    int64_t m = ((M + a - 1) / a + MR - 1) / MR * MR, n = ((N + b - 1) / b + NR - 1) / NR * NR;
    double cost = double(m) * double(n) + 8.0 * double(m + n);
    if (best < 0 || cost < best) best = cost, pm = a, pn = b;
  }
}

void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const Config cfg = config_for(current_isa().load(std::memory_order_relaxed));
  // Below ~2 MFLOP a second thread costs more to wake than it saves.
  const double flops = 2.0 * double(M) * double(N) * double(K);
  int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (flops < 2e6) nt = 1;
  if (nt == 1) {
    sgemm_block(cfg, ta, tb, 0, M, 0, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  std::exception_ptr error;
#pragma omp parallel num_threads(nt)
  {
    // The runtime may give fewer threads than asked: partition by the team actually running.
    int team = omp_get_num_threads(), pm = 1, pn = team;
    choose_grid(M, N, cfg.kernel.mr, cfg.kernel.nr, team, pm, pn);
    int t = omp_get_thread_num();
    int64_t i0, i1, j0, j1;
    split_range(M, pm, cfg.kernel.mr, t / pn, i0, i1);
    split_range(N, pn, cfg.kernel.nr, t % pn, j0, j1);
    try {
      if (i0 < i1 && j0 < j1)
        sgemm_block(cfg, ta, tb, i0, i1, j0, j1, K, alpha, A, lda, B, ldb, beta, C, ldc);
    } catch (...) {  // an exception must not leave an OpenMP region (scratch allocation)
#pragma omp critical(xgd_gemm_error)
      error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

// ---------------------------------------------------------------- float64
// Cache-blocked DGEMM for gradchecks: K in blocks of kKB with op(B)'s block packed row-major
// so the inner loop is a contiguous axpy over a row of C; rows of C are split across threads.
void dgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
           int64_t lda, const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  constexpr int64_t kKB = 128, kNB = 1024;
  scale_c(M, N, beta, C, ldc);
  const bool parallel = !omp_in_parallel() && 2.0 * double(M) * double(N) * double(K) > 2e6;
  std::vector<double> packed(tb ? kKB * kNB : 0);  // (kKB, kNB): op(B)'s block when tb
  for (int64_t jb = 0; jb < N; jb += kNB) {
    const int64_t nb = std::min(kNB, N - jb);
    for (int64_t pb = 0; pb < K; pb += kKB) {
      const int64_t kb = std::min(kKB, K - pb);
      const double* Bb = B + pb * ldb + jb;  // (kb, nb) rows of op(B), stride ldb_b
      int64_t ldb_b = ldb;
      if (tb) {
        for (int64_t k = 0; k < kb; ++k)  // packed: (kb, nb) <- Bᵀ block
          for (int64_t j = 0; j < nb; ++j) packed[k * nb + j] = B[(jb + j) * ldb + pb + k];
        Bb = packed.data();
        ldb_b = nb;
      }
#pragma omp parallel for if (parallel) schedule(static)
      for (int64_t i = 0; i < M; ++i) {
        double* c = C + i * ldc + jb;
        for (int64_t k = 0; k < kb; ++k) {
          const double a = alpha * (ta ? A[(pb + k) * lda + i] : A[i * lda + pb + k]);
          const double* b = Bb + k * ldb_b;
          for (int64_t j = 0; j < nb; ++j) c[j] += a * b[j];
        }
      }
    }
  }
}

}  // namespace

const char* gemm_isa_name(GemmIsa isa) {
  switch (isa) {
    case GemmIsa::Auto:
      return "auto";
    case GemmIsa::Avx512:
      return "avx512";
    case GemmIsa::Avx2:
      return "avx2";
    case GemmIsa::Generic:
      return "generic";
  }
  return "?";
}

void set_sgemm_isa(GemmIsa isa) {
  if (isa == GemmIsa::Auto) isa = detect_isa();
  XGD_CHECK(
      !(isa == GemmIsa::Avx512 && !cpu_has_avx512()) && !(isa == GemmIsa::Avx2 && !cpu_has_avx2()),
      "gemm: this CPU does not support the ", gemm_isa_name(isa), " micro-kernel");
  current_isa().store(isa);
}

GemmIsa sgemm_isa() {
  return current_isa().load();
}

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  // BLAS: with alpha = 0 or K = 0, A and B are not read and C = beta·C.
  if (alpha == T(0) || K <= 0) return scale_c(M, N, beta, C, ldc);
  if constexpr (std::is_same_v<T, float>)
    sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else
    dgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                           const double*, int64_t, double, double*, int64_t);

}  // namespace xgd::kernels::cpu
