// e2e: xgd_info, xgd_run and xgd_predict as users run them: smp's exported weights file in
// (rebuilt byte for byte, tests/models/smp_export.h), smp's logits out; a JPEG in, a mask PNG
// out; exit codes 0 / 1 (error) / 2 (usage) and the messages.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "data/image_io.h"
#include "data/transforms.h"
#include "engine/autograd.h"
#include "engine/io/safetensors.h"
#include "engine/ops/reduce.h"
#include "models/flops.h"
#include "tests/models/smp_export.h"

namespace xgd::models {
namespace {

struct CliResult {
  int rc;
  std::string out;  // stdout and stderr
};

CliResult run(const std::string& app, const std::string& args) {
  std::string cmd = app + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Per-process names: ctest runs each test in its own process, possibly in parallel.
std::string temp(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) /
          ("xgd_models_" + std::to_string(getpid()) + "_" + name))
      .string();
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector()) m = std::max(m, std::abs(v));
  return m;
}

// smp's export of the name-filled pspnet_resnet18 (3 classes), written once per process and
// removed at exit.
struct SmpWeightsFile {
  std::string path = temp("pspnet_resnet18_smp.safetensors");
  SmpWeightsFile() {
    auto fx = test::load_fixture("models", "pspnet_resnet18");
    auto bytes = test_support::rebuild_smp_export(fx, "pspnet_resnet18");
    EXPECT_EQ(test_support::crc32(bytes), static_cast<uint32_t>(fx.number("smp_crc32")));
    test_support::write_bytes(path, bytes);
  }
  ~SmpWeightsFile() { std::remove(path.c_str()); }
};
const std::string& smp_weights() {
  static SmpWeightsFile file;
  return file.path;
}

TEST(XgdInfo, ParamsAndGflops) {
  CliResult r = run(XGD_INFO_APP, "--model pspnet_resnet18 --classes 21 --size 64");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("\nparams: 11422005\n"), std::string::npos) << r.out;  // smp's count
  auto m = create_model("pspnet_resnet18", {.classes = 21, .init = false});
  char expect[64];
  std::snprintf(expect, sizeof expect, "gflops: %.2f", 2.0 * forward_cost(*m, 64, 64).macs / 1e9);
  EXPECT_NE(r.out.find(expect), std::string::npos) << r.out;
  r = run(XGD_INFO_APP, "--model deeplabv3plus_mobilenetv2 --classes 2 --size 50 --layers");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("padded to 64x64"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("decoder.block1.0"), std::string::npos) << r.out;
  r = run(XGD_INFO_APP, "--model unet_resnet18");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("error: unknown model \"unet_resnet18\""), std::string::npos) << r.out;
  r = run(XGD_INFO_APP, "--classes 3");
  EXPECT_EQ(r.rc, 2) << r.out;
}

// A weights file exported from smp loads and gives smp's logits (eval and train mode) and the
// captured layers through xgd_run. Tolerances: as tests/models/reference_test.cpp (float32,
// PSPNet: PyTorch's own float32 error is ~1e-6 of max|logit|).
TEST(XgdRun, SmpExportedWeightsGiveSmpLogits) {
  auto fx = test::load_fixture("models", "pspnet_resnet18");
  auto inputs = test::load_fixture("models", "inputs");
  std::string in = temp("run_in.safetensors"), out = temp("run_out.safetensors");
  io::save_safetensors(in, {{"input", inputs["x_square"]}});
  CliResult r = run(XGD_RUN_APP, "--model pspnet_resnet18 --classes 3 --weights " + smp_weights() +
                                     " --input " + in + " --output " + out +
                                     " --capture decoder.conv --capture encoder.layer2");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto y = io::load_safetensors(out);
  EXPECT_TRUE(test::all_close(y.tensors.at("logits"), fx["logits_eval_square"],
                              5e-5 * max_abs(fx["logits_eval_square"]), 5e-4));
  EXPECT_EQ(y.tensors.at("decoder.conv").shape(), (Shape{2, 512, 8, 8}));
  EXPECT_EQ(y.tensors.at("encoder.layer2").shape(), (Shape{2, 128, 8, 8}));
  // Train mode (batch statistics), dropout off; --classes read from the weights.
  r = run(XGD_RUN_APP, "--model pspnet_resnet18 --weights " + smp_weights() + " --input " + in +
                           " --output " + out + " --train --no-dropout");
  ASSERT_EQ(r.rc, 0) << r.out;
  y = io::load_safetensors(out);
  EXPECT_TRUE(test::all_close(y.tensors.at("logits"), fx["logits_train_square"],
                              5e-5 * max_abs(fx["logits_train_square"]), 5e-4));
  std::remove(in.c_str());
  std::remove(out.c_str());
}

