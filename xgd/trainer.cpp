#include "xgd/trainer.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/loader.h"
#include "engine/autograd.h"
#include "engine/nn.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "models/registry.h"
#include "xgd/checkpoint.h"
#include "xgd/evaluate.h"
#include "xgd/plot.h"
#include "xgd/progress.h"

namespace xgd {

namespace fs = std::filesystem;

namespace {

struct MethodTerms {
  bool pi = false, sa = false;
};

MethodTerms method_terms(const std::string& method) {
  if (method == "baseline") return {false, false};
  if (method == "xgd") return {true, true};
  if (method == "pi") return {true, false};
  if (method == "sa") return {false, true};
  XGD_FAIL("--method: unknown method '", method, "' (expected baseline, xgd, pi or sa)");
}

Device parse_device(const std::string& d) {
  if (d == "cpu") return Device::CPU;
  if (d == "cuda") return Device::CUDA;
  XGD_FAIL("--device: unknown device '", d, "' (expected cpu or cuda)");
}

std::unique_ptr<optim::Optimizer> make_optimizer(const TrainConfig& c, nn::Module& model) {
  auto groups = optim::decay_groups(model, c.lr, c.weight_decay);
  if (c.optim == "adam") return std::make_unique<optim::Adam>(groups);
  if (c.optim == "adamw") return std::make_unique<optim::AdamW>(groups);
  if (c.optim == "sgd")
    return std::make_unique<optim::SGD>(groups, optim::SGDOptions{.momentum = c.momentum});
  XGD_FAIL("--optim: unknown optimizer '", c.optim, "' (expected adam, adamw or sgd)");
}

optim::LrSchedule make_schedule(const TrainConfig& c, int64_t total) {
  optim::LrSchedule s = c.schedule == "constant" ? optim::LrSchedule::constant(c.lr)
                        : c.schedule == "poly"   ? optim::LrSchedule::poly(c.lr, total)
                        : c.schedule == "cosine"
                            ? optim::LrSchedule::cosine(c.lr, total)
                            : (XGD_FAIL("--schedule: unknown schedule '", c.schedule,
                                        "' (expected constant, poly or "
                                        "cosine)"),
                               optim::LrSchedule::constant(c.lr));
  return c.warmup > 0 ? s.with_warmup(c.warmup, 0.1) : s;
}

// Summed on the device, read once: one host sync, not one per parameter.
double l2_norm(const std::vector<Tensor>& grads) {
  Tensor total;
  for (const Tensor& g : grads) {
    if (!g.defined()) continue;
    Tensor s = sum(mul(g, g));
    total = total.defined() ? add(total, s) : s;
  }
  return total.defined() ? std::sqrt(total.item()) : 0.0;
}

struct Run {
  const TrainConfig& cfg;
  MethodTerms terms;
  Device device;
  cam::Method cam_method;
  data::Dataset train_set, val_set;
  std::shared_ptr<models::SegmentationModel> student, teacher;
  std::string student_layer, teacher_layer;
  std::unique_ptr<optim::Optimizer> optimizer;
  std::ofstream log;
};

void write_json_line(std::ofstream& log, const nlohmann::json& j) {
  log << j.dump() << "\n";
  log.flush();
}

}  // namespace

StepLosses train_step(const StepSetup& s, optim::Optimizer& optimizer, const Tensor& x,
                      const Tensor& y, bool measure_sa_grad_norm, const std::string& where) {
  XGD_CHECK(s.student != nullptr, "train_step: no student");
  XGD_CHECK(!(s.pi || s.sa) || s.teacher != nullptr, "train_step: pi/sa need a teacher");
  const int64_t H = x.size(2), W = x.size(3);
  Tensor teacher_logits, teacher_map;
  if (s.teacher && (s.pi || s.sa)) {
    if (s.sa) {
      // The graph starts at the teacher's target layer and dies with this scope.
      nn::Capture capture(*s.teacher, {s.teacher_layer}, /*cut_graph=*/true);
      Tensor z = (*s.teacher)(x);
      teacher_map = cam::compute(s.cam, z, capture[s.teacher_layer], {}, H, W).saliency.detach();
      teacher_logits = z.detach();
    } else {
      autograd::NoGradGuard no_grad;
      teacher_logits = (*s.teacher)(x);
    }
  }

  s.student->train();
  nn::Capture capture(*s.student, {s.student_layer});
  Tensor logits = (*s.student)(x);
  DistillWeights w = s.weights;
  if (!s.pi) w.alpha = 0;
  if (!s.sa) w.beta = 0;
  DistillTerms t = distill_loss(w, s.cam, logits, s.sa ? capture[s.student_layer] : Tensor(), y,
                                teacher_logits, teacher_map);
  StepLosses l;
  l.sa_grad_norm = std::nan("");
  if (s.sa && measure_sa_grad_norm) {
    // The gradient norm that L_sa alone contributes: the proof that it trains the student.
    l.sa_grad_norm =
        l2_norm(autograd::grad({mul(t.sa, w.beta)}, s.student->parameters(), {}, true, true));
  }
  optimizer.zero_grad();
  t.total.backward();
  l.total = t.total.item(), l.seg = t.seg.item();
  l.pi = t.pi.defined() ? t.pi.item() : std::nan("");
  l.sa = t.sa.defined() ? t.sa.item() : std::nan("");
  XGD_CHECK(std::isfinite(l.total), "xgd_train: non-finite loss ", l.total, " (seg ", l.seg,
            ", pi ", l.pi, ", sa ", l.sa, ") ", where);
  optimizer.step();
  return l;
}

void train(const TrainConfig& cfg) {
  XGD_CHECK(!cfg.model.empty() && !cfg.data.empty() && !cfg.out.empty(),
            "xgd_train: --model, --data and --out are required");
  XGD_CHECK((cfg.iters > 0) != (cfg.epochs > 0), "xgd_train: give exactly one of --iters ",
            cfg.iters, " and --epochs ", cfg.epochs);
  XGD_CHECK(cfg.batch > 0, "xgd_train: --batch must be positive, got ", cfg.batch);
  XGD_CHECK(cfg.lr > 0, "xgd_train: --lr must be positive, got ", cfg.lr);
  Run run{cfg, method_terms(cfg.method), parse_device(cfg.device), cam::parse_method(cfg.cam)};
  const bool need_teacher = run.terms.pi || run.terms.sa;
  XGD_CHECK(!need_teacher || (!cfg.teacher.empty() && !cfg.teacher_model.empty()),
            "xgd_train: method ", cfg.method, " needs --teacher-model and --teacher");
  fs::create_directories(cfg.out);

  run.train_set = data::open_dataset(cfg.data, "train");
  run.val_set = data::open_dataset(cfg.data, "val");
  const int64_t classes = run.train_set.num_classes();
  run.student = models::create_model(cfg.model, {.classes = classes, .seed = cfg.seed});
  run.student->to(run.device);
  run.student_layer =
      cfg.student_layer.empty() ? run.student->default_target_layer() : cfg.student_layer;

  Progress progress(0, 1, 1);
  if (need_teacher) {
    run.teacher = models::create_model(cfg.teacher_model, {.classes = classes, .seed = cfg.seed});
    load_model_weights(cfg.teacher, *run.teacher);  // strict: refuses mismatched weights
    run.teacher->to(run.device);
    run.teacher->eval();  // BN statistics are never updated by the teacher
    for (Tensor& p : run.teacher->parameters()) p.requires_grad_(false);
    run.teacher_layer =
        cfg.teacher_layer.empty() ? run.teacher->default_target_layer() : cfg.teacher_layer;
    ConfusionMatrix cm = evaluate(*run.teacher, run.val_set, run.device, 1, cfg.workers);
    char b[160];
    std::snprintf(b, sizeof b, "teacher %s (%s) val mIoU: %.4f", cfg.teacher_model.c_str(),
                  cfg.teacher.c_str(), cm.mean_iou());
    progress.message(b);
  }

  run.optimizer = make_optimizer(cfg, *run.student);
  data::LoaderOptions lopt;
  lopt.batch_size = cfg.batch;
  lopt.workers = cfg.workers;
  lopt.seed = cfg.seed;
  lopt.augment.train = true;
  lopt.augment.crop = cfg.crop;
  data::Loader loader(run.train_set, lopt);
  XGD_CHECK(loader.batches_per_epoch() > 0, "xgd_train: the train split of ", cfg.data, " has ",
            run.train_set.size(), " samples, fewer than one batch of ", cfg.batch);
  const int64_t total = cfg.iters > 0 ? cfg.iters : cfg.epochs * loader.batches_per_epoch();
  const int64_t eval_every = cfg.eval_every > 0 ? cfg.eval_every
                             : cfg.epochs > 0   ? loader.batches_per_epoch()
                                                : total;
  optim::LrSchedule schedule = make_schedule(cfg, total);

  const std::string last_path = cfg.out + "/last.safetensors",
                    best_path = cfg.out + "/best.safetensors";
  TrainerState state;
  run.student->seed_dropout(cfg.seed);
  if (cfg.resume && fs::exists(last_path)) {
    state = load_checkpoint(last_path, *run.student, run.optimizer.get());
    loader.seek(state.epoch, state.position);
    progress.message("resumed from " + last_path + " at step " + std::to_string(state.step));
  }
  run.log.open(cfg.out + "/log.jsonl", cfg.resume ? std::ios::app : std::ios::trunc);
  XGD_CHECK(run.log.good(), cfg.out, "/log.jsonl: cannot write");

  DistillWeights w = cfg.weights;
  if (!run.terms.pi) w.alpha = 0;
  if (!run.terms.sa) w.beta = 0;
  progress = Progress(state.step, total, cfg.log_every);
  const nlohmann::json config_json = {
      {"model", cfg.model},  {"method", cfg.method}, {"teacher_model", cfg.teacher_model},
      {"alpha", w.alpha},    {"beta", w.beta},       {"tau", w.tau},
      {"cam", cfg.cam},      {"batch", cfg.batch},   {"lr", cfg.lr},
      {"optim", cfg.optim},  {"crop", cfg.crop},     {"seed", cfg.seed},
      {"total_steps", total}};

  auto save_last = [&] {
    save_checkpoint(last_path, *run.student, run.optimizer.get(), state,
                    {{"xgd.config", config_json.dump()}});
  };

  StepSetup step_setup;
  step_setup.student = run.student.get();
  step_setup.teacher = run.teacher.get();
  step_setup.student_layer = run.student_layer;
  step_setup.teacher_layer = run.teacher_layer;
  step_setup.cam = run.cam_method;
  step_setup.weights = w;
  step_setup.pi = run.terms.pi;
  step_setup.sa = run.terms.sa;

  const int64_t stop_at = cfg.stop_after > 0 ? std::min(total, state.step + cfg.stop_after) : total;
  while (state.step < stop_at) {
    data::Batch batch = loader.next();
    Tensor x = batch.images.to(run.device), y = batch.labels.to(run.device);
    schedule.apply(*run.optimizer, state.step);

    const bool log_step = (state.step + 1) % cfg.log_every == 0 || state.step + 1 == total;
    const StepLosses l =
        train_step(step_setup, *run.optimizer, x, y, run.terms.sa && log_step,
                   "at step " + std::to_string(state.step + 1) + "; the last good checkpoint is " +
                       last_path + " (try a lower --lr; --resume continues from it)");
    const double loss = l.total, seg = l.seg, pi = l.pi, sa = l.sa, sa_grad_norm = l.sa_grad_norm;
    ++state.step;
    state.epoch = loader.epoch();
    state.position = loader.position();

    std::vector<std::pair<std::string, double>> shown = {{"loss", loss}, {"seg", seg}};
    if (run.terms.pi) shown.push_back({"pi", pi});
    if (run.terms.sa) shown.push_back({"sa", sa});
    const double lr = run.optimizer->param_groups()[0].lr;
    progress.update(state.step, x.size(0), shown, lr);
    if (log_step) {
      nlohmann::json j = {{"step", state.step}, {"epoch", batch.epoch},
                          {"loss", loss},       {"seg", seg},
                          {"lr", lr},           {"img_per_s", progress.images_per_second()}};
      if (run.terms.pi) j["pi"] = pi;
      if (run.terms.sa) j["sa"] = sa, j["sa_grad_norm"] = sa_grad_norm;
      write_json_line(run.log, j);
    }

    if (state.step % eval_every == 0 || state.step == total) {
      ConfusionMatrix cm = evaluate(*run.student, run.val_set, run.device, 1, cfg.workers);
      const double miou = cm.mean_iou();
      char b[128];
      std::snprintf(b, sizeof b, "step %lld: val mIoU %.4f, pixel accuracy %.4f",
                    static_cast<long long>(state.step), miou, cm.pixel_accuracy());
      progress.message(b);
      write_json_line(run.log, {{"step", state.step},
                                {"eval", "val"},
                                {"miou", miou},
                                {"pixel_accuracy", cm.pixel_accuracy()}});
      if (std::isfinite(miou) && miou > state.best_miou) {
        state.best_miou = miou;
        save_checkpoint(best_path, *run.student, run.optimizer.get(), state,
                        {{"xgd.config", config_json.dump()}});
      }
      save_last();
    }
  }

  if (state.step < total) {  // stopped early: checkpoint and leave the rest to --resume
    save_last();
    progress.message("stopped at step " + std::to_string(state.step) + " of " +
                     std::to_string(total) + "; continue with --resume");
    return;
  }
  nlohmann::json metrics = {{"model", cfg.model},
                            {"method", cfg.method},
                            {"steps", state.step},
                            {"best_val_miou", state.best_miou}};
  if (cfg.final_eval_all_splits) {
    for (const char* split : {"train", "val", "test"}) {
      data::Dataset ds;
      try {
        ds = data::open_dataset(cfg.data, split);
      } catch (const Error& e) {
        progress.message(std::string("no ") + split + " split to evaluate: " + e.what());
        continue;
      }
      if (ds.size() == 0) continue;
      metrics["miou"][split] = evaluate(*run.student, ds, run.device, 1, cfg.workers).mean_iou();
    }
  }
  std::ofstream(cfg.out + "/metrics.json") << metrics.dump(2) << "\n";
  run.log.close();
  write_loss_curve(cfg.out + "/loss.png", read_loss_log(cfg.out + "/log.jsonl"));
  progress.message("wrote " + cfg.out +
                   "/{last,best}.safetensors, log.jsonl, metrics.json, loss.png");
}

}  // namespace xgd
