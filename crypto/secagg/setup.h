#ifndef KRING_CRYPTO_SECAGG_SETUP_H_
#define KRING_CRYPTO_SECAGG_SETUP_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/identity.h"
#include "crypto/mask_prg.h"
#include "crypto/secagg/graph.h"
#include "kring/v1/secagg.pb.h"

namespace kring::crypto::secagg {

// The validated public parameters of one run, shared by every node and the
// coordinator: roster, neighbour graph, threshold and ring. Immutable after
// creation; thread-safe.
class SecAggSetup {
 public:
  static constexpr uint32_t kMaxDims = 10'000'000;
  static constexpr uint32_t kMaxNodes = 1'000'000;

  // Validates `config`: non-empty query id, 32-byte seed, 3..kMaxNodes
  // roster entries sorted by node id (a canonical order, so nobody can
  // place nodes on the ring by reordering), 1..kMaxDims dims, element bounds
  // (one, or one per element) that the modulus holds n times over, a valid
  // graph, and a threshold that is a strict majority of every committee
  // (t > (k+1)/2) and at most k+1. Identity keys are parsed lazily
  // (IdentityKey) so a node only pays for its neighbours.
  //
  // The sparse graph is seeded with BLAKE2b(query_seed || roster). The
  // query seed must be fixed by the approvals, not chosen by the
  // coordinator, or it could grind for a ring that surrounds a victim.
  static absl::StatusOr<std::shared_ptr<const SecAggSetup>> Create(
      v1::SecAggConfig config);

  const v1::SecAggConfig& config() const { return config_; }
  std::string_view query_id() const { return config_.query_id(); }
  // BLAKE2b of the whole config: every signature and derived key of the run
  // is bound to it, so nothing carries over to a run with other parameters.
  std::string_view session() const { return session_; }
  // The largest allowed value of input element i.
  uint64_t bound(size_t i) const {
    return config_.element_bounds_size() == 1
               ? config_.element_bounds(0)
               : config_.element_bounds(static_cast<int>(i));
  }
  uint32_t size() const { return static_cast<uint32_t>(config_.roster_size()); }
  uint32_t dims() const { return config_.dims(); }
  uint32_t threshold() const { return config_.threshold(); }
  RingModulus ring() const { return ring_; }
  const NeighbourGraph& graph() const { return graph_; }
  std::string_view node_id(uint32_t i) const {
    return config_.roster(static_cast<int>(i)).node_id();
  }
  // Roster entry i's Ed25519 key, parsed on first use and cached
  // (thread-safe).
  absl::StatusOr<IdentityPublicKey> IdentityKey(uint32_t i) const;
  // {u} and its neighbours, sorted: the holders of u's shares.
  std::vector<uint32_t> Committee(uint32_t u) const;

 private:
  SecAggSetup(v1::SecAggConfig config, std::string session, RingModulus ring,
              NeighbourGraph graph)
      : config_(std::move(config)),
        session_(std::move(session)),
        ring_(ring),
        graph_(std::move(graph)),
        key_once_(config_.roster_size()),
        keys_(config_.roster_size()) {}

  v1::SecAggConfig config_;
  std::string session_;
  RingModulus ring_;
  NeighbourGraph graph_;
  mutable std::vector<std::once_flag> key_once_;
  mutable std::vector<std::optional<IdentityPublicKey>> keys_;
};

}  // namespace kring::crypto::secagg

#endif  // KRING_CRYPTO_SECAGG_SETUP_H_
