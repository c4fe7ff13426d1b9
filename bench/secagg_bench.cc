#include "bench/secagg_bench.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <numeric>

#include "bench/bench_util.h"
#include "crypto/secagg/bit_pack.h"
#include "crypto/secagg/simulator.h"
#include "util/str_cat.h"

namespace kring::bench {

nlohmann::json RunSecAggBench(const SecAggBenchOptions& o) {
  using crypto::secagg::SimulationConfig;
  SimulationConfig config;
  config.nodes = o.nodes;
  config.dims = o.dims;
  config.dropout = o.dropout;
  config.input_bound = o.input_bound;
  config.seed = o.seed;
  config.threads = o.threads;
  config.coordinator_threads = o.coordinator_threads;
  config.graph = o.graph == "complete" ? SimulationConfig::Graph::kComplete
                 : o.graph == "sparse" ? SimulationConfig::Graph::kSparse
                                       : SimulationConfig::Graph::kAuto;
  config.goals.corrupt_fraction = o.corrupt_fraction;
  config.goals.dropout_fraction = std::max(o.max_dropout, o.dropout);
  auto start = std::chrono::steady_clock::now();
  if (o.progress) {
    config.on_progress = [start](const std::string& note) {
      double s = std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - start)
                     .count();
      std::cerr << "[" << static_cast<int>(s) << "s] " << note << std::endl;
    };
  }
  auto rep = crypto::secagg::RunSimulation(config);
  double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();

  nlohmann::json out;
  out["benchmark"] = "secagg";
  out["nodes"] = o.nodes;
  out["dims"] = o.dims;
  out["graph"] = rep.parameters.complete ? "complete" : "sparse";
  out["graph_degree"] = rep.parameters.degree;
  out["threshold"] = rep.parameters.threshold;
  out["corrupt_fraction"] = config.goals.corrupt_fraction;
  out["dropout_bound"] = config.goals.dropout_fraction;
  out["dropout"] = o.dropout;
  out["modulus_bits"] = rep.modulus_bits;
  out["input_bound"] = o.input_bound;
  out["seed"] = o.seed;
  out["threads"] = o.threads;
  out["status"] =
      rep.status.ok() ? "ok" : std::string(ToStd(rep.status.message()));
  out["sum_correct"] = rep.status.ok() && rep.sum_correct;
  out["contributors"] = rep.contributors.size();
  out["node_aborts"] = rep.node_aborts.size();
  std::vector<double> ms;
  for (double s : rep.node_seconds) ms.push_back(1e3 * s);
  out["node_ms_median"] = Median(ms);
  out["node_ms_p95"] = Quantile(ms, 0.95);
  out["coordinator_ms"] = 1e3 * rep.coordinator_seconds;
  out["coordinator_threads"] = rep.coordinator_threads;
  out["coordinator_cpu_ms"] = 1e3 * rep.coordinator_cpu_seconds;
  std::vector<double> round_ms;
  for (double s : rep.coordinator_round_seconds) round_ms.push_back(1e3 * s);
  out["coordinator_ms_by_round"] = round_ms;
  double bytes =
      rep.bytes_sent.empty()
          ? 0.0
          : std::accumulate(rep.bytes_sent.begin(), rep.bytes_sent.end(), 0.0) /
                static_cast<double>(rep.bytes_sent.size());
  double plain = rep.modulus_bits > 0
                     ? static_cast<double>(
                           crypto::secagg::PackedSize(o.dims, rep.modulus_bits))
                     : 0.0;
  out["bytes_sent_per_node"] = bytes;
  out["plaintext_bytes_per_node"] = plain;
  out["expansion"] = plain > 0 ? bytes / plain : 0.0;
  out["plaintext_sum_ms"] = 1e3 * rep.plaintext_sum_seconds;
  out["total_seconds"] = total;
  return out;
}

}  // namespace kring::bench
