// Grad-CAM family against the grad-cam package (fixture from tests/reference/make_cams.py), and
// the saliency loss's gradient (first-order mode) against finite differences.
#include <gtest/gtest.h>

#include "engine/autograd.h"
#include "engine/nn.h"
#include "engine/ops.h"
#include "tests/support/fixture.h"
#include "tests/support/gradcheck.h"
#include "xgd/cam.h"

namespace xgd {
namespace {

using nn::BatchNorm2d;
using nn::Conv2d;
using nn::ReLU;
using nn::Sequential;

// The fixture's TinySeg: stem (conv/2, BN, ReLU) -> layer (conv, BN, ReLU) -> head 1×1 -> ×2.
struct TinySeg : nn::Module {
  TinySeg() : Module("TinySeg") {
    Generator gen(3);
    stem = register_module("stem", std::make_shared<Sequential>());
    stem->push_back(std::make_shared<Conv2d>(
        3, 8, 3, nn::Conv2dOptions{.stride = 2, .padding = 1, .bias = false}, gen));
    stem->push_back(std::make_shared<BatchNorm2d>(8));
    stem->push_back(std::make_shared<ReLU>());
    layer = register_module("layer", std::make_shared<Sequential>());
    layer->push_back(
        std::make_shared<Conv2d>(8, 6, 3, nn::Conv2dOptions{.padding = 1, .bias = false}, gen));
    layer->push_back(std::make_shared<BatchNorm2d>(6));
    layer->push_back(std::make_shared<ReLU>());
    head = register_module("head", std::make_shared<Conv2d>(6, 4, 1, nn::Conv2dOptions{}, gen));
  }
  Tensor forward(const Tensor& x) override {
    return interpolate_bilinear_scale((*head)((*layer)((*stem)(x))), 2.0, 2.0, false);
  }
  std::shared_ptr<Sequential> stem, layer;
  std::shared_ptr<Conv2d> head;
};

std::shared_ptr<TinySeg> load_tinyseg(const test::Fixture& f) {
  auto net = std::make_shared<TinySeg>();
  std::map<std::string, Tensor> state;
  for (auto& [name, t] : f.tensors)
    if (name.rfind("weights.", 0) == 0) state[name.substr(8)] = t;
  net->load_state_dict(state, /*strict=*/true);
  net->eval();
  return net;
}

TEST(CamReference, EveryMethodMatchesTheGradCamPackage) {
  test::Fixture f = test::load_fixture("cam", "tinyseg");
  auto net = load_tinyseg(f);
  nn::Capture capture(*net, {"layer"});
  Tensor logits = (*net)(f["input"]);
  // Float32 through two convs, BN and a resize: a few ulp of O(1) values.
  EXPECT_ALL_CLOSE(logits, f["logits"], 1e-5, 1e-5);
  Tensor A = capture["layer"];
  EXPECT_ALL_CLOSE(A, f["acts"], 1e-5, 1e-5);
  Tensor y = sum(cam::target_score(logits, {}));
  Tensor G = autograd::grad({y}, {A}, {}, true)[0];
  // The gradient sums 8×8×4 bilinear/conv contributions: rtol 1e-4.
  EXPECT_ALL_CLOSE(G, f["grads"], 1e-5, 1e-4);
  for (const char* name : {"gradcam", "gradcampp", "hirescam", "eigengradcam", "layercam"}) {
    SCOPED_TRACE(name);
    cam::Method method = cam::parse_method(name);
    cam::CamResult r = cam::compute(method, logits, A, {}, 16, 16);
    // Raw maps: sums over 6 channels of products of the above: atol 1e-5 on O(0.1–1) values.
    // EigenGradCAM's axis comes from power iteration here and from LAPACK's SVD there.
    double atol = method == cam::Method::EigenGradCam ? 1e-4 : 1e-5;
    EXPECT_ALL_CLOSE(r.cam, f[std::string(name) + ".raw"], atol, 1e-4);
    // Final maps: the package's min-max -> cv2 resize -> min-max equals our resize -> min-max
    // up to its two ε (1e-7) and cv2's float arithmetic: atol 1e-4 on [0, 1].
    EXPECT_ALL_CLOSE(r.saliency, f[std::string(name) + ".final"], 1e-4, 0);
  }
}

TEST(Cam, ConstantMapNormalisesToZerosNotNaN) {
  Tensor flat = Tensor::full({2, 3, 3}, 0.0);
  Tensor s = cam::normalise_saliency(flat, 6, 6);
  for (double v : s.to_vector()) EXPECT_EQ(v, 0.0);
  Tensor A = Tensor::ones({1, 2, 3, 3}).requires_grad_();
  Tensor G = Tensor::zeros({1, 2, 3, 3});
  for (auto m : {cam::Method::GradCam, cam::Method::GradCamPlusPlus, cam::Method::HiResCam,
                 cam::Method::EigenGradCam, cam::Method::LayerCam})
    for (double v : cam::normalise_saliency(cam::cam_from_gradients(m, A, G), 3, 3).to_vector())
      EXPECT_EQ(v, 0.0) << cam::method_name(m);
}

TEST(Cam, BadInputs) {
  EXPECT_THROW(cam::parse_method("gradcam+++"), Error);
  Tensor A = Tensor::ones({1, 2, 3, 3}), G = Tensor::ones({1, 2, 3, 4});
  EXPECT_THROW(cam::cam_from_gradients(cam::Method::GradCam, A, G), Error);
  Tensor logits = Tensor::zeros({1, 4, 3, 3});
  cam::Target t{cam::TargetKind::Class, 4, {}};
  EXPECT_THROW(cam::target_score(logits, t), Error);
  EXPECT_THROW(cam::compute(cam::Method::GradCam, logits, A, {}, 3, 3), Error);  // no graph
}

// The saliency loss trains the student: d L_sa / dθ in float64 against central differences,
// with G frozen at θ0 (first-order mode's definition). Parameters upstream of the target layer
// get a non-zero gradient; the head, downstream, gets exactly zero in this mode.
TEST(CamGradcheck, SaliencyLossReachesParametersUpstreamOfTheLayer) {
  test::Fixture f = test::load_fixture("cam", "tinyseg");
  auto net = load_tinyseg(f);
  net->to(DType::F64);
  Tensor x = f["input"].to(DType::F64);
  Tensor teacher_map = test::random_f64({2, 16, 16}, 7, 0.0, 1.0, false);
  for (auto method : {cam::Method::GradCam, cam::Method::GradCamPlusPlus, cam::Method::HiResCam,
                      cam::Method::EigenGradCam, cam::Method::LayerCam}) {
    SCOPED_TRACE(cam::method_name(method));
    cam::CamWeights w0;  // everything first-order mode holds constant, taken at θ0
    {
      nn::Capture capture(*net, {"layer"});
      Tensor logits = (*net)(x);
      Tensor A = capture["layer"];
      Tensor G = autograd::grad({sum(cam::target_score(logits, {}))}, {A})[0];
      w0 = cam::cam_weights(method, A, G);
    }
    auto loss = [&](const std::vector<Tensor>&) {
      nn::Capture capture(*net, {"layer"});
      (*net)(x);
      Tensor m = relu(cam::apply_cam(method, capture["layer"], w0));
      return mse(teacher_map, cam::normalise_saliency(m, 16, 16));
    };
    Tensor upstream = net->stem->at<Conv2d>(0).weight;
    Tensor bn = net->layer->at<BatchNorm2d>(1).weight;
    Tensor downstream = net->head->weight;
    EXPECT_GRADCHECK(loss, {upstream, bn, downstream});
    Tensor l = loss({});
    auto g = autograd::grad({l}, {upstream, downstream}, {}, false, true);
    double norm_up = 0;
    for (double v : g[0].to_vector()) norm_up += v * v;
    EXPECT_GT(norm_up, 1e-12) << "L_sa must reach the encoder";
    EXPECT_FALSE(g[1].defined()) << "first-order mode: nothing reaches the head";
  }
}

}  // namespace
}  // namespace xgd
