// OpenMP start-up policy of the engine's programs.
#pragma once

namespace xgd {

// libgomp's default wait policy spins idle threads between parallel regions. Next to the data
// loader's threads on a 2-core machine that stalls every region behind a descheduled spinner:
// an XGD training step measured 0.65 img/s with the default and 9.7 img/s with
// OMP_WAIT_POLICY=passive (deeplabv3plus_resnet18 student, R101 teacher, 128 px, batch 4).
// libgomp reads the variable once, when it is loaded, so when the user has not set it this sets
// it to passive and re-executes the program (argv unchanged). Call first thing in main().
void use_passive_openmp_wait(char** argv);

}  // namespace xgd
