#ifndef KRING_CRYPTO_SECAGG_COORDINATOR_H_
#define KRING_CRYPTO_SECAGG_COORDINATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/secagg/setup.h"
#include "crypto/shamir.h"
#include "kring/v1/secagg.pb.h"

namespace kring::crypto::secagg {

// A message for one node.
struct Outgoing {
  uint32_t to = 0;
  v1::SecAggMessage message;
};

// The outcome of a successful run: the sum, mod 2^m, of the inputs of the
// nodes that sent a masked input (the contributors), and nothing else.
struct SecAggResult {
  std::vector<uint64_t> sum;
  std::vector<uint32_t> contributors;  // sorted roster indices
};

namespace internal {
struct UnmaskPlan;
}  // namespace internal

// The coordinator side of secure aggregation as a pure state machine. The
// driver feeds it node messages with Receive() and calls CloseRound() when
// every expected node has answered (AllReceived()) or the round's deadline
// has passed; CloseRound() returns the messages to send for the next round.
// After round 4 closes, result() holds the sum. If too few nodes remain at
// any round, or shares cannot be reconstructed, CloseRound() fails, the run
// is over and there is no partial result. A sum is only produced when every
// contributor is known to have masked with exactly the neighbours the
// coordinator relayed shares from; a contributor that aborted or whose
// masks cannot be checked fails the run (ReportAbort, Finish).
//
// The coordinator verifies the signature of every message it receives and
// relays encrypted shares it cannot open. Not thread-safe; it uses worker
// threads of its own inside ReceiveAll() and the final CloseRound(), with
// results identical to a single-threaded run.
class SecAggCoordinator {
 public:
  // `threads`: worker threads for signature checks and unmasking (0 = one
  // per core, 1 = the calling thread only).
  static absl::StatusOr<SecAggCoordinator> Create(
      std::shared_ptr<const SecAggSetup> setup, int threads = 0);

  // The number of worker threads it uses (resolved from Create's `threads`).
  int threads() const { return threads_; }

  // The round whose node messages are being collected (0..4), or 5 once
  // finished.
  uint32_t round() const { return round_; }
  bool finished() const { return round_ == 5 && failure_.empty(); }
  bool failed() const { return !failure_.empty(); }
  const std::string& failure() const { return failure_; }

  // Validates and records one node message for the current round. Rejects
  // (with an error, changing nothing) messages for another query or round,
  // from nodes not expected in this round, duplicates, bad signatures and
  // malformed contents.
  absl::Status Receive(const v1::SecAggMessage& message);

  // Receive() for each message in turn, with the signature checks of all of
  // them (the expensive, independent part) done first on the worker
  // threads. One status per message, the same as successive Receive() calls
  // would return; null pointers are not allowed.
  std::vector<absl::Status> ReceiveAll(
      std::span<const v1::SecAggMessage* const> messages);

  // Nodes that received a message for the current round and have not
  // answered yet.
  std::vector<uint32_t> Pending() const;
  bool AllReceived() const { return Pending().empty(); }

  absl::StatusOr<std::vector<Outgoing>> CloseRound();

  // Node `node` reports that it aborted, for `reason` (its own words). Before
  // its masked input is in the sum it is a dropout: not expected any more in
  // this round, so the round can close without waiting for it. Once its
  // masked input is in the sum the run fails: what it masked with can no
  // longer be checked, and neither of its secrets may be revealed in its
  // place. OK unless the run failed; INVALID_ARGUMENT for a node outside
  // the roster.
  absl::Status ReportAbort(uint32_t node, std::string_view reason);

  // Precondition: finished().
  const SecAggResult& result() const { return result_; }

 private:
  SecAggCoordinator(std::shared_ptr<const SecAggSetup> setup, int threads);

