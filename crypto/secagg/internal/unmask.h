#ifndef KRING_CRYPTO_SECAGG_INTERNAL_UNMASK_H_
#define KRING_CRYPTO_SECAGG_INTERNAL_UNMASK_H_

// Planning the coordinator's reconstructions so that Lagrange weights are
// shared between owners.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/secagg/graph.h"
#include "crypto/shamir.h"

namespace kring::crypto::secagg::internal {

// Which t revealed shares reconstruct each owner's secret, and with which
// interpolator.
struct UnmaskPlan {
  std::vector<ShamirInterpolator> interpolators;
  // Per roster index: an index into `interpolators`, or -1 when the owner
  // has fewer than t revealed shares (nothing to reconstruct).
  std::vector<int32_t> interpolator_of;
  // Per roster index: the t chosen shares, in the order of the points of
  // its interpolator (pointers into the `revealed` passed to PlanUnmask).
  std::vector<std::vector<const ShamirShare*>> shares_of;
};

// Plans the reconstruction of every owner with at least t shares in
// `revealed` (indexed by owner; a share's x is its holder's roster index
// + 1). Any t shares reconstruct a secret, so the choice only affects speed:
// owners are visited in ring order and keep the previous owner's holders
// while they revealed shares of it too; otherwise the t holders furthest
// ahead on the ring are chosen, which the next owners on the ring also
// neighbour. Sorts each revealed[w] by x. The interpolators are built on
// `workers` threads; the plan does not depend on their number.
absl::StatusOr<UnmaskPlan> PlanUnmask(
    const NeighbourGraph& graph,
    std::vector<std::vector<ShamirShare>>& revealed, uint32_t t, int workers);

}  // namespace kring::crypto::secagg::internal

#endif  // KRING_CRYPTO_SECAGG_INTERNAL_UNMASK_H_
