#include "data/loader.h"

#include <algorithm>
#include <cstring>
#include <exception>

#include "data/random.h"
#include "engine/error.h"

namespace xgd::data {

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch) {
  XGD_CHECK(n >= 0 && epoch >= 0, "epoch_permutation: bad n ", n, " or epoch ", epoch);
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  // Fisher-Yates from the end; the swap partner of position i is word i of the stream.
  kernels::Philox4 block{};
  for (int64_t i = n - 1; i > 0; --i) {
    if (i == n - 1 || i % 4 == 3)
      block = philox_block(seed, Stream::Permutation, static_cast<uint64_t>(epoch),
                           static_cast<uint64_t>(i / 4));
    int64_t j = uniform_int(block.v[i % 4], i + 1);
    std::swap(perm[i], perm[j]);
  }
  return perm;
}

struct Loader::Job {
  struct Prepared {
    std::string id;
    int h = 0, w = 0;            // window size
    std::pair<int, int> size;    // original image (h, w)
    std::vector<float> image;    // (3, h, w)
    std::vector<int64_t> label;  // (h, w)
  };
  int64_t epoch = 0, position = 0;
  std::vector<int64_t> indices;
  std::vector<Prepared> samples;
  int remaining = 0;
  bool done = false;
  std::exception_ptr error;
  Batch result;
};

Loader::Loader(Dataset dataset, LoaderOptions options)
    : dataset_(std::move(dataset)), opt_(std::move(options)) {
  check_augment_options(opt_.augment);
  const int64_t n = dataset_.size();
  XGD_CHECK(opt_.batch_size >= 1, "loader: batch size must be >= 1, got ", opt_.batch_size);
  XGD_CHECK(opt_.workers >= 0 && opt_.workers <= 1024, "loader: bad worker count ", opt_.workers);
  XGD_CHECK(opt_.prefetch >= 0, "loader: bad prefetch ", opt_.prefetch);
  XGD_CHECK(opt_.pad_multiple >= 0, "loader: bad pad multiple ", opt_.pad_multiple);
  XGD_CHECK(n >= 1, "loader: dataset ", dataset_.root(), " (", dataset_.split(), ") is empty");
  batches_per_epoch_ =
      opt_.drop_last ? n / opt_.batch_size : (n + opt_.batch_size - 1) / opt_.batch_size;
  XGD_CHECK(batches_per_epoch_ >= 1, "loader: dataset ", dataset_.root(), " (", dataset_.split(),
            ") has ", n, " samples, fewer than one batch of ", opt_.batch_size,
            " (drop_last is on)");
  // A batch whose samples differ in size is padded; in training with a crop they never do.
  int workers = opt_.workers > 0 ? opt_.workers : std::max(1u, std::thread::hardware_concurrency());
  // Enough batches in flight to keep every worker busy, and at least one ahead of the consumer.
  prefetch_ = opt_.prefetch > 0 ? opt_.prefetch
                                : static_cast<int>(std::max<int64_t>(
                                      2, (workers + opt_.batch_size - 1) / opt_.batch_size + 1));
  threads_.reserve(workers);
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { worker_loop(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    tasks_.clear();
    ready_.clear();
  }
  work_cv_.notify_all();
  done_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

int64_t Loader::epoch() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_epoch_;
}

int64_t Loader::position() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_position_;
}

const std::vector<int64_t>& Loader::permutation_locked(int64_t epoch) {
  if (perm_epoch_ != epoch) {
    if (opt_.shuffle) {
      perm_ = epoch_permutation(dataset_.size(), opt_.seed, epoch);
    } else {
      perm_.resize(static_cast<size_t>(dataset_.size()));
      for (int64_t i = 0; i < dataset_.size(); ++i) perm_[i] = i;
    }
    perm_epoch_ = epoch;
  }
  return perm_;
}

void Loader::schedule_locked() {
  while (static_cast<int>(ready_.size()) < prefetch_) {
    auto job = std::make_shared<Job>();
    job->epoch = sched_epoch_, job->position = sched_position_;
    const auto& perm = permutation_locked(sched_epoch_);
    const int64_t begin = sched_position_ * opt_.batch_size;
    const int64_t end = std::min<int64_t>(begin + opt_.batch_size, dataset_.size());
    job->indices.assign(perm.begin() + begin, perm.begin() + end);
    job->samples.resize(job->indices.size());
    job->remaining = static_cast<int>(job->indices.size());
    for (int s = 0; s < job->remaining; ++s) tasks_.push_back({job, s});
    ready_.push_back(std::move(job));
    if (++sched_position_ == batches_per_epoch_) sched_position_ = 0, ++sched_epoch_;
  }
  work_cv_.notify_all();
}

