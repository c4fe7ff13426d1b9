// libFuzzer harness: the secure-aggregation node state machine
// (crypto/secagg/node.h) fed tampered coordinator messages in one round of
// an otherwise honest run. Input format: tests/fuzz/secagg_fuzz.h.
// Checks (SecAggRun): no crash; no node reveals both secrets of one owner;
// a released sum is exactly that of the listed contributors.

#include <cstddef>
#include <cstdint>

#include "tests/fuzz/secagg_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kring::fuzz::RunTamperedSecAgg(data, size, /*to_node=*/true);
  return 0;
}
