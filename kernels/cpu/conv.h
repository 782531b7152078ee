// CPU kernels of conv2d (cross-correlation as PyTorch), NCHW, raw pointers only.
//   x (N, C, H, W), w (K, C/groups, KH, KW), b (K) or null, y (N, K, OH, OW).
// Paths: 1×1 / stride 1 / pad 0 as a direct GEMM on the image; the general case as im2col +
// GEMM per image, per group and per tile of output rows (col2im for the data gradient); a
// direct depthwise kernel (groups == C, channel multiplier K / C >= 1).
// Gradients OVERWRITE (=) their outputs: dx, dw and db are written, never accumulated into.
#pragma once
#include <cstdint>

// The hot loops of the conv kernels are compiled for AVX-512, AVX2 and baseline x86-64 and
// picked at load time (the kernels library is built without -march, so plain code would get
// SSE2 only). Used on non-template per-row/per-plane workers inside kernels/cpu/conv*.cpp.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define XGD_CONV_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define XGD_CONV_CLONES
#endif

namespace xgd::kernels::cpu {

struct ConvGeom {
  int64_t N = 0, C = 0, H = 0, W = 0;  // input (N, C, H, W)
  int64_t K = 0, KH = 0, KW = 0;       // weight (K, C / groups, KH, KW)
  int64_t OH = 0, OW = 0;              // output (N, K, OH, OW)
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  int64_t groups = 1;

  int64_t Cg() const { return C / groups; }  // input channels per group
  int64_t Kg() const { return K / groups; }  // output channels per group
  bool is_pointwise() const {                // a plain GEMM on the image, no im2col
    return KH == 1 && KW == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0;
  }
  bool is_depthwise() const { return groups == C && groups > 1 && K % C == 0; }
};

// Fills OH/OW from the other fields (PyTorch's formula; <= 0 when the kernel does not fit).
ConvGeom conv_geom(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH, int64_t KW,
                   int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw,
                   int64_t groups);

// Which path runs. Auto picks Pointwise / Depthwise when the geometry allows, else Im2col;
// the others force a path (tests run every path on shapes Auto would route elsewhere); a
// forced Pointwise/Depthwise that does not fit the geometry runs Im2col.
enum class ConvAlgo { Auto, Pointwise, Im2col, Depthwise };
// Where the threads go: Inner = loop over images/tiles and let gemm (and im2col) use the
// threads; Outer = one (image, tile) per thread with single-threaded gemm. Auto chooses from
// the work-item count (measured by `xgd_bench conv`).
enum class ConvThreads { Auto, Inner, Outer };
struct ConvOptions {
  ConvAlgo algo = ConvAlgo::Auto;
  ConvThreads threads = ConvThreads::Auto;
  int64_t col_budget_bytes = 0;  // im2col tile bytes (at least one output row); 0 = default
};

// y = conv(x, w) + b
template <class T>
void conv2d_forward(const ConvGeom& g, const T* x, const T* w, const T* b, T* y,
                    const ConvOptions& opt = {});
// dx = conv_transpose(dy, w)
template <class T>
void conv2d_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx,
                          const ConvOptions& opt = {});
// dw = Σ_n dy[n] ⋆ x[n]
template <class T>
void conv2d_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw,
                            const ConvOptions& opt = {});
// db[k] = Σ_{n, oh, ow} dy[n, k, oh, ow]
template <class T>
void conv2d_backward_bias(const ConvGeom& g, const T* dy, T* db);

// The direct depthwise kernels (kernels/cpu/conv_depthwise.cpp); require g.is_depthwise().
template <class T>
void depthwise_forward(const ConvGeom& g, const T* x, const T* w, const T* b, T* y);
template <class T>
void depthwise_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx);
template <class T>
void depthwise_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw);

// im2col of output rows [oh0, oh1) of channels [c0, c0 + nc) of one image x (C, H, W) into
// col (nc·KH·KW, (oh1 - oh0)·OW), row (c, kh, kw), zeros where a tap reads padding.
template <class T>
void im2col(const ConvGeom& g, const T* x, int64_t c0, int64_t nc, int64_t oh0, int64_t oh1,
            T* col);
// The adjoint: dx (C, H, W) += col2im(col), same layout as im2col.
template <class T>
void col2im_add(const ConvGeom& g, const T* col, int64_t c0, int64_t nc, int64_t oh0, int64_t oh1,
                T* dx);

}  // namespace xgd::kernels::cpu
