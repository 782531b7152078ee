#include "xgd/progress.h"

#include <unistd.h>

#include <cstdio>

namespace xgd {

std::string format_duration(double s) {
  char b[32];
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600)
    std::snprintf(b, sizeof b, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60)
    std::snprintf(b, sizeof b, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(b, sizeof b, "%lds", t);
  return b;
}

Progress::Progress(int64_t first_step, int64_t total_steps, int64_t log_every)
    : first_(first_step),
      total_(total_steps),
      every_(log_every > 0 ? log_every : 1),
      tty_(isatty(fileno(stdout)) != 0),
      start_(std::chrono::steady_clock::now()) {}

void Progress::update(int64_t step, int64_t images,
                      const std::vector<std::pair<std::string, double>>& terms, double lr) {
  images_ += images;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  rate_ = elapsed > 0 ? images_ / elapsed : 0;
  const bool last = step == total_;
  if (!tty_ && step % every_ != 0 && !last && step != first_ + 1) return;
  const double per_step = (step - first_) > 0 ? elapsed / (step - first_) : 0;
  std::string line;
  char b[96];
  std::snprintf(b, sizeof b, "step %lld/%lld", static_cast<long long>(step),
                static_cast<long long>(total_));
  line += b;
  if (tty_) {
    const int width = 20, done = static_cast<int>(width * step / std::max<int64_t>(total_, 1));
    line += " [" + std::string(done, '#') + std::string(width - done, '.') + "]";
  }
  std::snprintf(b, sizeof b, " | %.2f img/s |", rate_);
  line += b;
  for (auto& [name, value] : terms) {
    std::snprintf(b, sizeof b, " %s %.4f", name.c_str(), value);
    line += b;
  }
  std::snprintf(b, sizeof b, " | lr %.2e | ETA %s", lr,
                format_duration(per_step * (total_ - step)).c_str());
  line += b;
  if (tty_) {
    std::printf("\r\033[K%s", line.c_str());
    bar_drawn_ = true;
    if (last) std::printf("\n"), bar_drawn_ = false;
  } else {
    std::printf("%s\n", line.c_str());
  }
  std::fflush(stdout);
}

void Progress::message(const std::string& line) {
  if (bar_drawn_) std::printf("\r\033[K");
  std::printf("%s\n", line.c_str());
  bar_drawn_ = false;
  std::fflush(stdout);
}

}  // namespace xgd
