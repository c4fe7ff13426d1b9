#include "tests/fuzz/secagg_run.h"

#include <string>

#include "crypto/secret_bytes.h"
#include "util/str_cat.h"

namespace kring::fuzz {

using crypto::secagg::SecAggCoordinator;
using crypto::secagg::SecAggNode;
using crypto::secagg::SecAggSetup;

SecAggRun::SecAggRun() : reported_(kNodes, false) {
  v1::SecAggConfig config;
  config.set_query_id("q-fuzz");
  config.set_query_seed(std::string(32, '\x01'));
  for (uint32_t i = 0; i < kNodes; ++i) {
    identities_.push_back(*crypto::IdentityKeyPair::FromSeed(
        crypto::SecretBytes::Random(32, rng_)));
    auto* p = config.add_roster();
    p->set_node_id(StrCat("school-", i));
    p->set_identity_public_key(
        std::string(identities_.back().public_key().bytes()));
  }
  config.set_dims(kDims);
  config.set_modulus_bits(kModulusBits);
  config.set_complete_graph(true);
  config.set_threshold(3);
  config.add_element_bounds(100);
  setup_ = *SecAggSetup::Create(config);
  for (uint32_t i = 0; i < kNodes; ++i) {
    node_rng_.push_back(std::make_unique<crypto::DeterministicRandom>(700 + i));
    std::vector<uint64_t> x(kDims);
    for (uint32_t j = 0; j < kDims; ++j) x[j] = i + j;
    nodes_.push_back(*SecAggNode::Create(setup_, i, identities_[i], x,
                                         crypto::secagg::SecurityGoals(),
                                         *node_rng_.back()));
  }
  coordinator_.emplace(*SecAggCoordinator::Create(setup_));
}

void SecAggRun::ToCoordinator(uint32_t round, uint32_t node,
                              const v1::SecAggMessage& m) {
  if (m.body_case() == v1::SecAggMessage::BODY_NOT_SET) return;
  if (record_) record_->push_back({round, node, false, m});
  (void)coordinator_->Receive(m);
}

void SecAggRun::ToNode(uint32_t round, uint32_t node,
                       const v1::SecAggMessage& m) {
  if (m.body_case() == v1::SecAggMessage::BODY_NOT_SET) return;
  if (record_) record_->push_back({round, node, true, m});
  SecAggNode& n = nodes_[node];
  auto reply = n.Handle(m);
  if (reply.ok()) {
    if (reply->has_unmask_response()) {
      for (const auto& s : reply->unmask_response().shares()) {
        revealed_[{node, s.owner()}].insert(s.kind());
      }
    }
    replies_[node] = *std::move(reply);
    return;
  }
  if (n.state() == SecAggNode::State::kAborted && !reported_[node]) {
    reported_[node] = true;
    replies_[node].Clear();
    (void)coordinator_->ReportAbort(node, n.abort_reason());
  }
}

void SecAggRun::Run(const Tamper& tamper, const Inject& inject) {
  replies_.assign(kNodes, v1::SecAggMessage());
  for (uint32_t i = 0; i < kNodes; ++i) {
    auto m = nodes_[i].Start();
    if (m.ok()) replies_[i] = *std::move(m);
  }
  for (uint32_t round = 0; round <= 4; ++round) {
    // The replies of `round` reach the coordinator.
    for (uint32_t i = 0; i < kNodes; ++i) {
      if (inject) {
        for (const auto& extra : inject(round, i, false))
          ToCoordinator(round, i, extra);
      }
      if (tamper) tamper(round, i, false, replies_[i]);
      ToCoordinator(round, i, replies_[i]);
      replies_[i].Clear();
    }
    if (coordinator_->failed()) break;
    auto out = coordinator_->CloseRound();
    if (!out.ok() || round == 4) break;
    // The coordinator's messages of round + 1 reach the nodes.
    for (auto& o : *out) {
      if (o.to >= kNodes) continue;
      if (inject) {
        for (const auto& extra : inject(round + 1, o.to, true)) {
          ToNode(round + 1, o.to, extra);
        }
      }
      if (tamper) tamper(round + 1, o.to, true, o.message);
      ToNode(round + 1, o.to, o.message);
    }
  }
  CheckOutcome();
}

void SecAggRun::CheckOutcome() const {
  for (const auto& [key, kinds] : revealed_) {
    KRING_FUZZ_CHECK(!(kinds.count(v1::RevealedShare::SELF_MASK) &&
                       kinds.count(v1::RevealedShare::MASK_KEY)));
  }
  if (!coordinator_->finished()) return;
  const auto& result = coordinator_->result();
  const uint64_t mask = (uint64_t{1} << kModulusBits) - 1;
  std::vector<uint64_t> expected(kDims, 0);
  for (uint32_t i : result.contributors) {
    KRING_FUZZ_CHECK(i < kNodes);
    KRING_FUZZ_CHECK(!reported_[i]);  // an aborted node is no contributor
    for (uint32_t j = 0; j < kDims; ++j) {
      expected[j] = (expected[j] + i + j) & mask;
    }
  }
  KRING_FUZZ_CHECK(result.contributors.size() >= setup_->threshold());
  KRING_FUZZ_CHECK(result.sum == expected);
}

std::vector<SecAggRun::Sent> SecAggRun::Transcript() {
  std::vector<Sent> out;
  record_ = &out;
  Run(nullptr, nullptr);
  record_ = nullptr;
  return out;
}

}  // namespace kring::fuzz
