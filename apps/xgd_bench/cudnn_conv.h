// cuDNN's conv2d as the reference and the peer of our CUDA conv kernels: float NCHW, the same
// geometry (kernels/cpu/conv.h ConvGeom, groups included). Used by `xgd_bench conv --device
// cuda` (apps/xgd_bench/bench_conv_cuda.cpp) and the gpu test tests/emu/gpu_conv_cudnn_test.cpp;
// cuDNN is linked into those two only, never into the engine. Needs <cudnn.h> (CUDA builds).
#pragma once
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <algorithm>
#include <string>

#include "engine/error.h"
#include "kernels/cpu/conv.h"
#include "kernels/cuda/check.h"

#define XGD_CUDNN_CHECK(call)                                                                  \
  do {                                                                                         \
    const cudnnStatus_t xgd_cudnn_status_ = (call);                                            \
    XGD_CHECK(xgd_cudnn_status_ == CUDNN_STATUS_SUCCESS, __FILE__, ":", __LINE__, ": ", #call, \
              " failed: ", cudnnGetErrorString(xgd_cudnn_status_));                            \
  } while (0)

namespace xgd::bench {

// How cuDNN's algorithms are chosen:
//   Fastest: the fastest of cudnnFind*Algorithm for each direction (the benchmark's peer);
//   Gemm: the implicit-GEMM forward and the deterministic GEMM-based backward algorithms
//         (plain FP32 dot products: the reference the gpu test holds to the parity tolerances).
// Math is FP32 FMA (CUDNN_FMA_MATH: no TF32 tensor cores, as our kernels) unless tf32.
enum class CudnnAlgo { Fastest, Gemm };

class CudnnConv {
 public:
  CudnnConv(const kernels::cpu::ConvGeom& g, cudaStream_t stream, CudnnAlgo choice,
            bool tf32 = false)
      : g_(g), tf32_(tf32) {
    XGD_CUDNN_CHECK(cudnnCreate(&handle_));
    XGD_CUDNN_CHECK(cudnnSetStream(handle_, stream));
    XGD_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x_));
    XGD_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y_));
    XGD_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w_));
    XGD_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv_));
    XGD_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(g.N),
                                               int(g.C), int(g.H), int(g.W)));
    XGD_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(g.N),
                                               int(g.K), int(g.OH), int(g.OW)));
    XGD_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w_, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, int(g.K),
                                               int(g.Cg()), int(g.KH), int(g.KW)));
    XGD_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv_, int(g.ph), int(g.pw), int(g.sh),
                                                    int(g.sw), int(g.dh), int(g.dw),
                                                    CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    XGD_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv_, int(g.groups)));
    XGD_CUDNN_CHECK(cudnnSetConvolutionMathType(conv_, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
    int n, oc, oh, ow;
    XGD_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(conv_, x_, w_, &n, &oc, &oh, &ow));
    XGD_CHECK(n == g.N && oc == g.K && oh == g.OH && ow == g.OW,
              "cuDNN's output shape differs from ours: ", n, "x", oc, "x", oh, "x", ow);
    if (choice == CudnnAlgo::Gemm) {
      fwd_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
      bwd_data_ = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
      bwd_filter_ = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
    } else {
      find_fastest();
    }
    size_t a = 0, b = 0, c = 0;
    XGD_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(handle_, x_, w_, conv_, y_, fwd_, &a));
    XGD_CUDNN_CHECK(
        cudnnGetConvolutionBackwardDataWorkspaceSize(handle_, w_, y_, conv_, x_, bwd_data_, &b));
    XGD_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(handle_, x_, y_, conv_, w_,
                                                                   bwd_filter_, &c));
    ws_bytes_ = std::max({a, b, c, size_t(256)});
    XGD_CUDA_CHECK(cudaMalloc(&ws_, ws_bytes_));
  }
  ~CudnnConv() {
    cudaFree(ws_);
    cudnnDestroyConvolutionDescriptor(conv_);
    cudnnDestroyFilterDescriptor(w_);
    cudnnDestroyTensorDescriptor(y_);
    cudnnDestroyTensorDescriptor(x_);
    cudnnDestroy(handle_);
  }
  CudnnConv(const CudnnConv&) = delete;
  CudnnConv& operator=(const CudnnConv&) = delete;

  void forward(const float* x, const float* w, float* y) {
    const float one = 1, zero = 0;
    XGD_CUDNN_CHECK(cudnnConvolutionForward(handle_, &one, x_, x, w_, w, conv_, fwd_, ws_,
                                            ws_bytes_, &zero, y_, y));
  }
  void backward_data(const float* dy, const float* w, float* dx) {
    const float one = 1, zero = 0;
    XGD_CUDNN_CHECK(cudnnConvolutionBackwardData(handle_, &one, w_, w, y_, dy, conv_, bwd_data_,
                                                 ws_, ws_bytes_, &zero, x_, dx));
  }
  void backward_weight(const float* x, const float* dy, float* dw) {
    const float one = 1, zero = 0;
    XGD_CUDNN_CHECK(cudnnConvolutionBackwardFilter(handle_, &one, x_, x, y_, dy, conv_, bwd_filter_,
                                                   ws_, ws_bytes_, &zero, w_, dw));
  }

  // The algorithms in use, e.g. "fwd 1 bwd_data 1 bwd_filter 1" (cuDNN's enum values).
  std::string algos() const {
    return "fwd " + std::to_string(int(fwd_)) + " bwd_data " + std::to_string(int(bwd_data_)) +
           " bwd_filter " + std::to_string(int(bwd_filter_));
  }
  size_t workspace_bytes() const { return ws_bytes_; }

 private:
  // The first (fastest) successful result of each cudnnFind* (which runs every algorithm).
  void find_fastest() {
    constexpr int kMax = 16;
    int count = 0;
    cudnnConvolutionFwdAlgoPerf_t f[kMax];
    XGD_CUDNN_CHECK(
        cudnnFindConvolutionForwardAlgorithm(handle_, x_, w_, conv_, y_, kMax, &count, f));
    fwd_ = pick(f, count, "forward").algo;
    cudnnConvolutionBwdDataAlgoPerf_t d[kMax];
    XGD_CUDNN_CHECK(
        cudnnFindConvolutionBackwardDataAlgorithm(handle_, w_, y_, conv_, x_, kMax, &count, d));
    bwd_data_ = pick(d, count, "backward data").algo;
    cudnnConvolutionBwdFilterAlgoPerf_t w[kMax];
    XGD_CUDNN_CHECK(
        cudnnFindConvolutionBackwardFilterAlgorithm(handle_, x_, y_, conv_, w_, kMax, &count, w));
    bwd_filter_ = pick(w, count, "backward filter").algo;
  }
  // Results come fastest first; with FMA math, tensor-core (TF32) variants are passed over.
  template <class Perf>
  const Perf& pick(const Perf* perf, int count, const char* what) const {
    for (int i = 0; i < count; ++i) {
      const bool tensor_op = perf[i].mathType == CUDNN_TENSOR_OP_MATH ||
                             perf[i].mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
      if (perf[i].status == CUDNN_STATUS_SUCCESS && (tf32_ || !tensor_op)) return perf[i];
    }
    XGD_FAIL("cuDNN found no working ", what, " algorithm");
  }

  kernels::cpu::ConvGeom g_;
  bool tf32_ = false;
  cudnnHandle_t handle_ = nullptr;
  cudnnTensorDescriptor_t x_ = nullptr, y_ = nullptr;
  cudnnFilterDescriptor_t w_ = nullptr;
  cudnnConvolutionDescriptor_t conv_ = nullptr;
  cudnnConvolutionFwdAlgo_t fwd_{};
  cudnnConvolutionBwdDataAlgo_t bwd_data_{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter_{};
  void* ws_ = nullptr;
  size_t ws_bytes_ = 0;
};

}  // namespace xgd::bench
