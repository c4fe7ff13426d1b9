#ifndef KRING_CRYPTO_SECAGG_PARAMETERS_H_
#define KRING_CRYPTO_SECAGG_PARAMETERS_H_

#include <cstdint>
#include <span>

#include "absl/status/statusor.h"

namespace kring::crypto::secagg {

// What the parameters must withstand.
struct SecurityGoals {
  double corrupt_fraction = 0.05;     // gamma: nodes colluding with coordinator
  double dropout_fraction = 0.10;     // delta: nodes that may drop out
  int security_bits = 40;             // sigma: privacy fails w.p. <= 2^-sigma
  int correctness_bits = 20;          // eta: a run fails w.p. <= 2^-eta
  uint32_t complete_graph_max = 100;  // use the complete graph up to this n
};

// The chosen graph and threshold. Each node's secrets are Shamir-shared
// among its committee: itself and its `degree` neighbours (degree + 1
// holders); any `threshold` of them reconstruct.
struct GraphParameters {
  bool complete = true;
  uint32_t degree = 0;         // k: neighbours per node
  uint32_t threshold = 0;      // t
  uint32_t corrupt_bound = 0;  // c: bound on corrupt neighbours used for t
};

// Chooses k and t for n nodes (documented in parameters.cc and the README):
//  * complete graph when n <= complete_graph_max: k = n-1,
//    c = floor(gamma*n) (the stated worst case, deterministic);
//  * otherwise the smallest even k (2 <= k < n-1, k <= 65534) such that,
//    with X ~ Bin(k, p) bounding the hypergeometric count among a random
//    neighbourhood,
//      (a) c = min{c : n * P[Bin(k, gamma) > c] <= 2^-sigma},
//      (b) t = floor((k + 1 + c) / 2) + 1, so two disjoint sets of honest
//          holders can never both reach t together with the c corrupt ones
//          (the coordinator cannot obtain both the self-mask and the mask
//          key of any node, whatever it claims about dropouts),
//      (c) n * P[Bin(k, delta) > k - t] <= 2^-eta (every node keeps at
//          least t live holders), and
//      (d) n * (gamma + delta)^(k/2) <= 2^-sigma (no run of k/2 consecutive
//          failed ring positions, so the honest survivors stay connected and
//          only their total is revealed).
//  For the complete graph, (c) and (d) become deterministic checks:
//  (c) k - floor(delta*n) >= t, and (d) holds trivially (every set of nodes
//  of a complete graph is connected). If no sparse k < n-1 works, the
//  complete graph is used when it meets the goals.
// Errors when neither a sparse k nor the complete graph satisfies the goals
// (too many corrupt or dropping nodes for this n), and for invalid goals:
// n < 2, fractions outside [0, 1), gamma + delta >= 1, security_bits
// outside 1..128, correctness_bits outside 1..64.
absl::StatusOr<GraphParameters> ChooseParameters(uint32_t n,
                                                 const SecurityGoals& goals);

// What a node checks before joining a run whose parameters someone else
// chose: for these goals, the threshold is high enough that the coordinator
// cannot collect both secrets of any node (condition (b), with c from (a)
// for the given degree, or floor(gamma*n) for the complete graph), and a
// sparse degree keeps the honest survivors connected (condition (d)).
// Correctness goals are not enforced here; they only affect whether the
// run completes. PERMISSION_DENIED when the parameters are unsafe.
absl::Status CheckPrivacyOfParameters(uint32_t n, const GraphParameters& p,
                                      const SecurityGoals& goals);

// The smallest modulus bit width m (1..64) such that the sum of `nodes`
// vectors whose element i is at most bounds[i] cannot wrap: 2^m > max_i
// bounds[i] * nodes. Errors if that exceeds 64 bits or bounds is empty.
absl::StatusOr<int> ChooseModulusBits(std::span<const uint64_t> bounds,
                                      uint32_t nodes);

}  // namespace kring::crypto::secagg

#endif  // KRING_CRYPTO_SECAGG_PARAMETERS_H_
