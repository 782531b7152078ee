// The engine's module API: nn::Module (named tree, state_dict, capture) and the layers.
#pragma once
#include "engine/nn/layers.h"
#include "engine/nn/module.h"
