// Training progress: a one-line bar redrawn in place on a terminal, plain lines otherwise
// (logs, CI). Shows step, images/s, each loss term, lr and the ETA.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace xgd {

class Progress {
 public:
  Progress(int64_t first_step, int64_t total_steps, int64_t log_every);
  // After step `step` (1-based count of steps done) with `images` images in it.
  void update(int64_t step, int64_t images,
              const std::vector<std::pair<std::string, double>>& terms, double lr);
  void message(const std::string& line);  // a full line, not overwritten by the bar
  double images_per_second() const { return rate_; }

 private:
  int64_t first_, total_, every_;
  bool tty_;
  bool bar_drawn_ = false;
  double rate_ = 0;
  std::chrono::steady_clock::time_point start_;
  int64_t images_ = 0;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "42s"

}  // namespace xgd
