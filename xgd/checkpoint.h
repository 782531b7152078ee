// Training checkpoints: one safetensors file holding the model's state_dict under its own
// (smp) names, the optimizer state under "optim.", and the trainer's position in metadata, so
// `--resume` continues the same trajectory. smp can read the weights directly
// (load_state_dict(strict=False) ignores the optim.* keys).
#pragma once
#include <map>
#include <string>

#include "engine/optim.h"
#include "models/segmentation_model.h"

namespace xgd {

struct TrainerState {
  int64_t step = 0;                 // optimizer steps done
  int64_t epoch = 0, position = 0;  // where the loader continues
  double best_miou = -1;
  std::map<std::string, uint64_t> dropout_offsets;  // Philox offsets of dropout modules
};

// Written to path.tmp then renamed (engine/io/safetensors.cpp): never a half-written file.
void save_checkpoint(const std::string& path, models::SegmentationModel& model,
                     const optim::Optimizer* optimizer, const TrainerState& state,
                     const std::map<std::string, std::string>& extra_metadata = {});
// Restores the model (strict), and when given the optimizer state; returns the trainer state.
TrainerState load_checkpoint(const std::string& path, models::SegmentationModel& model,
                             optim::Optimizer* optimizer);
// Loads only the model weights of a checkpoint or of an smp safetensors file (strict: the
// error lists missing, unexpected and mismatched keys; optim.* keys are not model keys).
void load_model_weights(const std::string& path, models::SegmentationModel& model);

// Dropout generators by module name, to save and restore their stream positions.
std::map<std::string, Generator*> dropout_generators(nn::Module& model);

}  // namespace xgd
