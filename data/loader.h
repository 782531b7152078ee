// Loader: batches of a Dataset prepared ahead of the training step by a pool of worker threads.
//   - The sample order of each epoch is a seeded permutation (Philox, keyed by (seed, epoch));
//     each sample's augmentation is keyed by (seed, epoch, sample index). The batches are
//     therefore identical whatever the number of workers or the timing of the threads.
//   - Epochs follow one another without end; position = batch index within the epoch.
//     seek(epoch, position) resumes exactly where a checkpoint left off.
//   - A worker's error (an unreadable file, a bad mask, ...) is rethrown by next() for the batch
//     it belongs to; the loader then continues with the following batch.
//   - The destructor stops and joins the workers (work in flight is discarded).
//   - One consumer: next() and seek() are called from a single thread.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "data/dataset.h"
#include "data/transforms.h"
#include "engine/tensor.h"

namespace xgd::data {

struct LoaderOptions {
  int64_t batch_size = 8;
  int workers = 0;   // 0 = one per hardware thread
  int prefetch = 0;  // batches prepared ahead of the consumer; 0 = enough for the workers
  uint64_t seed = 0;
  bool shuffle = true;     // false: dataset order every epoch
  bool drop_last = true;   // drop an incomplete last batch (training); false keeps it
  int pad_multiple = 0;    // pad each batch's height/width up to a multiple of this (0 = none)
  AugmentOptions augment;  // augment.train = false gives whole, normalised images
};

struct Batch {
  Tensor images;  // (N, 3, H, W) float32, normalised; padding = 0
  Tensor labels;  // (N, H, W) int64, class indices, 255 = ignore (and padding)
  std::vector<std::string> ids;
  std::vector<int64_t> indices;            // dataset indices of the N samples
  std::vector<std::pair<int, int>> sizes;  // (h, w) of each sample's content, top-left aligned
                                           // (evaluation: the original image size)
  int64_t epoch = 0, position = 0;         // this batch's place in the stream
};

// The sample order of an epoch: a Fisher-Yates shuffle driven by Philox (seed, epoch).
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch);

class Loader {
 public:
  Loader(Dataset dataset, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  const Dataset& dataset() const { return dataset_; }
  const LoaderOptions& options() const { return opt_; }
  int workers() const { return static_cast<int>(threads_.size()); }
  int64_t batches_per_epoch() const { return batches_per_epoch_; }

  // The next batch (blocks until it is ready); rethrows the error of a sample of that batch.
  Batch next();
  // Where next() continues: batch `position` (0 <= position < batches_per_epoch) of `epoch`.
  void seek(int64_t epoch, int64_t position);
  int64_t epoch() const;
  int64_t position() const;

 private:
  struct Job;
  struct Task {
    std::shared_ptr<Job> job;
    int slot;
  };
  void worker_loop();
  void schedule_locked();
  void prepare(Task& task);
  void assemble(Job& job);
  const std::vector<int64_t>& permutation_locked(int64_t epoch);

  Dataset dataset_;
  LoaderOptions opt_;
  int64_t batches_per_epoch_ = 0;
  int prefetch_ = 0;

  mutable std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Task> tasks_;                        // sample tasks waiting for a worker
  std::deque<std::shared_ptr<Job>> ready_;        // scheduled batches, in stream order
  int64_t next_epoch_ = 0, next_position_ = 0;    // what next() returns
  int64_t sched_epoch_ = 0, sched_position_ = 0;  // the next batch to schedule
  int64_t perm_epoch_ = -1;
  std::vector<int64_t> perm_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace xgd::data
