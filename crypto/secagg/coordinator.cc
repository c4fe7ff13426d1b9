#include "crypto/secagg/coordinator.h"

#include <algorithm>

#include "absl/status/status.h"
#include "crypto/key_agreement.h"
#include "crypto/secagg/bit_pack.h"
#include "crypto/secagg/internal/masks.h"
#include "crypto/secagg/internal/parallel.h"
#include "crypto/secagg/internal/transcript.h"
#include "crypto/secagg/internal/unmask.h"
#include "util/str_cat.h"

namespace kring::crypto::secagg {
namespace {

using internal::kRoundAdvertise;
using internal::kRoundConsistency;
using internal::kRoundMaskedInput;
using internal::kRoundShareKeys;
using internal::kRoundUnmask;

constexpr v1::SecAggMessage::BodyCase kBodyForRound[] = {
    v1::SecAggMessage::kAdvertiseKeys,
    v1::SecAggMessage::kShareKeys,
    v1::SecAggMessage::kMaskedInput,
    v1::SecAggMessage::kConsistencySignature,
    v1::SecAggMessage::kUnmaskResponse,
};

size_t Count(const std::vector<bool>& v) {
  return static_cast<size_t>(std::count(v.begin(), v.end(), true));
}

}  // namespace

absl::StatusOr<SecAggCoordinator> SecAggCoordinator::Create(
    std::shared_ptr<const SecAggSetup> setup, int threads) {
  if (setup == nullptr) {
    return absl::InvalidArgumentError("secagg coordinator: setup is null");
  }
  if (threads < 0) {
    return absl::InvalidArgumentError(StrCat(
        "secagg coordinator: threads must be 0 (one per core) or more, got ",
        threads));
  }
  return SecAggCoordinator(std::move(setup), internal::WorkerCount(threads));
}

SecAggCoordinator::SecAggCoordinator(std::shared_ptr<const SecAggSetup> setup,
                                     int threads)
    : setup_(std::move(setup)), threads_(threads) {
  const uint32_t n = setup_->size();
  expected_.assign(n, true);
  answered_.assign(n, false);
  advertised_.assign(n, false);
  shared_.assign(n, false);
  masked_.assign(n, false);
  signed_.assign(n, false);
  adverts_.resize(n);
  commitments_.resize(n);
  share_keys_.resize(n);
  consistency_.resize(n);
}

v1::SecAggMessage SecAggCoordinator::Envelope(uint32_t round) const {
  v1::SecAggMessage m;
  m.set_query_id(std::string(setup_->query_id()));
  m.set_round(round);
  return m;
}

std::vector<uint32_t> SecAggCoordinator::Pending() const {
  std::vector<uint32_t> out;
  if (round_ > kRoundUnmask) return out;
  for (uint32_t i = 0; i < setup_->size(); ++i) {
    if (expected_[i] && !answered_[i]) out.push_back(i);
  }
  return out;
}

absl::Status SecAggCoordinator::Fail(std::string reason) {
  failure_ = std::move(reason);
  round_ = 5;
  sum_.clear();
  revealed_.clear();
  return absl::FailedPreconditionError(
      StrCat("secure aggregation for query \"", setup_->query_id(),
             "\" failed with no result: ", failure_));
}

absl::Status SecAggCoordinator::CheckSender(uint32_t sender) const {
  if (sender >= setup_->size()) {
    return absl::InvalidArgumentError(
        StrCat("sender ", sender, " is outside the roster"));
  }
  if (!expected_[sender]) {
    return absl::FailedPreconditionError(
        StrCat("node ", sender, " is not part of round ", round_,
               " (it dropped out earlier)"));
  }
  if (answered_[sender]) {
    return absl::AlreadyExistsError(StrCat("node ", sender,
                                           " already answered round ", round_,
                                           " (duplicate or replayed message)"));
  }
  return absl::OkStatus();
}

absl::Status SecAggCoordinator::VerifyFrom(uint32_t sender,
                                           std::string_view context,
                                           const std::string& bytes,
                                           const std::string& signature) const {
  auto key = setup_->IdentityKey(sender);
  if (!key.ok()) return key.status();
  if (!key->Verify(context, bytes, signature).ok()) {
    return absl::UnauthenticatedError(StrCat(
        "round-", round_, " message claiming to be from node ", sender, " (\"",
        setup_->node_id(sender), "\") is not signed by its identity key"));
  }
  return absl::OkStatus();
}

absl::Status SecAggCoordinator::CheckEnvelope(
    const v1::SecAggMessage& message) const {
  if (round_ > kRoundUnmask) {
    return absl::FailedPreconditionError(
        "secagg coordinator: the run is over; no more messages are accepted");
  }
  if (message.query_id() != setup_->query_id()) {
    return absl::InvalidArgumentError(
        StrCat("secagg coordinator: rejected a message for query \"",
               message.query_id(), "\"; this run is query \"",
               setup_->query_id(), "\""));
  }
  if (message.round() != round_ ||
      message.body_case() != kBodyForRound[round_]) {
    return absl::InvalidArgumentError(
        StrCat("secagg coordinator: rejected a round-", message.round(),
               " message while collecting round ", round_,
               " (replayed or late message?)"));
  }
  return absl::OkStatus();
}

absl::Status SecAggCoordinator::VerifyMessage(
    const v1::SecAggMessage& message) const {
  const std::string_view session = setup_->session();
  switch (message.body_case()) {
    case v1::SecAggMessage::kAdvertiseKeys: {
      const auto& m = message.advertise_keys();
      if (auto s =
              VerifyFrom(m.sender(), internal::kAdvertiseContext,
                         internal::AdvertiseBytes(session, m), m.signature());
          !s.ok()) {
        return s;
      }
      // Stateless like the signature, so checked here, on the workers.
      if (!ValidateX25519PublicKey(m.cipher_public_key()).ok() ||
          !ValidateX25519PublicKey(m.mask_public_key()).ok()) {
        return absl::InvalidArgumentError(StrCat(
            "node ", m.sender(), " advertised malformed or small-order keys"));
      }
      return absl::OkStatus();
    }
    case v1::SecAggMessage::kShareKeys: {
      const auto& m = message.share_keys();
      return VerifyFrom(m.sender(), internal::kShareKeysContext,
                        internal::ShareKeysBytes(session, m), m.signature());
    }
    case v1::SecAggMessage::kMaskedInput: {
      const auto& m = message.masked_input();
      return VerifyFrom(m.sender(), internal::kMaskedInputContext,
                        internal::MaskedInputBytes(session, m), m.signature());
    }
    case v1::SecAggMessage::kConsistencySignature: {
      const auto& m = message.consistency_signature();
      if (m.sender() >= setup_->size()) return CheckSender(m.sender());
      const auto& keys = adverts_[m.sender()];
      return VerifyFrom(m.sender(), internal::kConsistencyContext,
                        internal::ConsistencyBytes(
                            session, m.sender(), survivors_hash_,
                            internal::KeysHash(keys.cipher_public_key(),
                                               keys.mask_public_key())),
                        m.signature());
    }
    case v1::SecAggMessage::kUnmaskResponse: {
      const auto& m = message.unmask_response();
      return VerifyFrom(m.sender(), internal::kUnmaskContext,
                        internal::UnmaskBytes(session, m), m.signature());
    }
    default:
      return absl::InvalidArgumentError("secagg coordinator: empty message");
  }
}

absl::Status SecAggCoordinator::Receive(const v1::SecAggMessage& message) {
  return ReceivePrepared(message, nullptr);
}

SecAggCoordinator::Prepared SecAggCoordinator::Prepare(
    const v1::SecAggMessage& message) const {
  Prepared out;
  out.status = VerifyMessage(message);
  if (!out.status.ok()) return out;
  switch (message.body_case()) {
    case v1::SecAggMessage::kShareKeys:
      out.status = CheckShareKeys(message.share_keys());
      if (out.status.ok()) out.share_keys = message.share_keys();
      break;
    case v1::SecAggMessage::kUnmaskResponse:
      out.status = CheckUnmask(message.unmask_response(), out);
      break;
    default:
      break;
  }
  return out;
}

std::vector<absl::Status> SecAggCoordinator::ReceiveAll(
    std::span<const v1::SecAggMessage* const> messages) {
  // The checks that do not depend on earlier messages of the round
  // (signatures, contents) first, in parallel: they read only state that
  // stays fixed while a round's messages are collected.
  std::vector<std::optional<Prepared>> prepared(messages.size());
  internal::ParallelForWorkers(messages.size(), threads_, [&](size_t i, int) {
    if (CheckEnvelope(*messages[i]).ok()) prepared[i] = Prepare(*messages[i]);
  });
  std::vector<absl::Status> out;
  out.reserve(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    out.push_back(ReceivePrepared(
        *messages[i], prepared[i].has_value() ? &*prepared[i] : nullptr));
  }
  return out;
}

absl::Status SecAggCoordinator::ReceivePrepared(
    const v1::SecAggMessage& message, Prepared* prepared) {
  if (auto s = CheckEnvelope(message); !s.ok()) return s;
  uint32_t sender = 0;
  switch (message.body_case()) {
    case v1::SecAggMessage::kAdvertiseKeys:
      sender = message.advertise_keys().sender();
      break;
    case v1::SecAggMessage::kShareKeys:
      sender = message.share_keys().sender();
      break;
    case v1::SecAggMessage::kMaskedInput:
      sender = message.masked_input().sender();
      break;
    case v1::SecAggMessage::kConsistencySignature:
      sender = message.consistency_signature().sender();
      break;
    default:
      sender = message.unmask_response().sender();
  }
  if (auto s = CheckSender(sender); !s.ok()) return s;
  Prepared local;
  if (prepared == nullptr) {
    local = Prepare(message);
    prepared = &local;
  }
  if (!prepared->status.ok()) {
    if (prepared->fails_run) {
      return Fail(std::string(ToStd(prepared->status.message())));
    }
    return prepared->status;
  }
  switch (message.body_case()) {
    case v1::SecAggMessage::kAdvertiseKeys:
      adverts_[sender] = message.advertise_keys();
      break;
    case v1::SecAggMessage::kShareKeys:
      commitments_[sender] = message.share_keys().self_mask_commitment();
      share_keys_[sender] = *std::move(prepared->share_keys);
      break;
    case v1::SecAggMessage::kMaskedInput:
      if (auto s = ReceiveMaskedInput(message.masked_input()); !s.ok()) {
        return s;
      }
      break;
    case v1::SecAggMessage::kConsistencySignature:
      consistency_[sender] = message.consistency_signature().signature();
      break;
    default: {
      const auto& m = message.unmask_response();
      for (size_t i = 0; i < prepared->shares.size(); ++i) {
        revealed_[m.shares(static_cast<int>(i)).owner()].push_back(
            std::move(prepared->shares[i]));
      }
    }
  }
  answered_[sender] = true;
  return absl::OkStatus();
}

absl::Status SecAggCoordinator::CheckShareKeys(const v1::ShareKeys& m) const {
  std::vector<uint32_t> recipients;
  recipients.reserve(m.shares_size());
  for (const auto& es : m.shares()) {
    if (es.sender() != m.sender() || es.recipient() >= setup_->size() ||
        !advertised_[es.recipient()] ||
        !setup_->graph().AreNeighbours(m.sender(), es.recipient())) {
      return absl::InvalidArgumentError(StrCat(
          "node ", m.sender(), " sent a share for node ", es.recipient(),
          ", which is not one of its live neighbours (or was sent twice)"));
    }
    recipients.push_back(es.recipient());
  }
  std::sort(recipients.begin(), recipients.end());
  if (auto dup = std::adjacent_find(recipients.begin(), recipients.end());
      dup != recipients.end()) {
    return absl::InvalidArgumentError(StrCat(
        "node ", m.sender(), " sent a share for node ", *dup,
        ", which is not one of its live neighbours (or was sent twice)"));
  }
  size_t live_neighbours = 0;
  for (uint32_t v : setup_->graph().Neighbours(m.sender())) {
    live_neighbours += advertised_[v] ? 1 : 0;
  }
  if (recipients.size() != live_neighbours) {
    return absl::InvalidArgumentError(StrCat(
        "node ", m.sender(), " sent shares to ", recipients.size(), " of its ",
        live_neighbours,
        " live neighbours; it must share with all of them, or masks would "
        "not cancel"));
  }
  if (m.self_mask_commitment().size() != 32) {
    return absl::InvalidArgumentError(
        StrCat("node ", m.sender(), " sent no commitment to its self mask"));
  }
  return absl::OkStatus();
}

absl::Status SecAggCoordinator::ReceiveMaskedInput(const v1::MaskedInput& m) {
  const RingModulus ring = setup_->ring();
  auto y = UnpackBits(m.packed(), ring.bits(), setup_->dims());
  if (!y.ok()) {
    return absl::InvalidArgumentError(StrCat("masked input of node ",
                                             m.sender(), ": ",
                                             ToStd(y.status().message())));
  }
  if (sum_.empty()) sum_.assign(setup_->dims(), 0);
  for (size_t i = 0; i < sum_.size(); ++i) {
    sum_[i] = ring.Reduce(sum_[i] + (*y)[i]);
  }
  return absl::OkStatus();
}

absl::Status SecAggCoordinator::CheckUnmask(const v1::UnmaskResponse& m,
                                            Prepared& out) const {
  std::vector<uint32_t> owners;
  owners.reserve(m.shares_size());
  out.shares.reserve(m.shares_size());
  for (const auto& rs : m.shares()) {
    const uint32_t owner = rs.owner();
    bool holder = owner < setup_->size() && shared_[owner] &&
                  (owner == m.sender() ||
                   setup_->graph().AreNeighbours(owner, m.sender()));
    if (!holder ||
        std::find(owners.begin(), owners.end(), owner) != owners.end()) {
      return absl::InvalidArgumentError(
          StrCat("node ", m.sender(), " revealed a share of node ", owner,
                 ", which it does not hold (or revealed it twice)"));
    }
    owners.push_back(owner);
    const auto want = masked_[owner] ? v1::RevealedShare::SELF_MASK
                                     : v1::RevealedShare::MASK_KEY;
    if (rs.kind() != want) {
      return absl::InvalidArgumentError(
          StrCat("node ", m.sender(),
                 " revealed the wrong kind of share of node ", owner));
    }
    auto share = ShamirShare::FromParts(
        m.sender() + 1,
        std::span(reinterpret_cast<const uint8_t*>(rs.share().data()),
                  rs.share().size()));
    if (!share.ok()) {
      return absl::InvalidArgumentError(StrCat(
          "node ", m.sender(), " revealed a malformed share of node ", owner));
    }
    out.shares.push_back(*std::move(share));
  }
  // A node masked with exactly the peers whose shares it holds, and it
  // reveals a share of each: one that holds no share of a committee member
  // that shared keys left that member's mask out of its input.
  std::sort(owners.begin(), owners.end());
  for (uint32_t w : setup_->Committee(m.sender())) {
    if (shared_[w] && !std::binary_search(owners.begin(), owners.end(), w)) {
      out.fails_run = true;
      return absl::FailedPreconditionError(StrCat(
          "node ", m.sender(), " (\"", setup_->node_id(m.sender()),
          "\") never received the shares of node ", w,
          ", so its masked input leaves out the mask it shares with node ", w,
          " and the sum would be wrong"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Outgoing>> SecAggCoordinator::CloseRound() {
  if (round_ > kRoundUnmask) {
    return absl::FailedPreconditionError(
        failed() ? StrCat("secure aggregation already failed: ", failure_)
                 : std::string("secure aggregation already finished"));
  }
  const uint32_t n = setup_->size();
  const uint32_t t = setup_->threshold();
  const size_t live = Count(answered_);
  static constexpr const char* kWhat[] = {
      "advertised keys", "shared keys", "sent a masked input",
      "confirmed the survivor set", "revealed their shares"};
  if (live < t) {
    return Fail(StrCat("only ", live, " of ", n, " nodes ", kWhat[round_],
                       "; at least ", t, " are needed"));
  }
  std::vector<Outgoing> out;
  switch (round_) {
    case kRoundAdvertise:
      out = CloseAdvertise();
      break;
    case kRoundShareKeys:
      out = CloseShareKeys();
      break;
    case kRoundMaskedInput:
      out = CloseMaskedInput();
      break;
    case kRoundConsistency:
      out = CloseConsistency();
      break;
    default:
      return Finish();
  }
  // Nodes that got a message are expected to answer the next round.
  std::fill(expected_.begin(), expected_.end(), false);
  for (const auto& o : out) expected_[o.to] = true;
  std::fill(answered_.begin(), answered_.end(), false);
  ++round_;
  return out;
}

std::vector<Outgoing> SecAggCoordinator::ForLive(
    const std::vector<bool>& live, uint32_t next_round,
    const std::function<void(uint32_t, v1::SecAggMessage&)>& fill) const {
  std::vector<uint32_t> to;
  for (uint32_t u = 0; u < setup_->size(); ++u) {
    if (live[u]) to.push_back(u);
  }
  std::vector<Outgoing> out(to.size());
  internal::ParallelForWorkers(to.size(), threads_, [&](size_t i, int) {
    out[i] = Outgoing{to[i], Envelope(next_round)};
    fill(to[i], out[i].message);
  });
  return out;
}

std::vector<Outgoing> SecAggCoordinator::CloseAdvertise() {
  advertised_ = answered_;
  return ForLive(advertised_, kRoundShareKeys,
                 [&](uint32_t u, v1::SecAggMessage& m) {
                   auto* nk = m.mutable_neighbour_keys();
                   for (uint32_t v : setup_->graph().Neighbours(u)) {
                     if (advertised_[v]) *nk->add_keys() = adverts_[v];
                   }
                 });
}

std::vector<Outgoing> SecAggCoordinator::CloseShareKeys() {
  const uint32_t n = setup_->size();
  shared_ = answered_;
  std::vector<Outgoing> by_node(n);
  for (uint32_t v = 0; v < n; ++v) {
    by_node[v] = Outgoing{v, Envelope(kRoundMaskedInput)};
    by_node[v].message.mutable_incoming_shares();
  }
  for (uint32_t u = 0; u < n; ++u) {
    if (!shared_[u]) continue;
    for (auto& es : *share_keys_[u].mutable_shares()) {
      if (!shared_[es.recipient()]) continue;
      *by_node[es.recipient()].message.mutable_incoming_shares()->add_shares() =
          std::move(es);
    }
    share_keys_[u] = v1::ShareKeys();
  }
  std::vector<Outgoing> out;
  for (uint32_t v = 0; v < n; ++v) {
    if (shared_[v]) out.push_back(std::move(by_node[v]));
  }
  share_keys_.clear();
  return out;
}

std::vector<Outgoing> SecAggCoordinator::CloseMaskedInput() {
  const uint32_t n = setup_->size();
  masked_ = answered_;
  survivors_.assign(internal::BitmapBytes(n), '\0');
  for (uint32_t v = 0; v < n; ++v) {
    if (masked_[v]) internal::BitmapSet(survivors_, v);
  }
  survivors_hash_ = internal::Hash32(survivors_);
  return ForLive(masked_, kRoundConsistency,
                 [&](uint32_t, v1::SecAggMessage& m) {
                   m.mutable_survivor_set()->set_bitmap(survivors_);
                 });
}

std::vector<Outgoing> SecAggCoordinator::CloseConsistency() {
  signed_ = answered_;
  revealed_.clear();
  revealed_.resize(setup_->size());
  return ForLive(signed_, kRoundUnmask, [&](uint32_t v, v1::SecAggMessage& m) {
    auto* req = m.mutable_unmask_request();
    // t - 1 neighbours' signatures (the node counts its own) are what a node
    // needs to check that t holders saw the same survivor set; more would
    // only cost it signature checks.
    for (uint32_t w : setup_->graph().Neighbours(v)) {
      if (!signed_[w]) continue;
      if (static_cast<uint32_t>(req->signatures_size()) + 1 >=
          setup_->threshold()) {
        break;
      }
      auto* cs = req->add_signatures();
      cs->set_sender(w);
      cs->set_signature(consistency_[w]);
    }
  });
}

absl::Status SecAggCoordinator::ReportAbort(uint32_t node,
                                            std::string_view reason) {
  if (node >= setup_->size()) {
    return absl::InvalidArgumentError(
        StrCat("node ", node, " is outside the roster"));
  }
  if (failed()) return absl::FailedPreconditionError(failure_);
  if (round_ > kRoundUnmask) return absl::OkStatus();  // already finished
  const bool in_sum = round_ == kRoundMaskedInput
                          ? static_cast<bool>(answered_[node])
                          : round_ > kRoundMaskedInput && masked_[node];
  if (in_sum) {
    return Fail(StrCat("node ", node, " (\"", setup_->node_id(node),
                       "\") aborted after its masked input was added to the "
                       "sum (",
                       reason,
                       "); whether its masks match the others' cannot be "
                       "checked"));
  }
  // Not in the sum: a dropout, which the protocol tolerates.
  expected_[node] = false;
  answered_[node] = false;
  return absl::OkStatus();
}

absl::Status SecAggCoordinator::CheckContributorsCompleted() const {
  for (uint32_t v = 0; v < setup_->size(); ++v) {
    if (!masked_[v] || answered_[v]) continue;  // round 4 checked in Receive
    bool neighbour_dropped = false;
    for (uint32_t w : setup_->graph().Neighbours(v)) {
      neighbour_dropped = neighbour_dropped || (shared_[w] && !masked_[w]);
    }
    if (signed_[v] && !neighbour_dropped) continue;
    return absl::FailedPreconditionError(StrCat(
        "node ", v, " (\"", setup_->node_id(v),
        "\") sent a masked input but did not complete the protocol (",
        signed_[v] ? "it revealed no shares, and a neighbour of it dropped "
                     "out after sharing keys"
                   : "it did not confirm the survivor set: it aborted or "
                     "dropped out",
        "), so whether its masks match the other inputs cannot be checked"));
  }
  return absl::OkStatus();
}

absl::Status SecAggCoordinator::UnmaskOwner(uint32_t w,
                                            const internal::UnmaskPlan& plan,
                                            std::span<uint64_t> acc) const {
  const size_t t = setup_->threshold();
  const std::string_view session = setup_->session();
  const RingModulus ring = setup_->ring();
  if (revealed_[w].size() < t || plan.interpolator_of[w] < 0) {
    return absl::FailedPreconditionError(
        StrCat("only ", revealed_[w].size(),
               " holders revealed their share of node ", w, "'s ",
               masked_[w] ? "self mask" : "mask key", "; ", t, " are needed"));
  }
  // Exactly t shares: any t reconstruct, and the secret is checked against
  // the commitment or the advertised public key below.
  auto secret = plan.interpolators[plan.interpolator_of[w]].Reconstruct(
      plan.shares_of[w]);
  if (!secret.ok()) {
    return absl::DataLossError(StrCat("cannot reconstruct a secret of node ", w,
                                      ": ", ToStd(secret.status().message())));
  }
  if (masked_[w]) {
    if (internal::SelfMaskCommitment(session, secret->view()) !=
        commitments_[w]) {
      return absl::DataLossError(
          StrCat("the reconstructed self mask of node ", w,
                 " does not match its commitment (a holder revealed a corrupt "
                 "share)"));
    }
    auto prg = internal::SelfMask(*secret, session);
    if (!prg.ok()) return prg.status();
    prg->SubtractFrom(ring, acc);
    return absl::OkStatus();
  }
  // w dropped after sharing keys: remove its pairwise masks from the inputs
  // of its surviving neighbours.
  auto keys = X25519KeyPair::FromSecret(*std::move(secret));
  if (!keys.ok() || keys->public_key() != adverts_[w].mask_public_key()) {
    return absl::DataLossError(
        StrCat("the reconstructed mask key of node ", w,
               " does not match the key it advertised (corrupt shares)"));
  }
  for (uint32_t v : setup_->graph().Neighbours(w)) {
    if (!masked_[v]) continue;
    auto prg = internal::PairwiseMask(*keys, setup_->node_id(w),
                                      adverts_[v].mask_public_key(),
                                      setup_->node_id(v), session);
    if (!prg.ok()) return prg.status();
    // v added PRG(s_vw) when w > v and subtracted it when w < v.
    if (w > v) {
      prg->SubtractFrom(ring, acc);
    } else {
      prg->AddTo(ring, acc);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Outgoing>> SecAggCoordinator::Finish() {
  if (absl::Status s = CheckContributorsCompleted(); !s.ok()) {
    return Fail(std::string(ToStd(s.message())));
  }
  const uint32_t n = setup_->size();
  auto plan = internal::PlanUnmask(setup_->graph(), revealed_,
                                   setup_->threshold(), threads_);
  if (!plan.ok()) return Fail(std::string(ToStd(plan.status().message())));
  // Owners are independent: each worker removes masks from its own partial
  // sum, and the partial sums are added at the end (addition mod 2^m is
  // exact and commutative, so the result does not depend on the split).
  // The run fails with the first failing owner in roster order, as a
  // sequential pass would.
  const RingModulus ring = setup_->ring();
  if (sum_.empty()) sum_.assign(setup_->dims(), 0);
  std::vector<std::vector<uint64_t>> partial(threads_);
  std::vector<absl::Status> outcome(n);
  internal::ParallelForWorkers(n, threads_, [&](size_t w, int worker) {
    if (!shared_[w]) return;
    if (partial[worker].empty()) partial[worker].assign(sum_.size(), 0);
    outcome[w] = UnmaskOwner(static_cast<uint32_t>(w), *plan, partial[worker]);
  });
  for (const absl::Status& s : outcome) {
    if (!s.ok()) return Fail(std::string(ToStd(s.message())));
  }
  for (const auto& p : partial) {
    for (size_t i = 0; i < p.size(); ++i) {
      sum_[i] = ring.Reduce(sum_[i] + p[i]);
    }
  }
  result_.sum = std::move(sum_);
  for (uint32_t v = 0; v < n; ++v) {
    if (masked_[v]) result_.contributors.push_back(v);
  }
  revealed_.clear();
  round_ = 5;
  return std::vector<Outgoing>{};
}

}  // namespace kring::crypto::secagg
