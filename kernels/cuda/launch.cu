// Launch settings shared by the kernels/cuda launchers (launch.h).
#include "kernels/cuda/device.h"
// (device.h first)
#include <atomic>

#include "kernels/cuda/launch.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
namespace {
constexpr unsigned kDefaultMaxGridBlocks = 4096;
std::atomic<unsigned> max_blocks{kDefaultMaxGridBlocks};
}  // namespace

unsigned max_grid_blocks() {
  return max_blocks.load(std::memory_order_relaxed);
}
void set_max_grid_blocks(unsigned blocks) {
  max_blocks.store(blocks ? blocks : kDefaultMaxGridBlocks, std::memory_order_relaxed);
}
XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
