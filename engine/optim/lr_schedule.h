// Learning-rate schedules as pure functions of the step: lr(step) is the value for the
// optimizer step with that index (0-based), matching torch.optim.lr_scheduler's closed forms:
//   constant: base
//   poly:     base · (1 − min(step, total) / total)^power        (PolynomialLR, power 0.9)
//   cosine:   min + (base − min) · (1 + cos(π · min(step, total) / total)) / 2
//             (CosineAnnealingLR with eta_min = min; held at min after total, where torch's
//             would rise again: a training schedule ends at total)
//   warmup:   with_warmup(N, f0): for step < N, base · (f0 + (1 − f0) · step / N) (LinearLR),
//             then the schedule from its own step 0 (SequentialLR([LinearLR, s], [N])).
// A schedule drives an optimizer through factor(step) = lr(step) / base: every param group gets
// initial_lr · factor, so groups keep their proportions.
#pragma once
#include <cstdint>

namespace xgd::optim {

class Optimizer;

class LrSchedule {
 public:
  enum class Kind { Constant, Poly, Cosine };

  static LrSchedule constant(double base_lr);
  static LrSchedule poly(double base_lr, int64_t total_steps, double power = 0.9);
  static LrSchedule cosine(double base_lr, int64_t total_steps, double min_lr = 0.0);
  // Linear warmup from base·start_factor to base over warmup_steps, then this schedule.
  LrSchedule with_warmup(int64_t warmup_steps, double start_factor) const;

  double lr(int64_t step) const;
  double factor(int64_t step) const;  // lr(step) / base_lr
  // Sets every group of `opt` to initial_lr · factor(step).
  void apply(Optimizer& opt, int64_t step) const;

  double base_lr() const { return base_; }
  Kind kind() const { return kind_; }

 private:
  LrSchedule(Kind kind, double base, int64_t total, double param);
  Kind kind_;
  double base_;
  int64_t total_;
  double param_;  // poly: power; cosine: min_lr
  int64_t warmup_ = 0;
  double warmup_start_ = 1.0;
};

}  // namespace xgd::optim
