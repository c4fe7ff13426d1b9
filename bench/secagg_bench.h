#ifndef KRING_BENCH_SECAGG_BENCH_H_
#define KRING_BENCH_SECAGG_BENCH_H_

#include <cstdint>
#include <string>

#include "nlohmann/json.hpp"

namespace kring::bench {

struct SecAggBenchOptions {
  uint32_t nodes = 100;
  uint32_t dims = 1000;
  double dropout = 0.05;
  std::string graph = "auto";  // auto | complete | sparse
  uint64_t input_bound = 1000;
  double corrupt_fraction = 0.05;
  double max_dropout = 0.10;  // raised to `dropout` if that is larger
  uint64_t seed = 1;
  // Per-node times are measured per call; more threads finish sooner but
  // contend for the cores and inflate per-node figures.
  int threads = 1;
  // Coordinator worker threads; 0 = one per core.
  int coordinator_threads = 0;
  bool progress = false;  // progress notes on stderr
};

// Runs one simulated secure aggregation and returns its figures.
nlohmann::json RunSecAggBench(const SecAggBenchOptions& options);

}  // namespace kring::bench

#endif  // KRING_BENCH_SECAGG_BENCH_H_
