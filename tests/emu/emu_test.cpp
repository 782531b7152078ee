// Properties of the emulator itself (label emu only; on a GPU these are undefined behaviour or
// differ by design): NaN-filled memory, the barrier test's negative control, errors raised
// inside kernel threads, AddressSanitizer on dynamic shared memory.
#include <gtest/gtest.h>

#include <cstdlib>

#include "engine/error.h"
#include "kernels/emu/emu.h"
#include "tests/emu/model_kernels.h"

namespace xgd::test {
namespace {

TEST(Emulator, DynamicSharedMemoryStartsAsNaNBytes) {
  for (unsigned words : {1u, 5u, 300u}) {
    std::vector<uint32_t> s = model::dyn_shared_initial(words);
    EXPECT_EQ(s, std::vector<uint32_t>(words, 0xFFFFFFFFu)) << words << " words";
  }
}

TEST(Emulator, DeviceMemoryStartsAsNaN) {
  float* p = nullptr;
  ASSERT_EQ(cudaMalloc(&p, 3 * sizeof(float)), cudaSuccess);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::isnan(p[i]));
  cudaFree(p);
}

TEST(Emulator, BarrierTestFailsWithoutSyncthreads) {
#if defined(__SANITIZE_THREAD__)
  // Without the barrier the kernel races: ThreadSanitizer reports it. Run on purpose with
  // XGD_EMU_RACE_DEMO=1 to see TSan name the racing lines; skipped otherwise.
  if (!std::getenv("XGD_EMU_RACE_DEMO")) GTEST_SKIP() << "a deliberate race (TSan build)";
#endif
  // Negative control of CudaModel.SyncthreadsIsABarrier: with __syncthreads a no-op, even
  // threads read their odd neighbours' slots before the (sleeping) neighbours write them.
  emu::testing::set_syncthreads_noop(true);
  std::vector<int> out = model::barrier_rotate(1, 64, 1, 20'000'000);
  emu::testing::set_syncthreads_noop(false);
  int wrong = 0;
  for (unsigned t = 0; t < 64; ++t) wrong += out[t] != int((t + 1) % 64) + 1;
  EXPECT_GT(wrong, 0) << "the barrier test cannot detect a missing __syncthreads";
  // And with the barrier back, the same launch is right.
  out = model::barrier_rotate(1, 64, 1, 20'000'000);
  for (unsigned t = 0; t < 64; ++t) EXPECT_EQ(out[t], int((t + 1) % 64) + 1) << "thread " << t;
}

TEST(Emulator, ErrorInAKernelThreadReachesTheLauncher) {
  try {
    model::shuffle_without_own_lane();
    FAIL() << "a shuffle whose mask lacks the calling lane did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not contain the calling lane"), std::string::npos)
        << e.what();
  }
  // The failed launch left no thread waiting: the emulator keeps working.
  EXPECT_EQ(model::barrier_rotate(1, 32, 2, 0), std::vector<int>([] {
              std::vector<int> v(32);
              for (int t = 0; t < 32; ++t) v[t] = (t + 2) % 32 + 2;
              return v;
            }()));
}

#if defined(__SANITIZE_ADDRESS__)
TEST(EmulatorDeathTest, AddressSanitizerReportsADynamicSharedMemoryOverflow) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // the emulator's pool threads don't fork
  EXPECT_DEATH(model::dyn_shared_write_past_end(5),
               "heap-buffer-overflow(.|\n)*dyn_past_end_kernel");
}
#endif

}  // namespace
}  // namespace xgd::test
