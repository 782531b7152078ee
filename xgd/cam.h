// Grad-CAM family for semantic segmentation, batched and built from engine ops, so it runs on
// the model's device and never copies to the host (DESIGN.md §1).
//
//   y_n = Σ_pixels z_n[c*(p), p]       (c* = predicted class, a given class or the label)
//   G   = ∂(Σ_n y_n)/∂A                (autograd::grad, the graph kept for the training loss)
//   M   = ReLU(method(A, G))           (N×h×w, the layer's resolution)
//   M̂  = minmax(bilinear(M → H×W))    (per image, with ε: a constant map gives zeros)
//
// First-order mode (the default and the only one implemented): whatever the method derives
// from G (GradCAM's α_k = mean_hw G_k, GradCAM++'s weights, EigenGradCAM's principal axis) is a
// constant, and M is differentiable in A, so a saliency loss trains every parameter upstream
// of the target layer. Parameters downstream of it get no gradient from the saliency loss in
// this mode (they reach M only through G, which would need double backward: not implemented).
#pragma once
#include <string>

#include "engine/tensor.h"

namespace xgd::cam {

enum class Method { GradCam, GradCamPlusPlus, HiResCam, EigenGradCam, LayerCam };
// "gradcam", "gradcampp", "hirescam", "eigengradcam", "layercam" (the --cam flag values).
Method parse_method(const std::string& name);
const char* method_name(Method method);

// Which class each pixel's score is taken from.
enum class TargetKind { Predicted, Class, Labels };
struct Target {
  TargetKind kind = TargetKind::Predicted;
  int64_t class_index = 0;  // TargetKind::Class
  Tensor labels;            // TargetKind::Labels: int64 N×H×W at the logits' size, 255 ignored
};

// y (N): per-image sum over pixels of the target class's logit. Differentiable in logits.
// Predicted: Σ_p max_c z (the max's gradient is exactly the one-hot of the argmax).
Tensor target_score(const Tensor& logits, const Target& target);

// M = ReLU(method(A, G)): activations A (N×C×h×w, differentiable), gradients G (same shape,
// treated as constant). Formulas of the grad-cam package 1.5.x:
//   GradCAM     Σ_k mean_hw(G_k)·A_k
//   GradCAM++   Σ_k w_k·A_k, w_k = Σ_hw relu(G)·G² / (2G² + Σ_hw(A)·G³ + 1e-6)
//   HiResCAM    Σ_k G_k⊙A_k
//   LayerCAM    Σ_k relu(G_k)⊙A_k
//   EigenGradCAM  projection of the pixel-centred G⊙A on its first principal axis (power
//               iteration); sign rule: flipped when |min| > |max| (the package's
//               get_2d_projection_with_sign_correction, Seg-Eigen-CAM Eq. 13).
Tensor cam_from_gradients(Method method, const Tensor& A, const Tensor& G);

// The two halves of cam_from_gradients, which is apply_cam(m, A, cam_weights(m, A, G)).
// cam_weights: every quantity first-order mode holds constant, computed from detached A and G
// (GradCAM, GradCAM++: the fused channel-weight ops of engine/ops/cam.h).
// apply_cam: the map after the ReLU, differentiable in A only (GradCAM, GradCAM++, HiResCAM,
// LayerCAM: one fused weighted-sum + ReLU op; EigenGradCAM: composed engine ops).
struct CamWeights {
  Tensor channel;  // N×C×1×1: GradCAM, GradCAM++
  Tensor pixel;    // N×C×h×w: G (HiResCAM, EigenGradCAM), relu(G) (LayerCAM)
  Tensor axis;     // N×C×1: EigenGradCAM's principal axis
  Tensor sign;     // N×1×1: EigenGradCAM's sign (±1)
};
CamWeights cam_weights(Method method, const Tensor& A, const Tensor& G);
Tensor apply_cam(Method method, const Tensor& A, const CamWeights& weights);

// Upsampling to H×W (bilinear, half-pixel = align_corners false, as the package's cv2.resize)
// and per-image min-max normalisation (x - min) / (max - min + eps) (the fused
// minmax_normalise op: the gradient through min and max goes to the first arg-extremum).
// Differentiable.
Tensor normalise_saliency(const Tensor& cam, int64_t H, int64_t W, double eps = 1e-7);

struct CamResult {
  Tensor cam;       // N×h×w after ReLU, before resizing (xgd_cam --output's `cam`)
  Tensor saliency;  // N×H×W normalised, as the loss uses it
};

// The whole pipeline. `activations` must be part of the graph of `logits` (the student's
// captured layer, or a teacher layer captured with cut_graph). The graph is retained, so the
// logits can still be trained through afterwards. `size` = (H, W) of the saliency.
CamResult compute(Method method, const Tensor& logits, const Tensor& activations,
                  const Target& target, int64_t H, int64_t W);

}  // namespace xgd::cam
