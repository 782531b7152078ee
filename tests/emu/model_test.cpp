// The CUDA execution model, as kernels see it: reductions with shuffles, shared memory and
// atomics; barriers (a missing __syncthreads fails these tests); early-returning threads;
// dynamic shared memory sizes; warp ops; atomics; block votes; 3-D indices; launch limits.
// Run under the emulator (label emu) and on a GPU (label gpu): the expectations are CUDA's.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "engine/error.h"
#include "tests/emu/device_test.h"
#include "tests/emu/model_kernels.h"

namespace xgd::test {
namespace {

TEST(CudaModel, ReductionWithShufflesSharedMemoryAndAtomics) {
  XGD_REQUIRE_DEVICE();
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  // (n, blocks, threads): partial last warps (40, 1000), one thread, more threads than data,
  // and grid-stride loops (n > blocks·threads).
  const struct {
    size_t n;
    unsigned blocks, threads;
  } cases[] = {{1, 1, 1},      {31, 1, 32},      {1000, 3, 40},
               {4099, 2, 256}, {20000, 5, 1000}, {777, 4, 1024}};
  for (auto c : cases) {
    std::vector<float> x(c.n);
    double expected = 0;
    for (auto& v : x) expected += v = u(rng);
    float got = model::reduce_sum(x, c.blocks, c.threads);
    // float partial sums over <= n/(blocks·threads) + log2(1024) terms: rtol 1e-5 covers n<=2e4
    EXPECT_NEAR(got, expected, 1e-5 * expected)
        << "n " << c.n << " grid " << c.blocks << " block " << c.threads;
  }
}

std::vector<int> expected_rotation(unsigned blocks, unsigned threads, int rounds) {
  std::vector<int> out(size_t(blocks) * threads);
  for (unsigned b = 0; b < blocks; ++b)
    for (unsigned t = 0; t < threads; ++t)
      out[b * threads + t] = static_cast<int>((t + rounds) % threads + 1000 * b) + rounds;
  return out;
}

TEST(CudaModel, SyncthreadsIsABarrier) {
  XGD_REQUIRE_DEVICE();
  // Odd threads sleep 2 ms before writing; without the barrier even threads read unwritten
  // (NaN-filled) slots (the negative control in emu_test.cpp shows this test then fails).
  for (unsigned threads : {2u, 33u, 64u, 256u}) {
    EXPECT_EQ(model::barrier_rotate(2, threads, 3, 2'000'000), expected_rotation(2, threads, 3))
        << threads << " threads";
  }
}

TEST(CudaModel, EarlyReturnedThreadsLeaveTheBarrier) {
  XGD_REQUIRE_DEVICE();
  // (threads, active): none, some, all but one, all threads return early; partial warps.
  const struct {
    unsigned threads, active;
  } cases[] = {{128, 128}, {128, 1}, {128, 37}, {96, 95}, {1024, 1000}, {64, 0}};
  for (auto c : cases) {
    std::vector<int> out = model::early_return(c.threads, c.active);
    std::vector<int> expected(out.size(), 0);
    if (c.active) expected[0] = int(c.active * (c.active + 1) / 2);
    for (unsigned t = 0; t < c.active; ++t) expected[1 + t / 32] += int(t + 1);
    EXPECT_EQ(out, expected) << c.threads << " threads, " << c.active << " active";
  }
}

TEST(CudaModel, DynamicSharedMemorySizes) {
  XGD_REQUIRE_DEVICE();
  // 1 word, odd sizes, exactly 48 KiB (the default limit), 64 KiB (opted in).
  for (unsigned words : {1u, 7u, 1000u, 12288u, 16384u}) {
    std::vector<float> out = model::dyn_shared_reverse(words, 96);
    ASSERT_EQ(out.size(), words);
    for (unsigned i = 0; i < words; ++i)
      ASSERT_EQ(out[i], 0.5f * float(words - 1 - i)) << "word " << i << " of " << words;
  }
}

TEST(CudaModel, WarpShufflesAndVotes) {
  XGD_REQUIRE_DEVICE();
  // CUDA's rules, lane = t % 32, segment = lane's group of `width` lanes:
  // shfl: lane (src mod width) of the segment; up/down: own value when the source leaves the
  // segment; xor: own value when the source is in a later segment (an earlier one is read).
  const struct {
    unsigned threads;
    int width, src;
    unsigned delta;
    int xmask, modulo;
  } cases[] = {{64, 32, 5, 1, 1, 3},  {64, 32, 37, 3, 16, 2}, {64, 8, 9, 2, 3, 4},
               {64, 16, -1, 5, 7, 5}, {32, 4, 1, 1, 2, 1},    {64, 8, 0, 1, 8, 7}};
  for (auto c : cases) {
    SCOPED_TRACE(testing::Message() << "width " << c.width << " src " << c.src << " delta "
                                    << c.delta << " xor " << c.xmask);
    model::WarpResults r = model::warp_ops(c.threads, c.width, c.src, c.delta, c.xmask, c.modulo);
    const unsigned w = unsigned(c.width);
    for (unsigned t = 0; t < c.threads; ++t) {
      const unsigned lane = t % 32, base = t - lane, first = lane & ~(w - 1), end = first + w;
      auto val = [&](unsigned l) { return int(10 * (base + l) + 1); };
      EXPECT_EQ(r.shfl[t], val(first + (unsigned(c.src) & (w - 1)))) << "shfl t " << t;
      EXPECT_EQ(r.up[t], val(lane >= first + c.delta ? lane - c.delta : lane)) << "up t " << t;
      EXPECT_EQ(r.down[t], val(lane + c.delta < end ? lane + c.delta : lane)) << "down t " << t;
      const unsigned x = lane ^ unsigned(c.xmask);
      EXPECT_EQ(r.xor_[t], val(x < end ? x : lane)) << "xor t " << t;
      unsigned ballot = 0;
      for (unsigned l = 0; l < 32; ++l)
        if ((base + l) < c.threads && (base + l) % unsigned(c.modulo) == 0) ballot |= 1u << l;
      EXPECT_EQ(unsigned(r.ballot[t]), ballot) << "ballot t " << t;
      EXPECT_EQ(r.any[t], 1) << "any t " << t;  // lane 5 exists in every warp here
      EXPECT_EQ(r.all[t], c.modulo == 1 ? 1 : 0) << "all t " << t;
    }
  }
}

TEST(CudaModel, BallotInAPartialWarpCountsOnlyExistingLanes) {
  XGD_REQUIRE_DEVICE();
  model::WarpResults r = model::warp_ops(40, 32, 0, 1, 1, 1);  // warp 1 has 8 lanes
  for (unsigned t = 0; t < 32; ++t) EXPECT_EQ(unsigned(r.ballot[t]), 0xffffffffu);
  for (unsigned t = 32; t < 40; ++t) EXPECT_EQ(unsigned(r.ballot[t]), 0xffu);
}

TEST(CudaModel, Atomics) {
  XGD_REQUIRE_DEVICE();
  const unsigned blocks = 3, threads = 100, n = blocks * threads;
  model::AtomicResults r = model::atomics(blocks, threads);
  for (int k = 0; k < 7; ++k) EXPECT_EQ(r.hist[k], int((n + 6 - k) / 7)) << "bin " << k;
  EXPECT_EQ(r.fsum, 0.5f * n);  // exact: halves below 2^23
  EXPECT_EQ(r.dsum, 0.25 * n);
  EXPECT_EQ(r.imax, 3 * int(n - 1) - 100);
  EXPECT_EQ(r.imin, 50 - int(n - 1));
  EXPECT_EQ(r.inc, n % 10);
  EXPECT_EQ(r.sub, 1000000u - n);
  EXPECT_EQ(r.tickets, std::vector<int>(n, 1));  // every CAS ticket taken exactly once
  EXPECT_TRUE(r.exch >= 0 && r.exch < int(n)) << r.exch;
}

TEST(CudaModel, SyncthreadsCountAndOr) {
  XGD_REQUIRE_DEVICE();
  for (auto [threads, modulo] : {std::pair{64u, 3}, {37u, 1}, {1024u, 1000}, {5u, 7}}) {
    std::vector<int> out = model::sync_votes(threads, modulo);
    const int count = int((threads + modulo - 1) / modulo);
    const std::vector<int> expected = {count, count == int(threads), 1, int(threads), 1, 1, 0, 0,
                                       0};
    for (unsigned t = 0; t < threads; ++t)
      ASSERT_EQ(std::vector<int>(out.begin() + 9 * t, out.begin() + 9 * t + 9), expected)
          << threads << " threads, modulo " << modulo << ", thread " << t;
  }
}

TEST(CudaModel, ThreeDimensionalGridAndBlockIndices) {
  XGD_REQUIRE_DEVICE();
  const unsigned g[3] = {3, 2, 2}, b[3] = {5, 3, 2};
  std::vector<int> out = model::coords(g[0], g[1], g[2], b[0], b[1], b[2]);
  size_t i = 0;
  for (unsigned bz = 0; bz < g[2]; ++bz)
    for (unsigned by = 0; by < g[1]; ++by)
      for (unsigned bx = 0; bx < g[0]; ++bx)
        for (unsigned tz = 0; tz < b[2]; ++tz)
          for (unsigned ty = 0; ty < b[1]; ++ty)
            for (unsigned tx = 0; tx < b[0]; ++tx, i += 6)
              ASSERT_EQ(std::vector<int>(out.begin() + i, out.begin() + i + 6),
                        (std::vector<int>{int(tx), int(ty), int(tz), int(bx), int(by), int(bz)}));
}

TEST(CudaModel, StaticSharedTileAcrossBlocks) {
  XGD_REQUIRE_DEVICE();
  for (auto [rows, cols] : {std::pair{1, 1}, {33, 65}, {64, 32}, {70, 9}}) {
    std::vector<float> in(size_t(rows) * cols);
    std::iota(in.begin(), in.end(), 0.0f);
    std::vector<float> out = model::transpose(in, rows, cols);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c)
        ASSERT_EQ(out[size_t(c) * rows + r], in[size_t(r) * cols + c]) << rows << "x" << cols;
  }
}

TEST(CudaModel, InvalidLaunchConfigurationsThrow) {
  XGD_REQUIRE_DEVICE();
  EXPECT_NO_THROW(model::launch_config(1, 1024, 1, 1, 0));
  EXPECT_NO_THROW(model::launch_config(2, 8, 8, 16, 48 * 1024));
  EXPECT_THROW(model::launch_config(0, 32, 1, 1, 0), Error);              // empty grid
  EXPECT_THROW(model::launch_config(1, 1025, 1, 1, 0), Error);            // > 1024 threads
  EXPECT_THROW(model::launch_config(1, 32, 32, 2, 0), Error);             // 2048 threads
  EXPECT_THROW(model::launch_config(1, 1, 1, 65, 0), Error);              // block.z > 64
  EXPECT_THROW(model::launch_config(1, 32, 1, 1, 48 * 1024 + 4), Error);  // no opt-in
  EXPECT_NO_THROW(model::launch_config(1, 32, 1, 1, 0));  // a failed launch leaves no trace
}

}  // namespace
}  // namespace xgd::test