void Loader::seek(int64_t epoch, int64_t position) {
  XGD_CHECK(epoch >= 0 && position >= 0 && position < batches_per_epoch_, "loader: cannot seek to ",
            "epoch ", epoch, " position ", position, " (", batches_per_epoch_,
            " batches per epoch)");
  std::lock_guard<std::mutex> lock(mu_);
  // Work in flight for the old stream finishes into jobs nobody waits for.
  tasks_.clear();
  ready_.clear();
  next_epoch_ = sched_epoch_ = epoch;
  next_position_ = sched_position_ = position;
}

Batch Loader::next() {
  std::shared_ptr<Job> job;
  {
    std::unique_lock<std::mutex> lock(mu_);
    schedule_locked();
    job = ready_.front();
    done_cv_.wait(lock, [&] { return job->done || stop_; });
    XGD_CHECK(!stop_, "loader: stopped");
    ready_.pop_front();
    if (++next_position_ == batches_per_epoch_) next_position_ = 0, ++next_epoch_;
    schedule_locked();  // keep the pipeline full while the caller trains on this batch
  }
  if (job->error) std::rethrow_exception(job->error);
  return std::move(job->result);
}

void Loader::worker_loop() {
  for (;;) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || !tasks_.empty(); });
      if (stop_) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    std::exception_ptr error;
    try {
      prepare(task);
    } catch (...) {
      error = std::current_exception();
    }
    Job& job = *task.job;
    bool last;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // A batch keeps the first error that arrives (each names its own file).
      if (error && !job.error) job.error = error;
      last = --job.remaining == 0;
    }
    if (!last) continue;
    // This thread owns the finished job now: assemble it outside the lock.
    if (!job.error) {
      try {
        assemble(job);
      } catch (...) {
        job.error = std::current_exception();
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      job.done = true;
    }
    done_cv_.notify_all();
  }
}

void Loader::prepare(Task& task) {
  Job& job = *task.job;
  const int64_t index = job.indices[task.slot];
  Sample s = dataset_.load(index);
  AugmentParams p =
      draw_augment(opt_.augment, s.image.height, s.image.width, opt_.seed, job.epoch, index);
  Job::Prepared& out = job.samples[task.slot];
  window_size(opt_.augment, p, out.h, out.w);
  out.id = s.id;
  out.size = {s.image.height, s.image.width};
  out.image.resize(static_cast<size_t>(3) * out.h * out.w);
  out.label.resize(static_cast<size_t>(out.h) * out.w);
  render_sample(s.image, s.label, p, opt_.augment.norm, out.h, out.w, out.image.data(),
                out.label.data());
}

void Loader::assemble(Job& job) {
  const int64_t N = static_cast<int64_t>(job.samples.size());
  int H = 0, W = 0;
  for (const auto& s : job.samples) H = std::max(H, s.h), W = std::max(W, s.w);
  if (opt_.pad_multiple > 1) {
    H = (H + opt_.pad_multiple - 1) / opt_.pad_multiple * opt_.pad_multiple;
    W = (W + opt_.pad_multiple - 1) / opt_.pad_multiple * opt_.pad_multiple;
  }
  Batch& b = job.result;
  b.images = Tensor::empty({N, 3, H, W}, DType::F32);  // (N, 3, H, W)
  b.labels = Tensor::empty({N, H, W}, DType::I64);     // (N, H, W)
  float* dimg = b.images.data<float>();
  int64_t* dlab = b.labels.data<int64_t>();
  for (int64_t n = 0; n < N; ++n) {
    const auto& s = job.samples[n];
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < H; ++y) {
        float* o = dimg + ((n * 3 + c) * H + y) * W;
        int copied = 0;
        if (y < s.h) {
          std::memcpy(o, s.image.data() + (static_cast<int64_t>(c) * s.h + y) * s.w,
                      sizeof(float) * s.w);
          copied = s.w;
        }
        std::fill(o + copied, o + W, 0.f);  // padding: 0 after normalisation
      }
    for (int y = 0; y < H; ++y) {
      int64_t* o = dlab + (n * H + y) * W;
      int copied = 0;
      if (y < s.h) {
        std::memcpy(o, s.label.data() + static_cast<int64_t>(y) * s.w, sizeof(int64_t) * s.w);
        copied = s.w;
      }
      std::fill(o + copied, o + W, int64_t{kIgnoreLabel});
    }
    b.ids.push_back(s.id);
    b.sizes.push_back(opt_.augment.train ? std::make_pair(s.h, s.w) : s.size);
  }
  b.indices = job.indices;
  b.epoch = job.epoch, b.position = job.position;
  job.samples.clear();
  job.samples.shrink_to_fit();
}

}  // namespace xgd::data
