#include "crypto/secagg/setup.h"

#include <algorithm>
#include <unordered_set>

#include "absl/status/status.h"
#include "util/str_cat.h"

namespace kring::crypto::secagg {

absl::StatusOr<std::shared_ptr<const SecAggSetup>> SecAggSetup::Create(
    v1::SecAggConfig config) {
  if (config.query_id().empty()) {
    return absl::InvalidArgumentError("secagg config: query_id is empty");
  }
  if (config.query_seed().size() != 32) {
    return absl::InvalidArgumentError(
        StrCat("secagg config: query_seed must be 32 bytes, got ",
               config.query_seed().size()));
  }
  const size_t n = static_cast<size_t>(config.roster_size());
  if (n < 3 || n > kMaxNodes) {
    return absl::InvalidArgumentError(
        StrCat("secagg config: the roster must have 3..", kMaxNodes,
               " participants, got ", n));
  }
  std::unordered_set<std::string_view> ids;
  for (const auto& p : config.roster()) {
    if (p.node_id().empty()) {
      return absl::InvalidArgumentError(
          "secagg config: empty node_id in roster");
    }
    if (!ids.insert(p.node_id()).second) {
      return absl::InvalidArgumentError(
          StrCat("secagg config: node_id \"", p.node_id(), "\" appears twice"));
    }
    if (p.identity_public_key().size() != kIdentityPublicKeyBytes) {
      return absl::InvalidArgumentError(
          StrCat("secagg config: identity key of \"", p.node_id(),
                 "\" is not 32 bytes"));
    }
  }
  if (config.dims() < 1 || config.dims() > kMaxDims) {
    return absl::InvalidArgumentError(StrCat(
        "secagg config: dims must be 1..", kMaxDims, ", got ", config.dims()));
  }
  auto ring = RingModulus::Create(static_cast<int>(config.modulus_bits()));
  if (!ring.ok()) {
    return absl::InvalidArgumentError(
        StrCat("secagg config: ", ToStd(ring.status().message())));
  }
  absl::StatusOr<NeighbourGraph> graph =
      config.complete_graph()
          ? NeighbourGraph::Complete(static_cast<uint32_t>(n))
          : NeighbourGraph::Harary(static_cast<uint32_t>(n), config.degree(),
                                   config.query_seed());
  if (!graph.ok()) {
    return absl::InvalidArgumentError(
        StrCat("secagg config: ", ToStd(graph.status().message())));
  }
  const uint64_t committee = uint64_t{graph->degree()} + 1;
  const uint64_t t = config.threshold();
  if (2 * t <= committee || t > committee) {
    return absl::InvalidArgumentError(StrCat(
        "secagg config: threshold ", t, " must be a strict majority of the ",
        committee,
        " holders of each node's shares (more than half, at most all), or "
        "the coordinator could collect both the self-mask and the mask key "
        "of a node"));
  }
  return std::shared_ptr<const SecAggSetup>(
      new SecAggSetup(std::move(config), *ring, *std::move(graph)));
}

absl::StatusOr<IdentityPublicKey> SecAggSetup::IdentityKey(uint32_t i) const {
  if (i >= size()) {
    return absl::InvalidArgumentError(
        StrCat("node index ", i, " is outside the roster of ", size()));
  }
  std::call_once(key_once_[i], [&] {
    auto key = IdentityPublicKey::FromBytes(
        config_.roster(static_cast<int>(i)).identity_public_key());
    if (key.ok()) keys_[i] = *key;
  });
  if (keys_[i].has_value()) return *keys_[i];
  auto key = IdentityPublicKey::FromBytes(
      config_.roster(static_cast<int>(i)).identity_public_key());
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        StrCat("identity key of \"", node_id(i),
               "\": ", ToStd(key.status().message())));
  }
  return key;
}

std::vector<uint32_t> SecAggSetup::Committee(uint32_t u) const {
  std::vector<uint32_t> c = graph_.Neighbours(u);
  c.insert(std::upper_bound(c.begin(), c.end(), u), u);
  return c;
}

}  // namespace kring::crypto::secagg
