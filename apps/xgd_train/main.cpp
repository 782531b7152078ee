// xgd_train: trains a student, as a baseline or distilled from a teacher with XGD
// (DESIGN.md §4 has the contract). Exit codes: 0 done, 1 error, 2 usage.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "apps/common/cli.h"
#include "engine/threads.h"
#include "xgd/trainer.h"

int main(int argc, char** argv) {
  xgd::use_passive_openmp_wait(argv);
  xgd::TrainConfig c;
  CLI::App app{"xgd_train: XGD knowledge distillation for semantic segmentation"};
  app.add_option("--model", c.model, "student model (e.g. deeplabv3plus_resnet18)")->required();
  app.add_option("--data", c.data, "dataset folder (folder layout or Pascal VOC)")->required();
  app.add_option("--out", c.out, "run folder: checkpoints, log.jsonl, metrics.json, loss.png")
      ->required();
  app.add_option("--teacher-model", c.teacher_model, "teacher model name");
  app.add_option("--teacher", c.teacher, "teacher weights (.safetensors, smp names)");
  app.add_option("--method", c.method, "baseline | xgd | pi (KL only) | sa (saliency only)")
      ->capture_default_str();
  app.add_option("--alpha", c.weights.alpha, "weight of the pixel-wise KL")->capture_default_str();
  app.add_option("--beta", c.weights.beta, "weight of the saliency MSE")->capture_default_str();
  app.add_option("--tau", c.weights.tau, "KL temperature")->capture_default_str();
  app.add_option("--cam", c.cam, "gradcam | gradcampp | hirescam | eigengradcam | layercam")
      ->capture_default_str();
  app.add_option("--layer", c.student_layer, "student target layer (default: first decoder layer)");
  app.add_option("--teacher-layer", c.teacher_layer, "teacher target layer");
  app.add_option("--iters", c.iters, "optimizer steps (or --epochs)");
  app.add_option("--epochs", c.epochs, "epochs over the train split (or --iters)");
  app.add_option("--batch", c.batch, "images per step")->capture_default_str();
  app.add_option("--lr", c.lr, "base learning rate")->capture_default_str();
  app.add_option("--optim", c.optim, "adam | adamw | sgd")->capture_default_str();
  app.add_option("--weight-decay", c.weight_decay, "weight decay (none on BN and biases)")
      ->capture_default_str();
  app.add_option("--schedule", c.schedule, "constant | poly | cosine")->capture_default_str();
  app.add_option("--warmup", c.warmup, "linear warmup steps")->capture_default_str();
  app.add_option("--crop", c.crop, "training crop size")->capture_default_str();
  app.add_option("--seed", c.seed, "seed of data order, augmentation, init and dropout")
      ->capture_default_str();
  app.add_option("--device", c.device, "cpu | cuda")->capture_default_str();
  app.add_flag("--resume", c.resume, "continue from OUT/last.safetensors");
  app.add_option("--workers", c.workers, "data loader threads (0 = one per core)");
  app.add_option("--log-every", c.log_every, "steps between log lines")->capture_default_str();
  app.add_option("--stop-after", c.stop_after,
                 "stop (with a checkpoint) after N steps of this invocation; --resume continues");
  app.add_option("--eval-every", c.eval_every, "steps between validations (0 = each epoch)");
  if (auto rc = xgd::apps::parse_args(app, argc, argv)) return *rc;
  return xgd::apps::report_errors([&] {
    xgd::train(c);
    return 0;
  });
}