TEST(XgdRun, LoadingRulesAndErrors) {
  std::string in = temp("run_in2.safetensors"), out = temp("run_out2.safetensors");
  io::save_safetensors(in, {{"input", Tensor::zeros({1, 3, 32, 40})}});
  std::string common = " --weights " + smp_weights() + " --input " + in + " --output " + out;
  // Another class count: strict fails naming the head's keys; non-strict loads the rest.
  CliResult r = run(XGD_RUN_APP, "--model pspnet_resnet18 --classes 5" + common);
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("error: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("segmentation_head.0.weight"), std::string::npos) << r.out;
  r = run(XGD_RUN_APP, "--model pspnet_resnet18 --classes 5 --non-strict" + common);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("shape-mismatched (skipped) keys (2)"), std::string::npos) << r.out;
  EXPECT_EQ(io::load_safetensors(out).tensors.at("logits").shape(), (Shape{1, 5, 32, 40}));
  // Wrong architecture for the file: strict lists missing and unexpected keys.
  r = run(XGD_RUN_APP, "--model deeplabv3plus_resnet18 --classes 3" + common);
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("decoder.block1.0.weight"), std::string::npos) << r.out;
  // smp's input check.
  io::save_safetensors(in, {{"input", Tensor::zeros({1, 3, 30, 40})}});
  r = run(XGD_RUN_APP, "--model pspnet_resnet18" + common);
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("divisible by 8. Consider pad your images to shape (32, 40)"),
            std::string::npos)
      << r.out;
  r = run(XGD_RUN_APP, "--model pspnet_resnet18 --capture decoder.nope" + common);
  EXPECT_EQ(r.rc, 1) << r.out;
  r = run(XGD_RUN_APP, "--model pspnet_resnet18 --no-dropout" + common);  // needs --train
  EXPECT_EQ(r.rc, 2) << r.out;
  std::remove(in.c_str());
  std::remove(out.c_str());
}

// A real JPEG (odd size) in, a mask PNG out: the colour mask, the class indices (equal to the
// argmax of the padded in-process forward), the overlay.
TEST(XgdPredict, JpegToMaskPng) {
  std::string image = std::string(XGD_SOURCE_DIR) + "/data/samples/voc/JPEGImages/2007_000032.jpg";
  std::string mask = temp("mask.png"), idx = temp("idx.png"), overlay = temp("overlay.jpg");
  CliResult r =
      run(XGD_PREDICT_APP, "--model pspnet_resnet18 --weights " + smp_weights() + " --image " +
                               image + " --out " + mask + " --overlay " + overlay);
  ASSERT_EQ(r.rc, 0) << r.out;
  data::Image in = data::read_image(image, 3);
  data::Image colours = data::read_image(mask, 0);
  EXPECT_EQ(colours.channels, 3);
  EXPECT_EQ(colours.height, in.height);
  EXPECT_EQ(colours.width, in.width);
  EXPECT_EQ(data::read_image(overlay, 3).width, in.width);
  r = run(XGD_PREDICT_APP, "--model pspnet_resnet18 --weights " + smp_weights() + " --image " +
                               image + " --out " + idx + " --indices");
  ASSERT_EQ(r.rc, 0) << r.out;
  data::Image indices = data::read_image(idx, 1);
  // The same prediction in-process: normalise, pad to a multiple of 8, forward, crop, argmax.
  auto model = create_model("pspnet_resnet18", {.classes = 3, .init = false});
  model->load_weights(smp_weights(), true);
  model->eval();
  auto [ph, pw] = padded_size(in.height, in.width, model->output_stride());
  Tensor x = Tensor::empty({1, 3, ph, pw});
  std::vector<int64_t> labels(static_cast<size_t>(ph * pw));
  data::render_sample(in, data::Image(in.height, in.width, 1),
                      {.scaled_h = in.height, .scaled_w = in.width}, data::Normalization{},
                      static_cast<int>(ph), static_cast<int>(pw), x.data<float>(), labels.data());
  autograd::NoGradGuard no_grad;
  auto pred = argmax(crop_top_left((*model)(x), in.height, in.width), 1).to_vector();
  ASSERT_EQ(pred.size(), indices.pixels.size());
  for (size_t i = 0; i < pred.size(); ++i) {
    ASSERT_EQ(indices.pixels[i], pred[i]) << "pixel " << i;
    const auto& c = data::voc_colormap()[static_cast<size_t>(pred[i])];
    ASSERT_EQ(colours.pixels[3 * i], c[0]) << "pixel " << i;
  }
  // Errors: a missing image, weights of another architecture.
  r = run(XGD_PREDICT_APP, "--model pspnet_resnet18 --weights " + smp_weights() +
                               " --image /nonexistent.jpg --out " + mask);
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("/nonexistent.jpg"), std::string::npos) << r.out;
  r = run(XGD_PREDICT_APP, "--model pspnet_mobilenetv2 --weights " + smp_weights() + " --image " +
                               image + " --out " + mask);
  EXPECT_EQ(r.rc, 1) << r.out;
  r = run(XGD_PREDICT_APP, "--model pspnet_resnet18 --image " + image);
  EXPECT_EQ(r.rc, 2) << r.out;
  for (auto& p : {mask, idx, overlay}) std::remove(p.c_str());
}

}  // namespace
}  // namespace xgd::models
