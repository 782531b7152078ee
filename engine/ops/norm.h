// Batch normalisation over N×C×H×W (per channel), as PyTorch's F.batch_norm.
// training: normalises with the batch mean and biased variance, and (if running stats are
// given) updates running_mean/var in place with momentum: r = (1 - m)·r + m·stat, using the
// UNBIASED batch variance (n/(n-1)) for running_var, and increments num_batches_tracked.
// eval: normalises with running stats (no update). Weight/bias may be undefined (affine=False).
#pragma once
#include "engine/tensor.h"

namespace xgd {

struct BatchNormState {
  Tensor running_mean;         // C, same dtype as x (may be undefined in training)
  Tensor running_var;          // C
  Tensor num_batches_tracked;  // int64 scalar, may be undefined
};

Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                    BatchNormState& state, bool training, double momentum = 0.1,
                    double eps = 1e-5);

}  // namespace xgd
