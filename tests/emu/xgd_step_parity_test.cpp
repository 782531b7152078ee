// A whole XGD training step (xgd::train_step: teacher forward + Grad-CAM, student forward, CE +
// pixel KL + saliency MSE, backward, optimizer) on Device::CUDA against the same step on the CPU,
// from the same weights with dropout off (issue 5: "the same three losses within 1e-3 relative
// for 3 steps"). gpu: teacher deeplabv3plus_resnet101, student deeplabv3plus_resnet18 at
// 2×3×128×128 in float32. emu: every kernel of the step runs under the CPU execution of the CUDA
// model, which is far slower than the CPU backend, so smaller models and images (the same code
// path), and float64 with a 1e-7 bound: in float32 a few steps of batch-2 training at 32 px
// amplify summation-order rounding into differences of ~1e-2 (seen), which would hide a wrong
// kernel; in float64 the two backends differ by rounding only, so any real error shows.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "data/synth.h"
#include "kernels/cuda/api.h"
#if defined(XGD_GPU_TEST)
#include "kernels/cuda/runtime.h"
#endif

#include "engine/nn.h"
#include "engine/optim.h"
#include "models/registry.h"
#include "tests/emu/device_test.h"
#include "xgd/trainer.h"

namespace xgd::test {
namespace {

struct StepCase {
  const char* teacher;
  const char* student;
  int64_t batch, size, steps;
  DType dtype;
  double rtol;
};
#if defined(XGD_GPU_TEST)
constexpr StepCase kCase{
    "deeplabv3plus_resnet101", "deeplabv3plus_resnet18", 2, 128, 3, DType::F32, 1e-3};
#else
constexpr StepCase kCase{
    "pspnet_resnet18", "deeplabv3plus_mobilenetv2", 2, 32, 1, DType::F64, 1e-7};
#endif
constexpr int64_t kClasses = 3;
// xgd_train's pipeline test below: under the emulator the cheapest pair (PSPNet-R18 runs the
// encoder to layer3 only), since the step test above already covers DeepLabV3+/MobileNetV2.
#if defined(XGD_GPU_TEST)
constexpr const char* kTrainTeacher = "deeplabv3plus_resnet101";
constexpr const char* kTrainStudent = "deeplabv3plus_resnet18";
#else
constexpr const char* kTrainTeacher = "pspnet_resnet18";
constexpr const char* kTrainStudent = "pspnet_resnet18";
#endif

// Same seed, same weights: model init is deterministic (Philox), on the CPU.
std::shared_ptr<models::SegmentationModel> make(const char* name, uint64_t seed, Device device) {
  auto m = models::create_model(name, {.classes = kClasses, .seed = seed});
  for (auto& [path, module] : m->named_modules())
    if (auto* d = dynamic_cast<nn::Dropout*>(module)) d->p = 0;  // dropout off
  m->to(kCase.dtype);
  m->to(device);
  return m;
}

std::vector<StepLosses> run_steps(Device device, const Tensor& x, const Tensor& y,
                                  cam::Method method) {
  auto teacher = make(kCase.teacher, 1, device);
  teacher->eval();
  for (Tensor& p : teacher->parameters()) p.requires_grad_(false);
  auto student = make(kCase.student, 2, device);
  optim::SGD sgd(optim::decay_groups(*student, 0.01, 1e-4), optim::SGDOptions{.momentum = 0.9});
  StepSetup s;
  s.student = student.get();
  s.teacher = teacher.get();
  s.student_layer = student->default_target_layer();
  s.teacher_layer = teacher->default_target_layer();
  s.cam = method;
  s.pi = s.sa = true;
  std::vector<StepLosses> out;
  const Tensor xd = x.to(device), yd = y.to(device);
  for (int64_t i = 0; i < kCase.steps; ++i) {
#if defined(XGD_GPU_TEST)
    // Steady state: from the third step on, the caching allocator serves every allocation.
    const uint64_t mallocs = cuda::allocator_stats().device_mallocs;
#endif
    out.push_back(train_step(s, sgd, xd, yd, /*measure_sa_grad_norm=*/i == 0));
#if defined(XGD_GPU_TEST)
    if (device == Device::CUDA && i >= 2) {
      EXPECT_EQ(cuda::allocator_stats().device_mallocs, mallocs)
          << "cudaMalloc called during step " << i + 1;
    }
#endif
  }
  return out;
}

// The engine's Device::CUDA. Under the emulator, whose cost is per block (each block wakes one OS
// thread per CUDA thread), grids are capped at 2 blocks: every kernel walks its work
// grid-stride, so the results are the same and a step takes minutes less.
void use_device() {
  use_cuda_backend();
#if !defined(XGD_GPU_TEST)
  kernels::cuda::set_max_grid_blocks(2);
#endif
}

void expect_close(double cuda, double cpu, const char* what, int64_t step, double rtol) {
  EXPECT_LE(std::abs(cuda - cpu), rtol * std::abs(cpu) + 1e-3 * rtol)
      << what << " at step " << step + 1 << ": cuda " << cuda << ", cpu " << cpu;
}

TEST(XgdStepParity, LossesMatchTheCpuForThreeSteps) {
  XGD_REQUIRE_DEVICE();
  use_device();
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  std::uniform_int_distribution<int64_t> label(0, kClasses - 1);
  const int64_t N = kCase.batch, S = kCase.size;
  std::vector<double> xv(N * 3 * S * S);
  for (double& v : xv) v = normal(rng);
  std::vector<double> yv(N * S * S);
  for (size_t i = 0; i < yv.size(); ++i) yv[i] = i % 17 == 0 ? 255 : double(label(rng));
  const Tensor x = Tensor::from_vector(xv, {N, 3, S, S}, kCase.dtype);
  const Tensor y = Tensor::from_vector(yv, {N, S, S}, DType::I64);

  const auto cpu = run_steps(Device::CPU, x, y, cam::Method::GradCam);
  const auto cuda = run_steps(Device::CUDA, x, y, cam::Method::GradCam);
  ASSERT_EQ(cpu.size(), cuda.size());
  for (size_t i = 0; i < cpu.size(); ++i) {
    SCOPED_TRACE(std::string(kCase.teacher) + " -> " + kCase.student);
    expect_close(cuda[i].seg, cpu[i].seg, "L_seg", i, kCase.rtol);
    expect_close(cuda[i].pi, cpu[i].pi, "L_pi", i, kCase.rtol);
    expect_close(cuda[i].sa, cpu[i].sa, "L_sa", i, kCase.rtol);
    expect_close(cuda[i].total, cpu[i].total, "L", i, kCase.rtol);
  }
  // L_sa's own gradient reaches the student's parameters on the device too.
  EXPECT_GT(cuda[0].sa_grad_norm, 0);
  expect_close(cuda[0].sa_grad_norm, cpu[0].sa_grad_norm, "‖∂(β·L_sa)/∂θ‖", 0, kCase.rtol);
}

// xgd_train's whole pipeline with --device cuda (loader -> device, teacher evaluation, XGD steps,
// validation on the device, checkpoints written from device tensors) against --device cpu on a
// tiny synthetic set, one step (xgd_train works in float32): the step's logged losses agree
// within float32 rounding (5e-3: the saliency's min-max normalisation and batch norm over
// 2 images amplify it) and the validation mIoU after the step within 0.02. Dropout stays on: the
// device's masks come from the same Philox stream as the CPU's.
TEST(XgdTrainOnDevice, XgdRunOnCudaMatchesTheCpuRun) {
  XGD_REQUIRE_DEVICE();
  use_device();
  namespace fs = std::filesystem;
  const std::string root =
      (fs::temp_directory_path() / ("xgd_device_e2e_" + std::to_string(::getpid()))).string();
  fs::remove_all(root);
  data::write_synth_dataset(
      root + "/data",
      {.seed = 5, .train = 4, .val = 2, .test = 2, .size = static_cast<int>(kCase.size)});
  auto config = [&](const std::string& method, const std::string& device) {
    TrainConfig c;
    c.model = method == "baseline" ? kTrainTeacher : kTrainStudent;
    c.data = root + "/data";
    c.out = root + "/" + method + "_" + device;
    c.method = method;
    c.device = device;
    c.iters = 1;
    c.batch = 2;
    c.crop = static_cast<int>(kCase.size);
    c.lr = 1e-3;
    c.log_every = 1;
    c.final_eval_all_splits = false;
    if (method != "baseline") {
      c.teacher_model = kTrainTeacher;
      c.teacher = root + "/baseline_cpu/last.safetensors";
    }
    return c;
  };
  train(config("baseline", "cpu"));  // the teacher
  train(config("xgd", "cpu"));
  train(config("xgd", "cuda"));

  auto read_log = [](const std::string& dir) {
    std::vector<nlohmann::json> v;
    std::ifstream in(dir + "/log.jsonl");
    std::string line;
    while (std::getline(in, line)) v.push_back(nlohmann::json::parse(line));
    return v;
  };
  const auto cpu = read_log(config("xgd", "cpu").out), cuda = read_log(config("xgd", "cuda").out);
  ASSERT_EQ(cpu.size(), cuda.size());
  int compared = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    // sa_grad_norm is not compared: ∂L_sa/∂θ goes through each pixel's arg-max class, and the
    // logits of a network one step from random initialisation are near ties almost everywhere,
    // so float32 rounding flips many of them (10% apart, seen; the float64 step test above
    // checks the same gradient to 1e-7).
    for (const char* key : {"loss", "seg", "pi", "sa", "miou"}) {
      if (!cpu[i].contains(key)) continue;
      ASSERT_TRUE(cuda[i].contains(key)) << key << " missing from line " << i + 1;
      const double c = cuda[i][key].get<double>(), h = cpu[i][key].get<double>();
      if (std::string(key) == "miou")
        EXPECT_NEAR(c, h, 0.02) << "validation mIoU";
      else
        expect_close(c, h, key, 0, 5e-3);
      ++compared;
    }
  }
  EXPECT_GE(compared, 5);  // 4 terms of the step + the validation mIoU
  EXPECT_GT(cuda[0].value("sa_grad_norm", 0.0), 0.0);
  EXPECT_TRUE(fs::exists(config("xgd", "cuda").out + "/best.safetensors"));
  EXPECT_TRUE(fs::exists(config("xgd", "cuda").out + "/metrics.json"));
  fs::remove_all(root);
}

}  // namespace
}  // namespace xgd::test
