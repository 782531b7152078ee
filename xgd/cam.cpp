#include "xgd/cam.h"

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/rng.h"

namespace xgd::cam {

Method parse_method(const std::string& name) {
  if (name == "gradcam") return Method::GradCam;
  if (name == "gradcampp" || name == "gradcam++") return Method::GradCamPlusPlus;
  if (name == "hirescam") return Method::HiResCam;
  if (name == "eigengradcam") return Method::EigenGradCam;
  if (name == "layercam") return Method::LayerCam;
  XGD_FAIL("unknown CAM method '", name,
           "' (expected gradcam, gradcampp, hirescam, eigengradcam or layercam)");
}

const char* method_name(Method method) {
  switch (method) {
    case Method::GradCam:
      return "gradcam";
    case Method::GradCamPlusPlus:
      return "gradcampp";
    case Method::HiResCam:
      return "hirescam";
    case Method::EigenGradCam:
      return "eigengradcam";
    case Method::LayerCam:
      return "layercam";
  }
  return "?";
}

Tensor target_score(const Tensor& logits, const Target& target) {
  check_defined(logits, "cam::target_score", "logits");
  XGD_CHECK(logits.dim() == 4, "cam::target_score: logits must be N×K×H×W, got ", logits.str());
  switch (target.kind) {
    case TargetKind::Predicted:
      // z[argmax] = max_c z; max's gradient over one dim is the one-hot of the first argmax.
      return sum(max(logits, {1}), {1, 2});
    case TargetKind::Class: {
      const int64_t c = target.class_index;
      XGD_CHECK(c >= 0 && c < logits.size(1), "cam::target_score: class ", c, " outside [0, ",
                logits.size(1), ") for logits ", logits.str());
      return sum(slice(logits, 1, c, c + 1), {1, 2, 3});
    }
    case TargetKind::Labels: {
      check_defined(target.labels, "cam::target_score", "labels");
      XGD_CHECK(
          target.labels.dim() == 3 && target.labels.size(0) == logits.size(0) &&
              target.labels.size(1) == logits.size(2) && target.labels.size(2) == logits.size(3),
          "cam::target_score: labels ", target.labels.str(), " do not match logits ", logits.str());
      Tensor mask = one_hot(target.labels, logits.size(1), 255, logits.dtype());
      return sum(mul(mask, logits), {1, 2, 3});
    }
  }
  XGD_FAIL("cam::target_score: unknown target kind");
}

namespace {

// First principal axis (N×C×1) of the rows of F (N×C×P, pixels as samples, already centred):
// the top eigenvector of F·Fᵀ. Repeated squaring (M ← M²/‖M²‖, 8 times = M^256) makes the
// power iteration converge unless the two top eigenvalues are within ~1% of each other.
Tensor principal_axis(const Tensor& F) {
  autograd::NoGradGuard no_grad;
  const int64_t N = F.size(0), C = F.size(1);
  Tensor M = matmul(F, transpose(F, 1, 2));  // (N, C, C), symmetric PSD
  auto normalise = [](const Tensor& m, std::vector<int64_t> dims) {
    return div(m, add(sqrt(sum(mul(m, m), dims, true)), 1e-30));
  };
  Tensor P = normalise(M, {1, 2});
  for (int i = 0; i < 8; ++i) P = normalise(matmul(P, P), {1, 2});
  // A fixed start vector (not all-ones, which may be orthogonal to the axis by symmetry).
  Tensor v = Tensor::empty({N, C, 1}, F.dtype(), F.device());
  Generator gen(0x5eed);
  uniform_(v, 0.5, 1.5, gen);
  v = normalise(matmul(P, v), {1, 2});
  for (int i = 0; i < 2; ++i) v = normalise(matmul(M, v), {1, 2});
  return v;
}

}  // namespace

namespace {
// Eigen's pixel-centred G⊙A as N×C×P rows (differentiable in A when A is).
Tensor centred_product(const Tensor& A, const Tensor& G) {
  Tensor X = mul(G, A);
  return sub(X, mean(X, {2, 3}, true)).reshape({A.size(0), A.size(1), A.size(2) * A.size(3)});
}
}  // namespace

CamWeights cam_weights(Method method, const Tensor& A, const Tensor& G) {
  check_defined(A, "cam", "activations");
  check_defined(G, "cam", "gradients");
  XGD_CHECK(A.dim() == 4 && A.shape() == G.shape(), "cam: activations ", A.str(), " and gradients ",
            G.str(), " must be the same N×C×h×w");
  autograd::NoGradGuard no_grad;
  Tensor a = A.detach(), g = G.detach();
  CamWeights w;
  switch (method) {
    case Method::GradCam:
      w.channel = cam_channel_weights(g);  // fused mean over h×w (engine/ops/cam.h)
      break;
    case Method::GradCamPlusPlus:
      // Fused; where G = 0 the term is 0/1e-6 = 0, the package's np.where(grads != 0, aij, 0).
      w.channel = gradcampp_channel_weights(a, g);
      break;
    case Method::HiResCam:
      w.pixel = g;
      break;
    case Method::LayerCam:
      w.pixel = relu(g);
      break;
    case Method::EigenGradCam: {
      w.pixel = g;
      w.axis = principal_axis(centred_product(a, g));
      Tensor p = matmul(transpose(w.axis, 1, 2), centred_product(a, g));  // (N, 1, P)
      // Sign rule: +1 unless |min| > |max|, i.e. unless max + min < 0.
      Tensor t = add(max(p, {1, 2}, true), min(p, {1, 2}, true));
      Tensor s = clamp(mul(t, 1e30), -1.0, 1.0);  // ±1 (0 only when max = -min exactly)
      w.sign = add(s, rsub(1.0, abs(s)));         // ... and +1 then, as the package keeps it
      break;
    }
  }
  return w;
}

Tensor apply_cam(Method method, const Tensor& A, const CamWeights& w) {
  switch (method) {
    case Method::GradCam:
    case Method::GradCamPlusPlus:  // one fused kernel: ReLU(Σ_k α_k·A_k)
      return cam_weighted_sum_relu(A, w.channel);
    case Method::HiResCam:
    case Method::LayerCam:  // ReLU(Σ_k W_k⊙A_k)
      return cam_weighted_sum_relu(A, w.pixel);
    case Method::EigenGradCam: {
      Tensor p = matmul(transpose(w.axis, 1, 2), centred_product(A, w.pixel));
      return relu(mul(p, w.sign).reshape({A.size(0), A.size(2), A.size(3)}));
    }
  }
  XGD_FAIL("cam: unknown method");
}

Tensor cam_from_gradients(Method method, const Tensor& A, const Tensor& G) {
  return apply_cam(method, A, cam_weights(method, A, G));
}

Tensor normalise_saliency(const Tensor& cam, int64_t H, int64_t W, double eps) {
  check_defined(cam, "cam::normalise_saliency", "cam");
  XGD_CHECK(cam.dim() == 3, "cam::normalise_saliency: expected N×h×w, got ", cam.str());
  const int64_t N = cam.size(0);
  Tensor up = cam.reshape({N, 1, cam.size(1), cam.size(2)});
  if (cam.size(1) != H || cam.size(2) != W) up = interpolate_bilinear(up, H, W, false);
  // Fused per-image (x − min)/(max − min + eps), gradient through min and max included.
  return minmax_normalise(up.reshape({N, H, W}), eps);
}

CamResult compute(Method method, const Tensor& logits, const Tensor& activations,
                  const Target& target, int64_t H, int64_t W) {
  check_defined(activations, "cam::compute", "activations");
  XGD_CHECK(activations.requires_grad(), "cam::compute: activations ", activations.str(),
            " are not in the graph of the logits (capture the layer, with cut_graph for a "
            "model without parameter gradients)");
  Tensor y = sum(target_score(logits, target));
  Tensor G = autograd::grad({y}, {activations}, {}, /*retain_graph=*/true)[0];
  CamResult r;
  r.cam = cam_from_gradients(method, activations, G);
  r.saliency = normalise_saliency(r.cam, H, W);
  return r;
}

}  // namespace xgd::cam
