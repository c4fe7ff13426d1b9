#include "crypto/secagg/node.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "absl/status/status.h"
#include "crypto/secagg/bit_pack.h"
#include "crypto/secagg/internal/masks.h"
#include "crypto/secagg/internal/transcript.h"
#include "crypto/shamir.h"
#include "util/str_cat.h"

namespace kring::crypto::secagg {
namespace {

using internal::kRoundAdvertise;
using internal::kRoundConsistency;
using internal::kRoundMaskedInput;
using internal::kRoundShareKeys;
using internal::kRoundUnmask;

constexpr size_t kShareValue = ShamirShare::kValueBytes;  // 64

const char* StateName(SecAggNode::State s) {
  switch (s) {
    case SecAggNode::State::kNew:
      return "new";
    case SecAggNode::State::kAdvertised:
      return "advertised keys";
    case SecAggNode::State::kSharedKeys:
      return "shared keys";
    case SecAggNode::State::kSentInput:
      return "sent masked input";
    case SecAggNode::State::kSignedSurvivors:
      return "signed survivor set";
    case SecAggNode::State::kDone:
      return "revealed shares (done)";
    case SecAggNode::State::kAborted:
      return "aborted";
  }
  return "unknown";
}

}  // namespace

absl::StatusOr<SecAggNode> SecAggNode::Create(
    std::shared_ptr<const SecAggSetup> setup, uint32_t self,
    const IdentityKeyPair& identity, std::vector<uint64_t> input,
    const SecurityGoals& goals, RandomSource& random) {
  if (setup == nullptr) {
    return absl::InvalidArgumentError("secagg node: setup is null");
  }
  if (self >= setup->size()) {
    return absl::InvalidArgumentError(StrCat("secagg node: index ", self,
                                             " is outside the roster of ",
                                             setup->size()));
  }
  auto roster_key = setup->IdentityKey(self);
  if (!roster_key.ok()) return roster_key.status();
  if (!(*roster_key == identity.public_key())) {
    return absl::InvalidArgumentError(
        StrCat("secagg node: this node's identity key (fingerprint ",
               identity.public_key().Fingerprint(),
               ") is not the key the roster lists for \"", setup->node_id(self),
               "\""));
  }
  if (input.size() != setup->dims()) {
    return absl::InvalidArgumentError(
        StrCat("secagg node: input has ", input.size(),
               " elements, the query expects ", setup->dims()));
  }
  const v1::SecAggConfig& config = setup->config();
  if (auto s = CheckPrivacyOfParameters(
          setup->size(),
          GraphParameters{.complete = config.complete_graph(),
                          .degree = setup->graph().degree(),
                          .threshold = config.threshold()},
          goals);
      !s.ok()) {
    sodium_memzero(input.data(), input.size() * sizeof(uint64_t));
    return absl::PermissionDeniedError(
        StrCat("secagg node: refusing to join query \"", setup->query_id(),
               "\": ", ToStd(s.message())));
  }
  for (size_t i = 0; i < input.size(); ++i) {
    if (input[i] > setup->bound(i)) {
      sodium_memzero(input.data(), input.size() * sizeof(uint64_t));
      return absl::InvalidArgumentError(
          StrCat("secagg node: input element ", i,
                 " exceeds the query's bound for it (", setup->bound(i), ")"));
    }
    if (input[i] > setup->ring().mask()) {
      return absl::InvalidArgumentError(
          StrCat("secagg node: input element ", i, " does not fit the query's ",
                 setup->ring().bits(), "-bit modulus"));
    }
  }
  return SecAggNode(std::move(setup), self, identity, std::move(input), random);
}

SecAggNode::SecAggNode(std::shared_ptr<const SecAggSetup> setup, uint32_t self,
                       const IdentityKeyPair& identity,
                       std::vector<uint64_t> input, RandomSource& random)
    : setup_(std::move(setup)),
      self_(self),
      identity_(&identity),
      random_(&random),
      input_(std::move(input)) {
  for (uint32_t i : setup_->Committee(self_)) {
    Peer p;
    p.index = i;
    committee_.push_back(std::move(p));
  }
}

SecAggNode::Peer* SecAggNode::FindPeer(uint32_t index) {
  auto it =
      std::lower_bound(committee_.begin(), committee_.end(), index,
                       [](const Peer& p, uint32_t i) { return p.index < i; });
  if (it == committee_.end() || it->index != index) return nullptr;
  return &*it;
}

v1::SecAggMessage SecAggNode::Envelope(uint32_t round) const {
  v1::SecAggMessage m;
  m.set_query_id(std::string(setup_->query_id()));
  m.set_round(round);
  return m;
}

absl::Status SecAggNode::Abort(absl::Status why) {
  state_ = State::kAborted;
  abort_reason_ = std::string(ToStd(why.message()));
  Wipe();
  return absl::AbortedError(StrCat("secagg node \"", setup_->node_id(self_),
                                   "\" aborted query \"", setup_->query_id(),
                                   "\": ", abort_reason_));
}

void SecAggNode::Wipe() {
  cipher_keys_.reset();
  mask_keys_.reset();
  self_mask_seed_ = SecretBytes();
  committee_.clear();
  if (!input_.empty()) sodium_memzero(input_.data(), input_.size() * 8);
  input_.clear();
}

void SecAggNode::OnDeadline() {
  if (state_ == State::kDone || state_ == State::kAborted) return;
  (void)Abort(absl::DeadlineExceededError(StrCat(
      "the coordinator did not continue in time (state: ", StateName(state_),
      ")")));
}

absl::StatusOr<v1::SecAggMessage> SecAggNode::Start() {
  if (state_ != State::kNew) {
    return absl::FailedPreconditionError(
        StrCat("secagg node: Start() called in state ", StateName(state_)));
  }
  cipher_keys_ = X25519KeyPair::Generate(*random_);
  mask_keys_ = X25519KeyPair::Generate(*random_);
  v1::SecAggMessage out = Envelope(kRoundAdvertise);
  v1::AdvertiseKeys* adv = out.mutable_advertise_keys();
  adv->set_sender(self_);
  adv->set_cipher_public_key(std::string(cipher_keys_->public_key()));
  adv->set_mask_public_key(std::string(mask_keys_->public_key()));
  cipher_public_key_ = adv->cipher_public_key();
  mask_public_key_ = adv->mask_public_key();
  auto sig = identity_->Sign(internal::kAdvertiseContext,
                             internal::AdvertiseBytes(setup_->session(), *adv));
  if (!sig.ok()) return Abort(sig.status());
  adv->set_signature(*sig);
  state_ = State::kAdvertised;
  return out;
}

absl::StatusOr<v1::SecAggMessage> SecAggNode::Handle(
    const v1::SecAggMessage& message) {
  if (state_ == State::kAborted) {
    return absl::FailedPreconditionError(
        StrCat("secagg node already aborted: ", abort_reason_));
  }
  if (message.query_id() != setup_->query_id()) {
    return absl::InvalidArgumentError(StrCat(
        "secagg node: rejected a message for query \"", message.query_id(),
        "\"; this node runs query \"", setup_->query_id(), "\""));
  }
  // The one message each state accepts.
  struct Expect {
    State state;
    uint32_t round;
    v1::SecAggMessage::BodyCase body;
  };
  static constexpr Expect kExpect[] = {
      {State::kAdvertised, kRoundShareKeys, v1::SecAggMessage::kNeighbourKeys},
      {State::kSharedKeys, kRoundMaskedInput,
       v1::SecAggMessage::kIncomingShares},
      {State::kSentInput, kRoundConsistency, v1::SecAggMessage::kSurvivorSet},
      {State::kSignedSurvivors, kRoundUnmask,
       v1::SecAggMessage::kUnmaskRequest},
  };
  if (state_ == State::kDone &&
      (message.body_case() == v1::SecAggMessage::kUnmaskRequest ||
       message.body_case() == v1::SecAggMessage::kSurvivorSet)) {
    // Answering again could hand out the other kind of share for a peer.
    return Abort(absl::PermissionDeniedError(
        "asked to unmask a second time after shares were revealed; refusing, "
        "since a second answer could reveal both the self-mask share and "
        "the mask-key share of the same peer"));
  }
  if (state_ == State::kSignedSurvivors &&
      message.body_case() == v1::SecAggMessage::kSurvivorSet) {
    if (message.survivor_set().bitmap() == survivors_) {
      return absl::AlreadyExistsError(
          "secagg node: survivor set already signed (duplicate message)");
    }
    return Abort(absl::PermissionDeniedError(
        "the coordinator sent a second, different survivor set"));
  }
  for (const Expect& e : kExpect) {
    if (e.state != state_) continue;
    if (message.round() != e.round || message.body_case() != e.body) {
      return absl::InvalidArgumentError(
          StrCat("secagg node: rejected a round-", message.round(),
                 " message; in state \"", StateName(state_), "\" only round ",
                 e.round, " is accepted (replayed or reordered message?)"));
    }
    switch (e.body) {
      case v1::SecAggMessage::kNeighbourKeys:
        return OnNeighbourKeys(message.neighbour_keys());
      case v1::SecAggMessage::kIncomingShares:
        return OnIncomingShares(message.incoming_shares());
      case v1::SecAggMessage::kSurvivorSet:
        return OnSurvivorSet(message.survivor_set());
      default:
        return OnUnmaskRequest(message.unmask_request());
    }
  }
  return absl::FailedPreconditionError(
      StrCat("secagg node: no message is expected in state \"",
             StateName(state_), "\""));
}

absl::StatusOr<v1::SecAggMessage> SecAggNode::OnNeighbourKeys(
    const v1::NeighbourKeys& m) {
  const std::string_view session = setup_->session();
  for (const auto& adv : m.keys()) {
    Peer* peer = FindPeer(adv.sender());
    if (peer == nullptr || adv.sender() == self_) {
      return Abort(absl::PermissionDeniedError(
          StrCat("received keys of node ", adv.sender(),
                 ", which is not a neighbour of this node")));
    }
    if (peer->advertised) {
      return Abort(absl::PermissionDeniedError(
          StrCat("received keys of node ", adv.sender(), " twice")));
    }
    auto key = setup_->IdentityKey(adv.sender());
    if (!key.ok()) return Abort(key.status());
    if (auto s = key->Verify(internal::kAdvertiseContext,
                             internal::AdvertiseBytes(session, adv),
                             adv.signature());
        !s.ok()) {
      return Abort(absl::PermissionDeniedError(StrCat(
          "the keys of node ", adv.sender(), " (\"",
          setup_->node_id(adv.sender()),
          "\") are not signed by its identity key: forged or tampered")));
    }
    // A neighbour whose signed keys are unusable (wrong size, small order)
    // is treated as absent, so one bad node cannot make its honest
    // neighbours abort.
    auto channel_key = internal::ShareChannelKey(
        *cipher_keys_, setup_->node_id(self_), adv.cipher_public_key(),
        setup_->node_id(adv.sender()), session);
    auto pairwise = internal::PairwiseMask(
        *mask_keys_, setup_->node_id(self_), adv.mask_public_key(),
        setup_->node_id(adv.sender()), session);
    if (!channel_key.ok() || !pairwise.ok()) continue;
    auto channel = Aead::Create(*std::move(channel_key));
    if (!channel.ok()) return Abort(channel.status());
    peer->advertised = true;
    peer->cipher_public_key = adv.cipher_public_key();
    peer->mask_public_key = adv.mask_public_key();
    peer->channel = *std::move(channel);
    peer->pairwise = *std::move(pairwise);
  }
  Peer* me = FindPeer(self_);
  me->advertised = true;

  std::vector<uint32_t> holders;
  for (const Peer& p : committee_) {
    if (p.advertised) holders.push_back(p.index + 1);
  }
  if (holders.size() < setup_->threshold()) {
    return Abort(absl::FailedPreconditionError(
        StrCat("only ", holders.size(), " of this node's ", committee_.size(),
               " share holders are online; at least ", setup_->threshold(),
               " are needed")));
  }

  self_mask_seed_ = SecretBytes::Random(MaskPrg::kSeedBytes, *random_);
  const int t = static_cast<int>(setup_->threshold());
  auto b_shares = ShamirSplit(self_mask_seed_, t, holders, *random_);
  if (!b_shares.ok()) return Abort(b_shares.status());
  auto s_shares = ShamirSplit(mask_keys_->secret_key(), t, holders, *random_);
  if (!s_shares.ok()) return Abort(s_shares.status());

  v1::SecAggMessage out = Envelope(kRoundShareKeys);
  v1::ShareKeys* sk = out.mutable_share_keys();
  sk->set_sender(self_);
  SecretBytes plain(2 * kShareValue);
  size_t next = 0;
  for (Peer& p : committee_) {
    if (!p.advertised) continue;
    const ShamirShare& b = (*b_shares)[next];
    const ShamirShare& s = (*s_shares)[next];
    ++next;
    if (p.index == self_) {
      p.self_mask_share = b.y.Clone();
      p.mask_key_share = s.y.Clone();
      p.has_shares = true;
      continue;
    }
    std::memcpy(plain.data(), b.y.data(), kShareValue);
    std::memcpy(plain.data() + kShareValue, s.y.data(), kShareValue);
    auto sealed = p.channel->Seal(
        plain.view(), internal::ShareAssociatedData(session, self_, p.index));
    if (!sealed.ok()) return Abort(sealed.status());
    v1::EncryptedShare* es = sk->add_shares();
    es->set_sender(self_);
    es->set_recipient(p.index);
    es->set_ciphertext(*std::move(sealed));
  }
  sk->set_self_mask_commitment(
      internal::SelfMaskCommitment(session, self_mask_seed_.view()));
  auto sig = identity_->Sign(internal::kShareKeysContext,
                             internal::ShareKeysBytes(session, *sk));
  if (!sig.ok()) return Abort(sig.status());
  sk->set_signature(*sig);
  state_ = State::kSharedKeys;
  return out;
}

absl::StatusOr<v1::SecAggMessage> SecAggNode::OnIncomingShares(
    const v1::IncomingShares& m) {
  const std::string_view session = setup_->session();
  for (const auto& es : m.shares()) {
    Peer* peer = FindPeer(es.sender());
    if (es.recipient() != self_ || peer == nullptr || es.sender() == self_) {
      return Abort(absl::PermissionDeniedError(
          StrCat("received a share from node ", es.sender(), " to node ",
                 es.recipient(), ", which is not for this node")));
    }
    // From a neighbour whose keys were unusable: it is not a holder.
    if (!peer->channel.has_value()) continue;
    if (peer->has_shares) {
      return Abort(absl::PermissionDeniedError(
          StrCat("received shares from node ", es.sender(), " twice")));
    }
    auto plain = peer->channel->Open(
        es.ciphertext(),
        internal::ShareAssociatedData(session, es.sender(), self_));
    if (!plain.ok() || plain->size() != 2 * kShareValue) {
      return Abort(absl::PermissionDeniedError(StrCat(
          "the encrypted share from node ", es.sender(),
          " failed authentication: tampered, replayed from another query or "
          "round, or not meant for this node")));
    }
    const uint32_t x = self_ + 1;
    auto b = ShamirShare::FromParts(x, plain->span().first(kShareValue));
    auto s = ShamirShare::FromParts(x, plain->span().subspan(kShareValue));
    if (!b.ok() || !s.ok()) {
      return Abort(absl::PermissionDeniedError(
          StrCat("node ", es.sender(), " sent malformed shares")));
    }
    peer->self_mask_share = std::move(b->y);
    peer->mask_key_share = std::move(s->y);
    peer->has_shares = true;
  }
  size_t live = 0;
  for (const Peer& p : committee_) live += p.has_shares ? 1 : 0;
  if (live < setup_->threshold()) {
    return Abort(absl::FailedPreconditionError(
        StrCat("only ", live,
               " of this node's share holders completed key sharing; "
               "at least ",
               setup_->threshold(), " are needed")));
  }

  // y = x + PRG(b) + sum_{v > u} PRG(s_uv) - sum_{v < u} PRG(s_uv).
  const RingModulus ring = setup_->ring();
  std::vector<uint64_t> y = std::move(input_);
  input_.clear();
  auto self_mask = internal::SelfMask(self_mask_seed_, session);
  if (!self_mask.ok()) {
    sodium_memzero(y.data(), y.size() * sizeof(uint64_t));
    return Abort(self_mask.status());
  }
  self_mask->AddTo(ring, y);
  for (const Peer& p : committee_) {
    if (p.index == self_ || !p.has_shares) continue;
    if (p.index > self_) {
      p.pairwise->AddTo(ring, y);
    } else {
      p.pairwise->SubtractFrom(ring, y);
    }
  }
  v1::SecAggMessage out = Envelope(kRoundMaskedInput);
  v1::MaskedInput* mi = out.mutable_masked_input();
  mi->set_sender(self_);
  mi->set_packed(PackBits(y, ring.bits()));
  auto sig = identity_->Sign(internal::kMaskedInputContext,
                             internal::MaskedInputBytes(session, *mi));
  if (!sig.ok()) return Abort(sig.status());
  mi->set_signature(*sig);
  // The masks are no longer needed; the shares we hold are.
  self_mask_seed_ = SecretBytes();
  mask_keys_.reset();
  cipher_keys_.reset();
  state_ = State::kSentInput;
  return out;
}

absl::StatusOr<v1::SecAggMessage> SecAggNode::OnSurvivorSet(
    const v1::SurvivorSet& m) {
  const std::string& bitmap = m.bitmap();
  if (auto s = internal::ValidateBitmap(bitmap, setup_->size()); !s.ok()) {
    return Abort(s);
  }
  if (!internal::BitmapHas(bitmap, self_)) {
    return Abort(absl::PermissionDeniedError(
        "the survivor set leaves out this node, which did send its masked "
        "input"));
  }
  size_t live = 0;
  for (const Peer& p : committee_) {
    bool listed = internal::BitmapHas(bitmap, p.index);
    if (listed && !p.has_shares) {
      return Abort(absl::PermissionDeniedError(StrCat(
          "the survivor set lists neighbour ", p.index,
          ", whose shares never reached this node: inconsistent survivor "
          "set")));
    }
    live += listed ? 1 : 0;
  }
  if (live < setup_->threshold()) {
    return Abort(absl::FailedPreconditionError(StrCat(
        "only ", live, " of this node's share holders survived; at least ",
        setup_->threshold(), " are needed")));
  }
  survivors_ = bitmap;
  survivors_hash_ = internal::Hash32(bitmap);
  v1::SecAggMessage out = Envelope(kRoundConsistency);
  v1::ConsistencySignature* cs = out.mutable_consistency_signature();
  cs->set_sender(self_);
  auto sig = identity_->Sign(
      internal::kConsistencyContext,
      internal::ConsistencyBytes(
          setup_->session(), self_, survivors_hash_,
          internal::KeysHash(cipher_public_key_, mask_public_key_)));
  if (!sig.ok()) return Abort(sig.status());
  cs->set_signature(*sig);
  state_ = State::kSignedSurvivors;
  return out;
}

absl::StatusOr<v1::SecAggMessage> SecAggNode::OnUnmaskRequest(
    const v1::UnmaskRequest& m) {
  const std::string_view session = setup_->session();
  std::unordered_set<uint32_t> signers = {self_};
  for (const auto& cs : m.signatures()) {
    Peer* peer = FindPeer(cs.sender());
    if (peer == nullptr || !internal::BitmapHas(survivors_, cs.sender())) {
      return Abort(absl::PermissionDeniedError(
          StrCat("received a consistency signature from node ", cs.sender(),
                 ", which is not a surviving neighbour")));
    }
    if (!signers.insert(cs.sender()).second) {
      return Abort(absl::PermissionDeniedError(StrCat(
          "received two consistency signatures from node ", cs.sender())));
    }
    auto key = setup_->IdentityKey(cs.sender());
    if (!key.ok()) return Abort(key.status());
    if (!key->Verify(internal::kConsistencyContext,
                     internal::ConsistencyBytes(
                         session, cs.sender(), survivors_hash_,
                         internal::KeysHash(peer->cipher_public_key,
                                            peer->mask_public_key)),
                     cs.signature())
             .ok()) {
      return Abort(absl::PermissionDeniedError(StrCat(
          "neighbour ", cs.sender(),
          " signed a different survivor set than this node was shown: the "
          "coordinator is equivocating about who dropped out")));
    }
  }
  if (signers.size() < setup_->threshold()) {
    return Abort(absl::FailedPreconditionError(
        StrCat("only ", signers.size(),
               " share holders confirmed the survivor set; at least ",
               setup_->threshold(), " are needed")));
  }
  v1::SecAggMessage out = Envelope(kRoundUnmask);
  v1::UnmaskResponse* ur = out.mutable_unmask_response();
  ur->set_sender(self_);
  for (const Peer& p : committee_) {
    if (!p.has_shares) continue;
    v1::RevealedShare* rs = ur->add_shares();
    rs->set_owner(p.index);
    // Exactly one kind per peer: the self-mask share of survivors, the
    // mask-key share of those who dropped after sharing keys.
    if (internal::BitmapHas(survivors_, p.index)) {
      rs->set_kind(v1::RevealedShare::SELF_MASK);
      rs->set_share(std::string(p.self_mask_share.view()));
    } else {
      rs->set_kind(v1::RevealedShare::MASK_KEY);
      rs->set_share(std::string(p.mask_key_share.view()));
    }
  }
  auto sig = identity_->Sign(internal::kUnmaskContext,
                             internal::UnmaskBytes(session, *ur));
  if (!sig.ok()) return Abort(sig.status());
  ur->set_signature(*sig);
  Wipe();
  state_ = State::kDone;
  return out;
}

}  // namespace kring::crypto::secagg
