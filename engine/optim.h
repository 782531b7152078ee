// The engine's optimizers (SGD, Adam, AdamW over parameter groups) and learning-rate schedules.
#pragma once
#include "engine/optim/lr_schedule.h"
#include "engine/optim/optimizer.h"
