// The engine's op API: one header per op family, forward and backward defined together in the
// matching engine/ops/<family>.cpp; the CPU kernels live in kernels/cpu/<family>.*.
#pragma once
#include "engine/ops/cam.h"
#include "engine/ops/conv.h"
#include "engine/ops/dropout.h"
#include "engine/ops/interpolate.h"
#include "engine/ops/linear.h"
#include "engine/ops/loss.h"
#include "engine/ops/norm.h"
#include "engine/ops/pointwise.h"
#include "engine/ops/pool.h"
#include "engine/ops/reduce.h"
#include "engine/ops/shape_ops.h"
#include "engine/ops/softmax.h"
