#include "engine/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "engine/optim/optimizer.h"

namespace xgd::optim {

LrSchedule::LrSchedule(Kind kind, double base, int64_t total, double param)
    : kind_(kind), base_(base), total_(total), param_(param) {
  XGD_CHECK(base > 0 && std::isfinite(base), "LrSchedule: base lr must be positive, got ", base);
}

LrSchedule LrSchedule::constant(double base_lr) {
  return LrSchedule(Kind::Constant, base_lr, 0, 0);
}

LrSchedule LrSchedule::poly(double base_lr, int64_t total_steps, double power) {
  XGD_CHECK(total_steps > 0, "LrSchedule::poly: total_steps must be positive, got ", total_steps);
  XGD_CHECK(power > 0, "LrSchedule::poly: power must be positive, got ", power);
  return LrSchedule(Kind::Poly, base_lr, total_steps, power);
}

LrSchedule LrSchedule::cosine(double base_lr, int64_t total_steps, double min_lr) {
  XGD_CHECK(total_steps > 0, "LrSchedule::cosine: total_steps must be positive, got ", total_steps);
  XGD_CHECK(min_lr >= 0 && min_lr <= base_lr, "LrSchedule::cosine: min_lr ", min_lr,
            " must be in [0, base_lr ", base_lr, "]");
  return LrSchedule(Kind::Cosine, base_lr, total_steps, min_lr);
}

LrSchedule LrSchedule::with_warmup(int64_t warmup_steps, double start_factor) const {
  XGD_CHECK(warmup_steps > 0, "LrSchedule::with_warmup: warmup_steps must be positive, got ",
            warmup_steps);
  XGD_CHECK(start_factor > 0 && start_factor <= 1,
            "LrSchedule::with_warmup: start_factor must be in (0, 1], got ", start_factor);
  XGD_CHECK(warmup_ == 0, "LrSchedule::with_warmup: the schedule already has a warmup");
  LrSchedule s = *this;
  s.warmup_ = warmup_steps;
  s.warmup_start_ = start_factor;
  return s;
}

double LrSchedule::lr(int64_t step) const {
  XGD_CHECK(step >= 0, "LrSchedule::lr: negative step ", step);
  if (step < warmup_) {
    // LinearLR: start + (end − start) · step / total, end factor 1.
    double f = warmup_start_ +
               (1.0 - warmup_start_) * static_cast<double>(step) / static_cast<double>(warmup_);
    return base_ * f;
  }
  int64_t t = std::min(step - warmup_, total_);
  switch (kind_) {
    case Kind::Constant:
      return base_;
    case Kind::Poly:
      return base_ * std::pow(1.0 - static_cast<double>(t) / static_cast<double>(total_), param_);
    case Kind::Cosine:
      return param_ +
             (base_ - param_) *
                 (1.0 + std::cos(M_PI * static_cast<double>(t) / static_cast<double>(total_))) /
                 2.0;
  }
  return base_;
}

double LrSchedule::factor(int64_t step) const {
  return lr(step) / base_;
}

void LrSchedule::apply(Optimizer& opt, int64_t step) const {
  opt.set_lr_factor(factor(step));
}

}  // namespace xgd::optim
