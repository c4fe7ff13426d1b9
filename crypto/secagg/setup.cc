#include "crypto/secagg/setup.h"

#include <algorithm>

#include "absl/status/status.h"
#include "crypto/internal/encoding.h"
#include "crypto/secagg/internal/transcript.h"
#include "crypto/secagg/parameters.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
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
  std::string_view previous;
  for (const auto& p : config.roster()) {
    if (p.node_id().empty()) {
      return absl::InvalidArgumentError(
          "secagg config: empty node_id in roster");
    }
    if (&p != &config.roster(0) && p.node_id() <= previous) {
      return absl::InvalidArgumentError(
          StrCat("secagg config: the roster must be sorted by node_id without "
                 "repeats; \"",
                 p.node_id(), "\" appears twice or out of order"));
    }
    previous = p.node_id();
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
  const auto& bounds = config.element_bounds();
  if (bounds.size() != 1 &&
      static_cast<uint32_t>(bounds.size()) != config.dims()) {
    return absl::InvalidArgumentError(
        StrCat("secagg config: element_bounds needs 1 or ", config.dims(),
               " entries, got ", bounds.size()));
  }
  auto need_bits =
      ChooseModulusBits(std::span<const uint64_t>(bounds.data(), bounds.size()),
                        static_cast<uint32_t>(n));
  if (!need_bits.ok()) {
    return absl::InvalidArgumentError(
        StrCat("secagg config: ", ToStd(need_bits.status().message())));
  }
  if (static_cast<int>(config.modulus_bits()) < *need_bits) {
    return absl::InvalidArgumentError(
        StrCat("secagg config: a ", config.modulus_bits(),
               "-bit modulus can wrap the sum of ", n,
               " inputs within the element bounds; at least ", *need_bits,
               " bits are needed"));
  }
  std::string roster_bytes;
  for (const auto& p : config.roster()) {
    crypto::internal::AppendLengthPrefixed(roster_bytes, p.node_id());
    crypto::internal::AppendLengthPrefixed(roster_bytes,
                                           p.identity_public_key());
  }
  const std::string graph_seed =
      internal::Hash32(config.query_seed() + internal::Hash32(roster_bytes));
  absl::StatusOr<NeighbourGraph> graph =
      config.complete_graph()
          ? NeighbourGraph::Complete(static_cast<uint32_t>(n))
          : NeighbourGraph::Harary(static_cast<uint32_t>(n), config.degree(),
                                   graph_seed);
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
  std::string serialized;
  {
    google::protobuf::io::StringOutputStream raw(&serialized);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    config.SerializeToCodedStream(&coded);
  }
  std::string session =
      internal::Hash32("kring-secagg-session-v1" + serialized);
  return std::shared_ptr<const SecAggSetup>(new SecAggSetup(
      std::move(config), std::move(session), *ring, *std::move(graph)));
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
