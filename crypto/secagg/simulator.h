#ifndef KRING_CRYPTO_SECAGG_SIMULATOR_H_
#define KRING_CRYPTO_SECAGG_SIMULATOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "crypto/secagg/parameters.h"
#include "kring/v1/secagg.pb.h"

namespace kring::crypto::secagg {

// Where a simulated node stops answering.
enum class DropPoint {
  kNone,
  kBeforeAdvertise,    // never starts
  kBeforeShareKeys,    // advertised keys, then gone
  kBeforeMaskedInput,  // shared keys, then gone (its masks must be removed)
  kAfterMaskedInput,   // sent its input, gone before the consistency check
  kDuringUnmask,       // signed the survivor set, gone before unmasking
};

struct SimulationConfig {
  uint32_t nodes = 10;
  uint32_t dims = 100;
  uint64_t input_bound = 1000;  // inputs are uniform in [0, input_bound]
  enum class Graph { kAuto, kComplete, kSparse } graph = Graph::kAuto;
  SecurityGoals goals;
  // Explicit graph parameters (override ChooseParameters), e.g. to test a
  // small sparse graph.
  std::optional<uint32_t> degree;
  std::optional<uint32_t> threshold;
  uint64_t seed = 1;  // inputs, keys, graph seed, dropouts
  // Fraction of nodes dropping at a random point before the masked input.
  double dropout = 0.0;
  std::map<uint32_t, DropPoint> drops;  // explicit drops (added to dropout)
  int threads = 1;
  // Worker threads of the coordinator (signature checks, unmasking); 0 =
  // one per core. The result does not depend on it.
  int coordinator_threads = 0;
  // Called on every coordinator -> node message before delivery; may
  // modify it (adversarial tests).
  std::function<void(uint32_t to, v1::SecAggMessage&)> on_deliver;
  // Called on every node -> coordinator message: what the coordinator sees.
  std::function<void(uint32_t from, const v1::SecAggMessage&)> on_reply;
  // Per-node overrides of the generated inputs and of the seed of the
  // node's randomness (privacy tests vary one node, fix the rest).
  std::map<uint32_t, std::vector<uint64_t>> inputs;
  std::map<uint32_t, uint64_t> node_random_seeds;
  // Progress notes ("round 2: 998 masked inputs"), e.g. for a terminal.
  std::function<void(const std::string&)> on_progress;
};

struct SimulationReport {
  absl::Status status;  // OK iff the coordinator produced a result
  GraphParameters parameters;
  int modulus_bits = 0;
  std::vector<uint64_t> sum;           // the coordinator's result
  std::vector<uint64_t> expected_sum;  // plain sum of the contributors
  std::vector<uint32_t> contributors;
  bool sum_correct = false;
  std::vector<double> node_seconds;  // compute per node that finished
  double coordinator_seconds = 0;
  int coordinator_threads = 0;  // as resolved by the coordinator
  // CPU time of the coordinator calls over all its threads; unlike
  // coordinator_seconds, it hardly depends on other load on the machine.
  double coordinator_cpu_seconds = 0;
  // coordinator_seconds split by the round being collected (0..4): the
  // Receive() calls of that round's replies plus the CloseRound() ending it.
  std::vector<double> coordinator_round_seconds;
  double plaintext_sum_seconds = 0;  // summing the same inputs in the clear
  std::vector<uint64_t> bytes_sent;  // per node that finished
  std::map<uint32_t, std::string> node_aborts;   // node -> reason
  std::vector<std::string> coordinator_rejects;  // messages it refused
};

// Runs one full secure aggregation in process: n nodes and the coordinator,
// messages passed through the real state machines, with dropouts and
// optional tampering. Deterministic for a given config (timings aside).
SimulationReport RunSimulation(const SimulationConfig& config);

}  // namespace kring::crypto::secagg

#endif  // KRING_CRYPTO_SECAGG_SIMULATOR_H_
