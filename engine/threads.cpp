#include "engine/threads.h"

#include <unistd.h>

#include <cstdlib>

namespace xgd {

void use_passive_openmp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;  // the user's choice stands
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run on with the default
}

}  // namespace xgd
