// xgd_bench step [--device cpu|cuda] [--size S] [--batch B] [--classes K] [--reps R]
//                [--case train|xgd|all] [--peer FILE]
// Times whole training steps (xgd::train_step, the loop body of xgd_train), median of R after two
// warm-up steps; every step reads its losses on the host, so the device is synchronised:
//   train  deeplabv3plus_resnet18: CE, backward, Adam (the baseline step)
//   xgd    + teacher deeplabv3plus_resnet101 (eval, frozen): its logits and Grad-CAM saliency,
//          L = CE + KL(τ=1) + MSE of the saliencies, L_sa differentiable (first-order mode)
// --peer FILE: the JSON written by apps/xgd_bench/pytorch_peer.py, the same steps in PyTorch +
// segmentation_models_pytorch on the same device; each line then ends in
// `ratio <peer ms / our ms>` (> 1: ours is faster). On cuda each line also gives the caching
// allocator's peak bytes and the cudaMalloc calls made during the timed steps (0 = steady state).
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "apps/xgd_bench/bench.h"
#include "engine/error.h"
#include "engine/optim.h"
#include "models/registry.h"
#include "xgd/trainer.h"
#if defined(XGD_HAVE_CUDA)
#include "kernels/cuda/runtime.h"
#endif

namespace xgd::bench {
namespace {

constexpr const char* kUsage =
    "xgd_bench step [--device cpu|cuda] [--size S] [--batch B] [--classes K] [--reps R] "
    "[--case train|xgd|all] [--peer FILE]";

struct StepArgs {
  Device device = Device::CPU;
  int64_t size = 512, batch = 8, classes = 21;
  int reps = 10;
  std::string which = "all", peer;
};

StepArgs parse(const std::vector<std::string>& args) {
  StepArgs a;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&]() -> const std::string& {
      XGD_CHECK(i + 1 < args.size(), "xgd_bench step: ", args[i], " needs a value (usage: ", kUsage,
                ")");
      return args[++i];
    };
    const std::string& k = args[i];
    if (k == "--device") {
      const std::string& d = value();
      XGD_CHECK(d == "cpu" || d == "cuda", "xgd_bench step: --device cpu or cuda, got ", d);
      a.device = d == "cuda" ? Device::CUDA : Device::CPU;
    } else if (k == "--size") {
      a.size = std::stoll(value());
    } else if (k == "--batch") {
      a.batch = std::stoll(value());
    } else if (k == "--classes") {
      a.classes = std::stoll(value());
    } else if (k == "--reps") {
      a.reps = std::stoi(value());
    } else if (k == "--case") {
      a.which = value();
      XGD_CHECK(a.which == "train" || a.which == "xgd" || a.which == "all",
                "xgd_bench step: --case train, xgd or all, got ", a.which);
    } else if (k == "--peer") {
      a.peer = value();
    } else {
      XGD_FAIL("xgd_bench step: unknown option ", k, " (usage: ", kUsage, ")");
    }
  }
  XGD_CHECK(a.size >= 32 && a.batch >= 2 && a.classes >= 2 && a.reps >= 1,
            "xgd_bench step: need --size >= 32, --batch >= 2 (batch norm in training), "
            "--classes >= 2, --reps >= 1");
  return a;
}

// The peer's median ms for `name`, or a negative number when there is no peer file/entry.
double peer_ms(const std::string& file, const std::string& name, const StepArgs& a) {
  if (file.empty()) return -1;
  std::ifstream in(file);
  XGD_CHECK(in.good(), "xgd_bench step: cannot read --peer ", file);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    XGD_FAIL("xgd_bench step: --peer ", file, " is not JSON: ", e.what());
  }
  XGD_CHECK(j.value("batch", -1) == a.batch && j.value("size", -1) == a.size,
            "xgd_bench step: ", file, " was measured at batch ", j.value("batch", -1), " size ",
            j.value("size", -1), ", not ", a.batch, " and ", a.size);
  if (!j.contains(name)) return -1;
  return j[name].value("ms", -1.0);
}

void run_case(const std::string& name, const StepArgs& a) {
  const bool xgd = name == "xgd";
  auto student = models::create_model("deeplabv3plus_resnet18", {.classes = a.classes, .seed = 1});
  student->to(a.device);
  std::shared_ptr<models::SegmentationModel> teacher;
  StepSetup s;
  s.student = student.get();
  s.student_layer = student->default_target_layer();
  if (xgd) {
    teacher = models::create_model("deeplabv3plus_resnet101", {.classes = a.classes, .seed = 2});
    teacher->to(a.device);
    teacher->eval();
    for (Tensor& p : teacher->parameters()) p.requires_grad_(false);
    s.teacher = teacher.get();
    s.teacher_layer = teacher->default_target_layer();
    s.pi = s.sa = true;
  }
  optim::Adam adam(optim::decay_groups(*student, 1e-4, 0.0));

  std::mt19937_64 rng(0);
  std::normal_distribution<double> normal;
  std::uniform_int_distribution<int64_t> label(0, a.classes - 1);
  std::vector<double> xv(a.batch * 3 * a.size * a.size), yv(a.batch * a.size * a.size);
  for (double& v : xv) v = normal(rng);
  for (double& v : yv) v = static_cast<double>(label(rng));
  const Tensor x = Tensor::from_vector(xv, {a.batch, 3, a.size, a.size}, DType::F32).to(a.device);
  const Tensor y = Tensor::from_vector(yv, {a.batch, a.size, a.size}, DType::I64).to(a.device);

  auto step = [&] { train_step(s, adam, x, y, /*measure_sa_grad_norm=*/false); };
  step();  // first-use costs: allocations, the cache's size classes
#if defined(XGD_HAVE_CUDA)
  uint64_t mallocs_before = 0;
  if (a.device == Device::CUDA) {
    step();
    cuda::reset_peak_stats();
    mallocs_before = cuda::allocator_stats().device_mallocs;
  }
#endif
  const double ms = 1e3 * time_median(step, a.reps, a.device == Device::CUDA ? 0 : 1);
  std::printf("step %-5s device %s batch %lld size %lld ms %.2f img/s %.1f", name.c_str(),
              device_name(a.device), static_cast<long long>(a.batch),
              static_cast<long long>(a.size), ms, 1e3 * static_cast<double>(a.batch) / ms);
#if defined(XGD_HAVE_CUDA)
  if (a.device == Device::CUDA) {
    const auto st = cuda::allocator_stats();
    std::printf(" peak_mib %.0f cuda_mallocs %llu", st.peak_in_use / 1048576.0,
                static_cast<unsigned long long>(st.device_mallocs - mallocs_before));
  }
#endif
  const double peer = peer_ms(a.peer, name, a);
  if (peer > 0) std::printf(" peer_ms %.2f ratio %.2f", peer, peer / ms);
  std::printf("\n");
  std::fflush(stdout);
}

int bench_step(const std::vector<std::string>& args) {
  const StepArgs a = parse(args);
  for (const char* name : {"train", "xgd"})
    if (a.which == "all" || a.which == name) run_case(name, a);
  return 0;
}

}  // namespace

XGD_REGISTER_BENCH(step, "one training step and one XGD step (DeepLabV3+ R18 <- R101)", bench_step);

}  // namespace xgd::bench
