#ifndef KRING_BENCH_E2E_BENCH_H_
#define KRING_BENCH_E2E_BENCH_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "nlohmann/json.hpp"

namespace kring::bench {

struct E2eBenchOptions {
  int nodes = 20;
  size_t rows = 100;  // synthetic pupils per school
  int repetitions = 3;
  bool progress = false;
};

// Starts a coordinator process (kring-coordinator-bench, next to this
// binary; its path is found through /proc/self/exe) and `nodes` node
// processes (this binary's `e2e-node`), each with its own encrypted store
// of synthetic pupils, all on loopback. Runs the same query with secure
// aggregation and with the benchmark-only plaintext sum, alternately,
// restarting the coordinator in the other mode in between; reports the
// latency from approval to release of both and their ratio. On failure the
// JSON has "error" (and "logs", the directory with the processes' logs).
// `self` is this binary's path.
nlohmann::json RunE2eBench(const E2eBenchOptions& options,
                           const std::string& self);

// The node side of the benchmark: `kring-node run` with a plaintext sender
// (which kring-node itself never has).
int RunE2eNode(const std::string& data_dir, const std::string& key_file);

}  // namespace kring::bench

#endif  // KRING_BENCH_E2E_BENCH_H_
