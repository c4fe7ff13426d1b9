// libFuzzer harness: the secure-aggregation coordinator state machine
// (crypto/secagg/coordinator.h) fed tampered node messages in one round of
// an otherwise honest run. Input format: tests/fuzz/secagg_fuzz.h.
// Checks (SecAggRun): no crash; no node reveals both secrets of one owner;
// a released sum is exactly that of the listed contributors.

#include <cstddef>
#include <cstdint>

#include "tests/fuzz/secagg_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kring::fuzz::RunTamperedSecAgg(data, size, /*to_node=*/false);
  return 0;
}
