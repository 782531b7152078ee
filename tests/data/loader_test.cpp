#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <set>

#include "data/loader.h"
#include "tests/data/test_util.h"

namespace xgd::data {
namespace {

using test::TempDir;

// A folder-layout dataset of n images: sample i is (h_i, w_i) with colour (20i, 255-20i, 7i)
// and label i % 3, except a 255 pixel at (0, 0).
struct TinyDataset {
  TempDir dir{"loader"};
  explicit TinyDataset(int n, bool two_sizes = false) {
    std::ofstream(dir / "classes.txt") << "a\nb\nc\n";
    std::filesystem::create_directories(dir.path() / "splits");
    std::ofstream list(dir / "splits/train.txt");
    for (int i = 0; i < n; ++i) {
      int h = (two_sizes && i % 2) ? 11 : 16, w = (two_sizes && i % 2) ? 13 : 20;
      Image img(h, w, 3), lab(h, w, 1, static_cast<uint8_t>(i % 3));
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          img.at(y, x, 0) = static_cast<uint8_t>(20 * i + x);
          img.at(y, x, 1) = static_cast<uint8_t>(255 - 20 * i - y);
          img.at(y, x, 2) = static_cast<uint8_t>(7 * i);
        }
      lab.at(0, 0) = 255;
      std::string id = "s" + std::to_string(i);
      write_png(dir / ("images/" + id + ".png"), img);
      write_png(dir / ("masks/" + id + ".png"), lab);
      list << id << "\n";
    }
  }
  Dataset open() const { return open_folder(dir.str(), "train"); }
};

LoaderOptions train_options(int workers) {
  LoaderOptions o;
  o.batch_size = 3;
  o.workers = workers;
  o.seed = 11;
  o.augment.train = true;
  o.augment.crop = 12;
  return o;
}

bool same_tensor(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

TEST(Loader, EpochPermutationIsASeededPermutation) {
  auto p = epoch_permutation(10, 3, 0);
  std::set<int64_t> s(p.begin(), p.end());
  EXPECT_EQ(s.size(), 10u);
  EXPECT_EQ(*s.begin(), 0);
  EXPECT_EQ(*s.rbegin(), 9);
  EXPECT_EQ(p, epoch_permutation(10, 3, 0));
  EXPECT_NE(p, epoch_permutation(10, 3, 1));
  EXPECT_NE(p, epoch_permutation(10, 4, 0));
  EXPECT_EQ(epoch_permutation(1, 3, 0), (std::vector<int64_t>{0}));
  EXPECT_TRUE(epoch_permutation(0, 3, 0).empty());
  // Every position takes every value about equally often over many epochs (no gross bias).
  std::vector<int> first(5, 0);
  for (int e = 0; e < 2000; ++e) ++first[epoch_permutation(5, 1, e)[0]];
  for (int c : first) EXPECT_NEAR(c, 400, 80);  // binomial sd 18
}

TEST(Loader, BatchesFollowTheEpochPermutation) {
  TinyDataset d(10);
  Loader loader(d.open(), train_options(2));
  EXPECT_EQ(loader.batches_per_epoch(), 3);  // drop_last: 10 / 3
  for (int64_t e = 0; e < 2; ++e) {
    auto perm = epoch_permutation(10, 11, e);
    for (int64_t b = 0; b < 3; ++b) {
      EXPECT_EQ(loader.epoch(), e);
      EXPECT_EQ(loader.position(), b);
      Batch batch = loader.next();
      EXPECT_EQ(batch.epoch, e);
      EXPECT_EQ(batch.position, b);
      EXPECT_EQ(batch.images.shape(), (Shape{3, 3, 12, 12}));
      EXPECT_EQ(batch.images.dtype(), DType::F32);
      EXPECT_EQ(batch.labels.shape(), (Shape{3, 12, 12}));
      EXPECT_EQ(batch.labels.dtype(), DType::I64);
      for (int k = 0; k < 3; ++k) {
        EXPECT_EQ(batch.indices[k], perm[b * 3 + k]);
        EXPECT_EQ(batch.ids[k], "s" + std::to_string(perm[b * 3 + k]));
        // Labels are the sample's class or ignore (padding, the 255 pixel).
        const int64_t* l = batch.labels.data<int64_t>() + k * 144;
        for (int i = 0; i < 144; ++i) ASSERT_TRUE(l[i] == perm[b * 3 + k] % 3 || l[i] == 255);
      }
    }
  }
}

TEST(Loader, KeepLastAndNoShuffle) {
  TinyDataset d(7);
  LoaderOptions o;
  o.batch_size = 3, o.workers = 2, o.shuffle = false, o.drop_last = false;
  Loader loader(d.open(), o);
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  std::vector<std::string> ids;
  for (int b = 0; b < 3; ++b)
    for (const auto& id : loader.next().ids) ids.push_back(id);
  EXPECT_EQ(ids, (std::vector<std::string>{"s0", "s1", "s2", "s3", "s4", "s5", "s6"}));
  EXPECT_EQ(loader.next().ids, (std::vector<std::string>{"s0", "s1", "s2"}));  // epoch 1
}

TEST(Loader, SameBatchesWhateverTheNumberOfWorkers) {
  TinyDataset d(10);
  Loader one(d.open(), train_options(1)), four(d.open(), train_options(4));
  EXPECT_EQ(one.workers(), 1);
  EXPECT_EQ(four.workers(), 4);
  for (int i = 0; i < 7; ++i) {
    Batch a = one.next(), b = four.next();
    ASSERT_EQ(a.ids, b.ids);
    ASSERT_TRUE(same_tensor(a.images, b.images)) << "batch " << i;
    ASSERT_TRUE(same_tensor(a.labels, b.labels)) << "batch " << i;
  }
  // A different seed gives different batches.
  LoaderOptions o = train_options(2);
  o.seed = 12;
  Loader other(d.open(), o);
  Loader again(d.open(), train_options(2));
  EXPECT_FALSE(same_tensor(other.next().images, again.next().images));
}

TEST(Loader, ResumesAtEpochAndPosition) {
  TinyDataset d(10);
  Loader a(d.open(), train_options(3));
  std::vector<Batch> stream;
  for (int i = 0; i < 8; ++i) stream.push_back(a.next());
  EXPECT_EQ(stream[5].epoch, 1);
  EXPECT_EQ(stream[5].position, 2);
  Loader b(d.open(), train_options(2));
  b.seek(1, 2);
  EXPECT_EQ(b.epoch(), 1);
  EXPECT_EQ(b.position(), 2);
  for (int i = 5; i < 8; ++i) {
    Batch x = b.next();
    EXPECT_EQ(x.epoch, stream[i].epoch);
    EXPECT_EQ(x.position, stream[i].position);
    EXPECT_TRUE(same_tensor(x.images, stream[i].images)) << "batch " << i;
    EXPECT_TRUE(same_tensor(x.labels, stream[i].labels)) << "batch " << i;
  }
  a.seek(0, 1);  // rewinding a loader with work in flight
  EXPECT_TRUE(same_tensor(a.next().images, stream[1].images));
  EXPECT_ERROR(a.seek(0, 3), "cannot seek", "position 3", "3 batches per epoch");
  EXPECT_ERROR(a.seek(-1, 0), "cannot seek");
}

TEST(Loader, WorkerErrorsReachTheConsumerAndTheLoaderGoesOn) {
  TinyDataset d(8);
  std::ofstream(d.dir / "images/s3.png") << "not a png";
  LoaderOptions o;
  o.batch_size = 2, o.workers = 3, o.shuffle = false;
  Loader loader(d.open(), o);
  EXPECT_EQ(loader.next().ids, (std::vector<std::string>{"s0", "s1"}));
  EXPECT_ERROR(loader.next(), "s3.png", "cannot decode");
  EXPECT_EQ(loader.next().ids, (std::vector<std::string>{"s4", "s5"}));
  EXPECT_EQ(loader.next().ids, (std::vector<std::string>{"s6", "s7"}));
  EXPECT_EQ(loader.next().ids, (std::vector<std::string>{"s0", "s1"}));  // epoch 1
  EXPECT_ERROR(loader.next(), "s3.png");                                 // meets it again
}

TEST(Loader, DestroyingWithWorkInFlightDoesNotHang) {
  TinyDataset d(12);
  for (int rep = 0; rep < 5; ++rep) {
    LoaderOptions o = train_options(4);
    o.prefetch = 4;
    Loader loader(d.open(), o);
    loader.next();  // leaves up to 4 batches being prepared
  }
  {
    Loader idle(d.open(), train_options(2));  // never used
  }
  std::ofstream(d.dir / "images/s0.png") << "broken";
  {
    Loader failing(d.open(), train_options(2));
    EXPECT_THROW(
        {
          for (int i = 0; i < 4; ++i) failing.next();
        },
        Error);
  }
}

TEST(Loader, EvaluationPadsToTheLargestImageAndRecordsSizes) {
  TinyDataset d(4, /*two_sizes=*/true);
  LoaderOptions o;
  o.batch_size = 2, o.workers = 2, o.shuffle = false, o.drop_last = false;
  Loader loader(d.open(), o);
  Batch b = loader.next();
  EXPECT_EQ(b.images.shape(), (Shape{2, 3, 16, 20}));
  EXPECT_EQ(b.sizes, (std::vector<std::pair<int, int>>{{16, 20}, {11, 13}}));
  const int64_t* l = b.labels.data<int64_t>() + 16 * 20;  // sample 1
  const float* im = b.images.data<float>() + 3 * 16 * 20;
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 20; ++x) {
      bool inside = y < 11 && x < 13;
      int64_t want = !inside || (x == 0 && y == 0) ? 255 : 1;
      ASSERT_EQ(l[y * 20 + x], want) << x << "," << y;
      if (!inside) {
        ASSERT_EQ(im[y * 20 + x], 0.f);
      }
    }
  // Sample 0's pixel (x=5, y=2), channel 0: value 20*0 + 5, normalised.
  EXPECT_NEAR(b.images.data<float>()[2 * 20 + 5], (5 / 255.f - 0.485f) / 0.229f, 1e-5);
  o.pad_multiple = 8;
  Loader padded(d.open(), o);
  EXPECT_EQ(padded.next().images.shape(), (Shape{2, 3, 16, 24}));
}

TEST(Loader, BadOptionsAreErrors) {
  TinyDataset d(5);
  LoaderOptions o;
  o.batch_size = 0;
  EXPECT_ERROR(Loader(d.open(), o), "batch size");
  o.batch_size = 6;
  EXPECT_ERROR(Loader(d.open(), o), "5 samples", "fewer than one batch of 6");
  o.batch_size = 2;
  o.workers = -1;
  EXPECT_ERROR(Loader(d.open(), o), "worker count");
  o.workers = 1;
  o.augment.scale_min = 0;
  EXPECT_ERROR(Loader(d.open(), o), "scale range");
}

}  // namespace
}  // namespace xgd::data