  // What the workers of ReceiveAll() work out for one message: the outcome
  // of every check that does not depend on earlier messages of the round,
  // and the contents to record.
  struct Prepared {
    absl::Status status;     // signature and contents
    bool fails_run = false;  // `status` is why the whole run fails
    std::optional<v1::ShareKeys> share_keys;  // round 1: a copy to keep
    std::vector<ShamirShare> shares;          // round 4: parsed shares
  };
  // The checks of a message of the current round (envelope already
  // checked) that read no state Receive() changes within a round, so they
  // may run concurrently for different messages.
  Prepared Prepare(const v1::SecAggMessage& message) const;
  // Receive(), with Prepare()'s result if it was done already.
  absl::Status ReceivePrepared(const v1::SecAggMessage& message,
                               Prepared* prepared);
  // The signature check (and, round 0, the advertised keys' validity).
  absl::Status VerifyMessage(const v1::SecAggMessage& message) const;
  absl::Status CheckShareKeys(const v1::ShareKeys& m) const;
  // Parses the revealed shares into out.shares; sets out.fails_run when the
  // sender left out a committee member's mask.
  absl::Status CheckUnmask(const v1::UnmaskResponse& m, Prepared& out) const;
  // Adds a masked input to the sum.
  absl::Status ReceiveMaskedInput(const v1::MaskedInput& m);
  absl::Status VerifyFrom(uint32_t sender, std::string_view context,
                          const std::string& bytes,
                          const std::string& signature) const;
  absl::Status CheckSender(uint32_t sender) const;
  // The envelope checks of Receive(): run, query and round.
  absl::Status CheckEnvelope(const v1::SecAggMessage& message) const;
  absl::Status Fail(std::string reason);
  // The messages of `next_round` for the nodes marked in `live`, in node
  // order, each filled by fill(node, message) on the worker threads.
  std::vector<Outgoing> ForLive(
      const std::vector<bool>& live, uint32_t next_round,
      const std::function<void(uint32_t, v1::SecAggMessage&)>& fill) const;
  // CloseRound() of rounds 0..3: record the round's live set, build the
  // next round's messages.
  std::vector<Outgoing> CloseAdvertise();
  std::vector<Outgoing> CloseShareKeys();
  std::vector<Outgoing> CloseMaskedInput();
  std::vector<Outgoing> CloseConsistency();
  absl::StatusOr<std::vector<Outgoing>> Finish();
  // Reconstructs owner w's revealed secret as planned and removes its self
  // mask or its pairwise masks from `acc` (a partial sum, added to the sum
  // afterwards). Thread-safe for different w and different `acc`.
  absl::Status UnmaskOwner(uint32_t w, const internal::UnmaskPlan& plan,
                           std::span<uint64_t> acc) const;
  // OK if every contributor's masks are known to match the survivor set:
  // it revealed shares of exactly its committee members that shared keys
  // (round 4), or it confirmed the survivor set (round 3) and no neighbour
  // of it dropped out after sharing keys.
  absl::Status CheckContributorsCompleted() const;
  v1::SecAggMessage Envelope(uint32_t round) const;

  std::shared_ptr<const SecAggSetup> setup_;
  int threads_ = 1;
  uint32_t round_ = 0;
  std::string failure_;
  // expected_[i]: node i was sent a message for the current round (round 0:
  // everyone). answered_[i]: it answered.
  std::vector<bool> expected_;
  std::vector<bool> answered_;
  // Per round's live sets: U1 (advertised), U2 (shared keys), U3 (masked
  // input), U4 (signed survivors).
  std::vector<bool> advertised_, shared_, masked_, signed_;

  std::vector<v1::AdvertiseKeys> adverts_;
  std::vector<v1::ShareKeys> share_keys_;
  std::vector<std::string> commitments_;  // BLAKE2b commitments to each b
  std::vector<uint64_t> sum_;
  std::string survivors_;
  std::string survivors_hash_;
  std::vector<std::string> consistency_;
  // Unmask: for each owner, the shares revealed by its holders.
  std::vector<std::vector<ShamirShare>> revealed_;
  SecAggResult result_;
};

}  // namespace kring::crypto::secagg

#endif  // KRING_CRYPTO_SECAGG_COORDINATOR_H_
