// xgd_train's engine: one training run of a student (optionally distilled from a teacher),
// with evaluation, checkpoints that resume the same trajectory, and logs (DESIGN.md §4).
//
// Per step (method xgd; baseline/pi/sa drop the terms they do not use):
//   teacher (eval, parameters frozen, target layer captured with cut_graph):
//     z_T, M̂_T = Grad-CAM(z_T, A_T), then both detached and the teacher's graph freed
//   student (train): z_S, A_S; L = CE + α·τ²·KL + β·MSE(M̂_T, M̂_S(A_S)); backward; optimizer
#pragma once
#include <cstdint>
#include <string>

#include "engine/optim.h"
#include "models/segmentation_model.h"
#include "xgd/losses.h"

namespace xgd {

struct TrainConfig {
  std::string model, data, out;
  std::string teacher_model, teacher;  // required by xgd, pi and sa
  std::string method = "baseline";     // baseline | xgd | pi | sa
  DistillWeights weights;              // alpha, beta, tau (method picks which are used)
  std::string cam = "gradcam";
  std::string student_layer, teacher_layer;  // default: each model's first decoder layer
  int64_t iters = 0, epochs = 0;             // exactly one > 0
  int64_t batch = 8;
  double lr = 1e-4;
  std::string optim = "adam";  // adam | adamw | sgd
  double weight_decay = 0.0;
  double momentum = 0.9;          // sgd
  std::string schedule = "poly";  // constant | poly | cosine
  int64_t warmup = 0;
  int crop = 512;
  uint64_t seed = 0;
  std::string device = "cpu";
  bool resume = false;
  int workers = 0;
  int64_t log_every = 10;
  int64_t eval_every = 0;             // steps between validations; 0 = every epoch (or at the end)
  bool final_eval_all_splits = true;  // metrics.json: mIoU on train/val/test at the end
  // Stop after this many steps of this invocation (0 = run to the end), checkpointing first:
  // for preemptible machines and time-boxed sessions; --resume continues the same run.
  int64_t stop_after = 0;
};

// Runs the whole training; returns normally on success, throws xgd::Error otherwise.
void train(const TrainConfig& config);

// One optimisation step of the student: the body of train()'s loop, also run by the XGD-step
// parity test (CPU against CUDA) and `xgd_bench step`. The teacher (eval mode, frozen) is needed
// when pi or sa is on; weights.alpha/beta multiply the terms that are on.
struct StepSetup {
  models::SegmentationModel* student = nullptr;
  models::SegmentationModel* teacher = nullptr;
  std::string student_layer, teacher_layer;  // Grad-CAM target layers (sa)
  cam::Method cam = cam::Method::GradCam;
  DistillWeights weights;
  bool pi = false, sa = false;
};
struct StepLosses {
  double total = 0, seg = 0;
  double pi = 0, sa = 0;    // NaN when the term is off
  double sa_grad_norm = 0;  // ‖∂(β·L_sa)/∂θ‖, NaN unless measured
};
// x (N×3×H×W) and y (N×H×W int64) on the models' device. Reads the losses once (one host
// synchronisation per term); a non-finite loss throws before the optimizer touches the weights,
// with `where` (e.g. "at step 12; the last good checkpoint is ...") in the message.
StepLosses train_step(const StepSetup& setup, optim::Optimizer& optimizer, const Tensor& x,
                      const Tensor& y, bool measure_sa_grad_norm, const std::string& where = "");

}  // namespace xgd
