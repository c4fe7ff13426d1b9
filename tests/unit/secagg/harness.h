#ifndef KRING_TESTS_UNIT_SECAGG_HARNESS_H_
#define KRING_TESTS_UNIT_SECAGG_HARNESS_H_

// A step-by-step driver for adversarial tests: the test sees and may alter
// every message between the rounds.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/identity.h"
#include "crypto/random.h"
#include "crypto/secagg/coordinator.h"
#include "crypto/secagg/node.h"
#include "crypto/secagg/setup.h"
#include "util/str_cat.h"

namespace kring::crypto::secagg::testing {

struct Harness {
  // n nodes on the complete graph with threshold t; inputs x_i[j] = i + j.
  Harness(uint32_t n, uint32_t t, std::string query = "q-test",
          uint32_t dims = 8, uint64_t seed = 7)
      : rng(seed) {
    v1::SecAggConfig config;
    config.set_query_id(query);
    config.set_query_seed(std::string(32, '\x01'));
    for (uint32_t i = 0; i < n; ++i) {
      identities.push_back(
          *IdentityKeyPair::FromSeed(SecretBytes::Random(32, rng)));
      auto* p = config.add_roster();
      p->set_node_id(StrCat("school-", i));
      p->set_identity_public_key(
          std::string(identities.back().public_key().bytes()));
    }
    config.set_dims(dims);
    config.set_modulus_bits(16);
    config.set_complete_graph(true);
    config.set_threshold(t);
    config.add_element_bounds(100);
    setup = *SecAggSetup::Create(config);
    for (uint32_t i = 0; i < n; ++i) {
      node_rng.push_back(std::make_unique<DeterministicRandom>(seed * 100 + i));
      std::vector<uint64_t> x(dims);
      for (uint32_t j = 0; j < dims; ++j) x[j] = i + j;
      nodes.push_back(*SecAggNode::Create(setup, i, identities[i], x,
                                          SecurityGoals(), *node_rng.back()));
    }
    coordinator.emplace(*SecAggCoordinator::Create(setup));
  }

  // Round 0: every node advertises; returns the coordinator's next messages.
  std::vector<Outgoing> Start() {
    for (auto& node : nodes) {
      auto m = node.Start();
      last_replies[node.index()] = *m;
      (void)coordinator->Receive(*m);
    }
    return *coordinator->CloseRound();
  }

  // Delivers `out` (after `tamper`), feeds the replies to the coordinator
  // and closes the round. Node errors are kept in `errors`.
  absl::StatusOr<std::vector<Outgoing>> Step(
      std::vector<Outgoing> out,
      std::function<void(uint32_t, v1::SecAggMessage&)> tamper = nullptr) {
    for (auto& o : out) {
      if (tamper) tamper(o.to, o.message);
      delivered[o.to] = o.message;
      auto reply = nodes[o.to].Handle(o.message);
      if (!reply.ok()) {
        errors[o.to] = std::string(ToStd(reply.status().message()));
        continue;
      }
      last_replies[o.to] = *reply;
      (void)coordinator->Receive(*reply);
    }
    return coordinator->CloseRound();
  }

  DeterministicRandom rng;
  std::vector<IdentityKeyPair> identities;
  std::vector<std::unique_ptr<DeterministicRandom>> node_rng;
  std::shared_ptr<const SecAggSetup> setup;
  std::vector<SecAggNode> nodes;
  std::optional<SecAggCoordinator> coordinator;
  std::map<uint32_t, v1::SecAggMessage> delivered;
  std::map<uint32_t, v1::SecAggMessage> last_replies;
  std::map<uint32_t, std::string> errors;
};

}  // namespace kring::crypto::secagg::testing

#endif  // KRING_TESTS_UNIT_SECAGG_HARNESS_H_
