// End-to-end training on a tiny synthetic set (label e2e): XGD steps lower all three losses,
// L_sa alone moves parameters upstream of the target layer, and --resume continues the same
// trajectory bit for bit.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/synth.h"
#include "engine/io/safetensors.h"
#include "models/registry.h"
#include "xgd/checkpoint.h"
#include "xgd/trainer.h"

namespace xgd {
namespace {

namespace fs = std::filesystem;

// One tiny dataset and one briefly trained teacher for every test of this file.
class TrainE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = (fs::temp_directory_path() / ("xgd_e2e_" + std::to_string(::getpid()))).string();
    fs::remove_all(root_);
    data::write_synth_dataset(root_ + "/data",
                              {.seed = 3, .train = 4, .val = 2, .test = 2, .size = 64});
    TrainConfig t = base("baseline", root_ + "/teacher");
    t.iters = 40;
    t.lr = 1e-3;
    train(t);
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static TrainConfig base(const std::string& method, const std::string& out) {
    TrainConfig c;
    c.model = "deeplabv3plus_resnet18";
    c.data = root_ + "/data";
    c.out = out;
    c.method = method;
    c.batch = 2;
    c.crop = 64;
    c.lr = 1e-3;
    c.workers = 1;
    c.log_every = 1;
    c.final_eval_all_splits = false;
    if (method != "baseline") {
      c.teacher_model = "deeplabv3plus_resnet18";
      c.teacher = root_ + "/teacher/last.safetensors";
    }
    return c;
  }

  static std::vector<nlohmann::json> steps(const std::string& out) {
    std::vector<nlohmann::json> v;
    std::ifstream in(out + "/log.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line);
      if (j.contains("loss")) v.push_back(j);
    }
    return v;
  }

  static std::string root_;
};
std::string TrainE2E::root_;

double mean_of(const std::vector<nlohmann::json>& v, size_t from, size_t to, const char* key) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += v[i][key].get<double>();
  return s / static_cast<double>(to - from);
}

TEST_F(TrainE2E, TwentyXgdStepsLowerAllThreeLosses) {
  TrainConfig c = base("xgd", root_ + "/xgd");
  c.iters = 20;
  c.schedule = "constant";
  train(c);
  auto log = steps(c.out);
  ASSERT_EQ(log.size(), 20u);
  for (const char* term : {"seg", "pi", "sa"}) {
    // Mean of the first 5 logged values against the last 5: the same 4 images are seen again
    // and again, so each term must fall clearly, not just fluctuate.
    double first = mean_of(log, 0, 5, term), last = mean_of(log, 15, 20, term);
    EXPECT_LT(last, 0.8 * first) << term << ": " << first << " -> " << last;
  }
  for (auto& j : log) EXPECT_GT(j["sa_grad_norm"].get<double>(), 0.0);
}

TEST_F(TrainE2E, SaliencyLossAloneMovesTheEncoder) {
  // alpha = 0, beta = 1 and no CE: the only gradient is L_sa's.
  TrainConfig c = base("sa", root_ + "/sa_only");
  c.iters = 1;
  auto before = models::create_model(c.model, {.classes = 5, .seed = c.seed});
  train(c);
  auto after = models::create_model(c.model, {.classes = 5});
  load_model_weights(c.out + "/last.safetensors", *after);
  Tensor a = before->state_dict()[0].second, b = after->state_dict()[0].second;
  ASSERT_EQ(before->state_dict()[0].first, "encoder.conv1.weight");
  EXPECT_NE(a.to_vector(), b.to_vector()) << "the first encoder conv did not move";
}

TEST_F(TrainE2E, ResumeGivesBitIdenticalWeights) {
  TrainConfig straight = base("xgd", root_ + "/straight");
  straight.iters = 6;
  train(straight);
  TrainConfig split = base("xgd", root_ + "/split");
  split.iters = 6;
  split.stop_after = 3;
  train(split);
  split.stop_after = 0;
  split.resume = true;
  train(split);
  auto a = io::load_safetensors(straight.out + "/last.safetensors");
  auto b = io::load_safetensors(split.out + "/last.safetensors");
  ASSERT_EQ(a.order, b.order);
  for (auto& name : a.order) {
    const Tensor& x = a.tensors.at(name);
    const Tensor& y = b.tensors.at(name);
    ASSERT_EQ(x.nbytes(), y.nbytes()) << name;
    EXPECT_EQ(0, std::memcmp(x.raw_data(), y.raw_data(), x.nbytes())) << name << " differs";
  }
}

TEST_F(TrainE2E, BadInputsAreClearErrors) {
  TrainConfig c = base("xgd", root_ + "/bad");
  c.iters = 1;
  c.teacher_model = "deeplabv3plus_mobilenetv2";  // weights are a resnet18's
  try {
    train(c);
    FAIL() << "a teacher whose weights do not match must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("last.safetensors"), std::string::npos) << e.what();
  }
  c = base("nonsense", root_ + "/bad");
  c.iters = 1;
  EXPECT_THROW(train(c), Error);
  c = base("baseline", root_ + "/bad");
  EXPECT_THROW(train(c), Error);  // neither iters nor epochs
  c.iters = 1;
  c.data = root_ + "/missing";
  EXPECT_THROW(train(c), Error);
}

}  // namespace
}  // namespace xgd
