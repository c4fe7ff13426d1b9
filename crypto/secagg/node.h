#ifndef KRING_CRYPTO_SECAGG_NODE_H_
#define KRING_CRYPTO_SECAGG_NODE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/aead.h"
#include "crypto/identity.h"
#include "crypto/key_agreement.h"
#include "crypto/random.h"
#include "crypto/secagg/parameters.h"
#include "crypto/secagg/setup.h"
#include "crypto/secret_bytes.h"
#include "kring/v1/secagg.pb.h"

namespace kring::crypto::secagg {

// The node side of secure aggregation as a pure state machine: it takes the
// coordinator's messages and returns the message to send back. No sockets,
// threads or clocks.
//
//   Start()                     -> AdvertiseKeys           (round 0)
//   Handle(NeighbourKeys)       -> ShareKeys               (round 1)
//   Handle(IncomingShares)      -> MaskedInput             (round 2)
//   Handle(SurvivorSet)         -> ConsistencySignature    (round 3)
//   Handle(UnmaskRequest)       -> UnmaskResponse          (round 4)
//
// Messages for another query or another round are rejected with an error
// and change nothing. A well-formed message that breaks the protocol — a
// forged or tampered neighbour message, fewer than t live holders, an
// inconsistent survivor set, a second unmask after shares were revealed —
// aborts the node for good: every later call fails with the reason, and no
// secret is revealed. Not thread-safe; one instance per node per query.
class SecAggNode {
 public:
  enum class State {
    kNew,
    kAdvertised,
    kSharedKeys,
    kSentInput,
    kSignedSurvivors,
    kDone,
    kAborted,
  };

  // `identity` and `random` are borrowed and must outlive the node. `input`
  // has setup->dims() elements, each within the config's element bounds.
  // Refuses (PERMISSION_DENIED) a run whose threshold and graph do not meet
  // this node's `goals` (CheckPrivacyOfParameters): the node does not trust
  // whoever chose them.
  static absl::StatusOr<SecAggNode> Create(
      std::shared_ptr<const SecAggSetup> setup, uint32_t self,
      const IdentityKeyPair& identity, std::vector<uint64_t> input,
      const SecurityGoals& goals = SecurityGoals(),
      RandomSource& random = SystemRandom());

  SecAggNode(SecAggNode&&) = default;
  SecAggNode& operator=(SecAggNode&&) = default;

  absl::StatusOr<v1::SecAggMessage> Start();
  absl::StatusOr<v1::SecAggMessage> Handle(const v1::SecAggMessage& message);
  // The coordinator did not continue in time: abort and forget secrets.
  void OnDeadline();

  State state() const { return state_; }
  uint32_t index() const { return self_; }
  // Why the node aborted (empty unless state() == kAborted).
  const std::string& abort_reason() const { return abort_reason_; }

 private:
  // What this node knows of one member of its committee (itself included).
  struct Peer {
    uint32_t index = 0;
    bool advertised = false;  // keys received in round 1
    bool has_shares = false;  // its shares to us decrypted in round 2
    std::string cipher_public_key;
    std::string mask_public_key;
    std::optional<Aead> channel;      // pairwise share-encryption key
    std::optional<MaskPrg> pairwise;  // PRG(s_uv)
    SecretBytes self_mask_share;      // its b, our share (64 bytes)
    SecretBytes mask_key_share;       // its mask secret key, our share
  };

  SecAggNode(std::shared_ptr<const SecAggSetup> setup, uint32_t self,
             const IdentityKeyPair& identity, std::vector<uint64_t> input,
             RandomSource& random);

  absl::StatusOr<v1::SecAggMessage> OnNeighbourKeys(const v1::NeighbourKeys& m);
  absl::StatusOr<v1::SecAggMessage> OnIncomingShares(
      const v1::IncomingShares& m);
  absl::StatusOr<v1::SecAggMessage> OnSurvivorSet(const v1::SurvivorSet& m);
  absl::StatusOr<v1::SecAggMessage> OnUnmaskRequest(const v1::UnmaskRequest& m);

  Peer* FindPeer(uint32_t index);
  v1::SecAggMessage Envelope(uint32_t round) const;
  absl::Status Abort(absl::Status why);
  void Wipe();

  std::shared_ptr<const SecAggSetup> setup_;
  uint32_t self_;
  const IdentityKeyPair* identity_;
  RandomSource* random_;
  std::vector<uint64_t> input_;
  State state_ = State::kNew;
  std::string abort_reason_;

  std::optional<X25519KeyPair> cipher_keys_;
  std::optional<X25519KeyPair> mask_keys_;
  SecretBytes self_mask_seed_;     // b
  std::vector<Peer> committee_;    // sorted by index, includes self
  std::string cipher_public_key_;  // as advertised
  std::string mask_public_key_;
  std::string survivors_;  // round 3 bitmap
  std::string survivors_hash_;
};

}  // namespace kring::crypto::secagg

#endif  // KRING_CRYPTO_SECAGG_NODE_H_
