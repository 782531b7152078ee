#include "xgd/checkpoint.h"

#include "engine/io/safetensors.h"
#include "engine/nn.h"

namespace xgd {

std::map<std::string, Generator*> dropout_generators(nn::Module& model) {
  std::map<std::string, Generator*> out;
  for (auto& [name, m] : model.named_modules())
    if (auto* d = dynamic_cast<nn::Dropout*>(m)) out[name] = &d->generator();
  return out;
}

void save_checkpoint(const std::string& path, models::SegmentationModel& model,
                     const optim::Optimizer* optimizer, const TrainerState& state,
                     const std::map<std::string, std::string>& extra_metadata) {
  std::map<std::string, Tensor> tensors;
  for (auto& [name, t] : model.state_dict()) tensors[name] = t;
  if (optimizer)
    for (auto& [name, t] : optimizer->state_dict("optim.")) tensors[name] = t;
  std::map<std::string, std::string> meta = extra_metadata;
  meta["xgd.model"] = model.model_name();
  meta["xgd.classes"] = std::to_string(model.classes());
  meta["xgd.step"] = std::to_string(state.step);
  meta["xgd.epoch"] = std::to_string(state.epoch);
  meta["xgd.position"] = std::to_string(state.position);
  meta["xgd.best_miou"] = std::to_string(state.best_miou);
  for (auto& [name, gen] : dropout_generators(model))
    meta["xgd.dropout." + name] = std::to_string(gen->offset());
  io::save_safetensors(path, tensors, meta);
}

namespace {
std::map<std::string, Tensor> model_part(const std::map<std::string, Tensor>& tensors) {
  std::map<std::string, Tensor> out;
  for (auto& [name, t] : tensors)
    if (name.rfind("optim.", 0) != 0) out[name] = t;
  return out;
}

int64_t meta_int(const io::SafetensorsFile& f, const std::string& key, const std::string& path) {
  auto it = f.metadata.find(key);
  XGD_CHECK(it != f.metadata.end(), path, ": not a training checkpoint (no metadata '", key, "')");
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    XGD_FAIL(path, ": metadata '", key, "' is not an integer: ", it->second);
  }
}
}  // namespace

void load_model_weights(const std::string& path, models::SegmentationModel& model) {
  auto file = io::load_safetensors(path);
  try {
    model.load_weights(model_part(file.tensors), /*strict=*/true);
  } catch (const Error& e) {
    XGD_FAIL(path, ": weights do not match model ", model.model_name(), ": ", e.what());
  }
}

TrainerState load_checkpoint(const std::string& path, models::SegmentationModel& model,
                             optim::Optimizer* optimizer) {
  auto file = io::load_safetensors(path);
  TrainerState s;
  s.step = meta_int(file, "xgd.step", path);
  s.epoch = meta_int(file, "xgd.epoch", path);
  s.position = meta_int(file, "xgd.position", path);
  auto best = file.metadata.find("xgd.best_miou");
  if (best != file.metadata.end()) s.best_miou = std::stod(best->second);
  try {
    model.load_weights(model_part(file.tensors), /*strict=*/true);
    if (optimizer) optimizer->load_state_dict(file.tensors, "optim.");
  } catch (const Error& e) {
    XGD_FAIL(path, ": cannot resume: ", e.what());
  }
  for (auto& [name, gen] : dropout_generators(model)) {
    auto it = file.metadata.find("xgd.dropout." + name);
    if (it == file.metadata.end()) continue;
    gen->set_state(gen->seed(), std::stoull(it->second));
    s.dropout_offsets[name] = gen->offset();
  }
  return s;
}

}  // namespace xgd
