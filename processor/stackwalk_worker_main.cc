// A stack-walking worker executable for the processor's tests (the real one is the hidden
// `breakwater stackwalk-worker` subcommand, which calls the same function).
#include "processor/stackwalk_worker.h"

int main() { return bw::processor::run_stackwalk_worker(0, 1); }
