#ifndef KRING_TESTS_FUZZ_SECAGG_RUN_H_
#define KRING_TESTS_FUZZ_SECAGG_RUN_H_

// One secure-aggregation run through the real state machines
// (crypto/secagg/node.h, coordinator.h), for the fuzz harnesses: four
// nodes on the complete graph, threshold 3, eight elements, inputs
// x_i[j] = i + j, fixed keys. The harness sees every message between the
// rounds and may alter it, drop it or add its own.
//
// A node that aborts reports it to the coordinator (ReportAbort), as
// kring-node's session does. CheckOutcome() asserts the two properties
// tampering must never break: a released sum is exactly the sum of the
// listed contributors' inputs, and no node reveals both secrets of one
// owner (the self-mask share and the mask-key share).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "crypto/identity.h"
#include "crypto/random.h"
#include "crypto/secagg/coordinator.h"
#include "crypto/secagg/node.h"
#include "crypto/secagg/setup.h"
#include "tests/fuzz/check.h"

namespace kring::fuzz {

class SecAggRun {
 public:
  static constexpr uint32_t kNodes = 4;
  static constexpr uint32_t kDims = 8;
  static constexpr uint32_t kModulusBits = 16;

  // Alters (or clears, to drop) one message; `to_node`: coordinator ->
  // node (rounds 1-4), else node -> coordinator (rounds 0-4).
  using Tamper = std::function<void(uint32_t round, uint32_t node, bool to_node,
                                    v1::SecAggMessage& m)>;
  // Extra messages to deliver before the honest one of `round` to / from
  // `node`.
  using Inject = std::function<std::vector<v1::SecAggMessage>(
      uint32_t round, uint32_t node, bool to_node)>;

  SecAggRun();

  // Runs rounds 0-4 (stopping early when the coordinator fails). Every
  // message passes `tamper` first; a message left empty (no body) is
  // dropped. Then CheckOutcome().
  void Run(const Tamper& tamper, const Inject& inject);

  struct Sent {
    uint32_t round = 0;
    uint32_t node = 0;
    bool to_node = false;
    v1::SecAggMessage message;
  };
  // Whether the coordinator released a sum.
  bool finished() const { return coordinator_->finished(); }

  // Every message the honest run sends, in order (for the seed corpus).
  std::vector<Sent> Transcript();

 private:
  void ToNode(uint32_t round, uint32_t node, const v1::SecAggMessage& m);
  void ToCoordinator(uint32_t round, uint32_t node, const v1::SecAggMessage& m);
  void CheckOutcome() const;

  crypto::DeterministicRandom rng_{7};
  std::vector<crypto::IdentityKeyPair> identities_;
  std::vector<std::unique_ptr<crypto::DeterministicRandom>> node_rng_;
  std::shared_ptr<const crypto::secagg::SecAggSetup> setup_;
  std::vector<crypto::secagg::SecAggNode> nodes_;
  std::optional<crypto::secagg::SecAggCoordinator> coordinator_;
  std::vector<bool> reported_;
  // Replies of the current round, delivered when it closes.
  std::vector<v1::SecAggMessage> replies_;
  // (holder, owner) -> kinds of shares revealed.
  std::map<std::pair<uint32_t, uint32_t>, std::set<int>> revealed_;
  std::vector<Sent>* record_ = nullptr;
};

}  // namespace kring::fuzz

#endif  // KRING_TESTS_FUZZ_SECAGG_RUN_H_
