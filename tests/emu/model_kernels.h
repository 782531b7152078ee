// Kernels that test the CUDA execution model itself (tests/emu/model_kernels.cu): compiled under
// the emulator for the emu tests and by nvcc for the gpu tests, so the emulator's semantics are
// checked against the hardware's. Launchers take and return host data.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace xgd::test::model {

// Sum of x by `blocks` x `threads`: grid-stride partial sums, __shfl_down_sync within warps
// (partial last warp masked), warp totals in dynamic shared memory, atomicAdd of block totals.
float reduce_sum(const std::vector<float>& x, unsigned blocks, unsigned threads);

// `rounds` of: s[t] = v; __syncthreads(); v = s[(t+1) % B] + 1; __syncthreads(). Odd threads
// sleep `sleep_ns` before writing, so a missing barrier lets even threads read unwritten slots.
std::vector<int> barrier_rotate(unsigned blocks, unsigned threads, int rounds, unsigned sleep_ns);

// Threads >= active return at once; the rest write s[t] = t+1, __syncthreads, then thread 0
// sums s (out[0]) and each warp's lane 0 the shuffle-sum of its live lanes (out[1 + warp]).
std::vector<int> early_return(unsigned threads, unsigned active);

// Dynamic shared memory of `words` floats (opt-in above 48 KiB): filled by all threads,
// __syncthreads, read back reversed.
std::vector<float> dyn_shared_reverse(unsigned words, unsigned threads);
// The first `words` words of dynamic shared memory as the kernel finds them (emulator: 0xFF).
std::vector<uint32_t> dyn_shared_initial(unsigned words);

// Per-thread results of the warp ops over one block (value of lane t is 10·t + 1); `mask` for
// every op is the existing lanes of the thread's warp.
struct WarpResults {
  std::vector<int> shfl, up, down, xor_, ballot, any, all;
};
WarpResults warp_ops(unsigned threads, int width, int src_lane, unsigned delta, int lane_mask,
                     int ballot_modulo);

struct AtomicResults {
  std::vector<int> hist;     // atomicAdd(int) of gid % 7
  float fsum = 0;            // atomicAdd(float) of 0.5 per thread
  double dsum = 0;           // atomicAdd(double) of 0.25 per thread
  int imax = 0, imin = 0;    // atomicMax(3·gid - 100), atomicMin(50 - gid)
  unsigned inc = 0;          // atomicInc(limit 9) per thread: total % 10
  unsigned sub = 0;          // atomicSub(1) per thread from 1'000'000
  std::vector<int> tickets;  // atomicCAS loop: every ticket taken exactly once
  int exch = -1;             // atomicExch(gid): some thread's gid
};
AtomicResults atomics(unsigned blocks, unsigned threads);

// Per thread: __syncthreads_count, __syncthreads_and, __syncthreads_or of (t % modulo == 0),
// then of (t < threads) and (t == threads) (3 rounds, 9 values per thread).
std::vector<int> sync_votes(unsigned threads, int modulo);

// Each thread writes (tx, ty, tz, bx, by, bz) at its global linear id (6 ints each).
std::vector<int> coords(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                        unsigned bz);

// in (rows, cols) -> out (cols, rows) through a static __shared__ 32x33 tile, blocks of 32x8.
std::vector<float> transpose(const std::vector<float>& in, int rows, int cols);

// Launches an empty kernel with this configuration (throws xgd::Error when it is invalid).
void launch_config(unsigned grid_x, unsigned block_x, unsigned block_y, unsigned block_z,
                   size_t dyn_smem);

// Emulator-only probes (undefined behaviour on a GPU).
void shuffle_without_own_lane();                 // mask excludes the caller: xgd::Error
void dyn_shared_write_past_end(unsigned words);  // writes word `words`: ASan reports it

}  // namespace xgd::test::model
