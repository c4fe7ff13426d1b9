#ifndef KRING_CRYPTO_SECAGG_GRAPH_H_
#define KRING_CRYPTO_SECAGG_GRAPH_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kring::crypto::secagg {

// The neighbour graph of a secure-aggregation query over nodes 0..n-1.
//
// Complete graph: every node neighbours every other node.
// Sparse graph (SecAgg+, Bell et al. 2020): the Harary graph H(k, n) on a
// ring whose order is a pseudo-random permutation derived from the public
// 32-byte query seed. Node u at ring position p neighbours the nodes at
// positions p±1, ..., p±k/2 (mod n). k is even, 2 <= k < n-1.
// The permutation is a Fisher-Yates shuffle driven by a ChaCha20 keystream
// (libsodium crypto_stream_chacha20_ietf_xor_ic, zero nonce) under the key
// DeriveKey(seed, "kring-secagg-graph-v1", ""), read as little-endian u32
// words with rejection sampling for unbiased indices, so every node and the
// coordinator derive the same graph from the seed alone (the exact
// construction is spelled out in graph.cc).
//
// Immutable after creation; thread-safe.
class NeighbourGraph {
 public:
  // Errors if n == 0.
  static absl::StatusOr<NeighbourGraph> Complete(uint32_t n);
  // Errors unless k is even, 2 <= k < n-1 (so n >= 4) and `seed` is 32
  // bytes. O(n) time and memory.
  static absl::StatusOr<NeighbourGraph> Harary(uint32_t n, uint32_t k,
                                               std::string_view seed);

  uint32_t size() const { return n_; }
  bool complete() const { return complete_; }
  // Neighbours per node (n-1 for the complete graph).
  uint32_t degree() const { return complete_ ? n_ - 1 : k_; }
  // The neighbours of u in increasing index order; excludes u. Empty if
  // u >= size().
  std::vector<uint32_t> Neighbours(uint32_t u) const;
  // Symmetric; O(1). False if u == v or either is >= size().
  bool AreNeighbours(uint32_t u, uint32_t v) const;
  // u's place on the ring, 0..size()-1 (u itself for the complete graph):
  // the neighbours of a sparse graph's node are the nodes within degree()/2
  // places of it, cyclically. Precondition: u < size().
  uint32_t RingPosition(uint32_t u) const {
    return complete_ ? u : position_[u];
  }

 private:
  NeighbourGraph(uint32_t n, uint32_t k, bool complete,
                 std::vector<uint32_t> position, std::vector<uint32_t> at)
      : n_(n),
        k_(k),
        complete_(complete),
        position_(std::move(position)),
        at_(std::move(at)) {}

  uint32_t n_;
  uint32_t k_;
  bool complete_;
  std::vector<uint32_t> position_;  // node -> ring position (sparse only)
  std::vector<uint32_t> at_;        // ring position -> node (sparse only)
};

}  // namespace kring::crypto::secagg

#endif  // KRING_CRYPTO_SECAGG_GRAPH_H_
