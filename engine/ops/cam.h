// Grad-CAM weighting ops (issue 5: "per-channel gradient means, weighted sum, ReLU, per-image
// min/max normalisation, and their backward"), fused so a CAM is a few kernels on either
// device. xgd/cam.cpp builds GradCAM, GradCAM++, HiResCAM and LayerCAM from them.
// Kernels: kernels/cpu/cam.* and kernels/cuda/cam.*, per-element maths kernels/common/cam.h.
#pragma once
#include "engine/tensor.h"

namespace xgd {

// GradCAM's channel weights α = mean over h×w of G: N×C×h×w → N×C×1×1. Differentiable in G
// (dG = dα / (h·w), broadcast).
Tensor cam_channel_weights(const Tensor& G);

// GradCAM++'s channel weights Σ_hw relu(G)·G² / (2G² + Σ_hw(A)·G³ + 1e-6) (grad-cam 1.5.x):
// N×C×h×w (A, G) → N×C×1×1. First-order mode holds them constant: no gradient (an error if
// one is asked for A or G).
Tensor gradcampp_channel_weights(const Tensor& A, const Tensor& G);

// M = ReLU(Σ_k w_k ⊙ A_k): A N×C×h×w, weights N×C×1×1 (per channel) or N×C×h×w (per pixel)
// → N×h×w. Differentiable in A: dA = 1[M > 0]·dM·w. No gradient for the weights (an error if
// one is asked: first-order mode holds them constant).
Tensor cam_weighted_sum_relu(const Tensor& A, const Tensor& weights);

// Per image (the leading dim; any shape N×...): (x − min) / (max − min + eps). The backward
// includes the gradient through min and max, which goes to the first arg-extremum of the image
// (as the engine's min/max over one dim; NaN counts as the extreme).
Tensor minmax_normalise(const Tensor& x, double eps);

}  // namespace xgd
