#include "crypto/secagg/simulator.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <thread>

#include "crypto/identity.h"
#include "crypto/random.h"
#include "crypto/secagg/coordinator.h"
#include "crypto/secagg/node.h"
#include "crypto/secagg/setup.h"
#include "util/str_cat.h"

namespace kring::crypto::secagg {
namespace {

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

uint64_t NextU64(RandomSource& r) {
  uint8_t b[8];
  r.Fill(b);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{b[i]} << (8 * i);
  return v;
}

// The inputs of node i, reproducibly.
std::vector<uint64_t> InputOf(const SimulationConfig& c, uint32_t i) {
  if (auto it = c.inputs.find(i); it != c.inputs.end()) return it->second;
  DeterministicRandom r(c.seed * 0x9e3779b97f4a7c15ull + 2 * i + 1);
  std::vector<uint64_t> x(c.dims);
  for (auto& v : x) v = NextU64(r) % (c.input_bound + 1);
  return x;
}

// Runs f(i) for i in [0, n) on `threads` threads.
template <typename F>
void ParallelFor(size_t n, int threads, F&& f) {
  if (threads <= 1 || n < 2) {
    for (size_t i = 0; i < n; ++i) f(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) f(i);
    });
  }
  for (auto& th : pool) th.join();
}

bool DropsAt(const std::vector<DropPoint>& drops, uint32_t i, DropPoint p) {
  return drops[i] == p;
}

}  // namespace

SimulationReport RunSimulation(const SimulationConfig& c) {
  SimulationReport rep;
  const uint32_t n = c.nodes;
  DeterministicRandom rng(c.seed);

  // Parameters.
  SecurityGoals goals = c.goals;
  if (c.graph == SimulationConfig::Graph::kComplete) {
    goals.complete_graph_max = n;
  } else if (c.graph == SimulationConfig::Graph::kSparse) {
    goals.complete_graph_max = 0;
  }
  auto params = ChooseParameters(n, goals);
  if (!params.ok()) {
    rep.status = params.status();
    return rep;
  }
  rep.parameters = *params;
  if (c.degree.has_value()) {
    rep.parameters.complete = *c.degree + 1 >= n;
    rep.parameters.degree = rep.parameters.complete ? n - 1 : *c.degree;
  }
  if (c.threshold.has_value()) rep.parameters.threshold = *c.threshold;
  std::vector<uint64_t> bounds = {c.input_bound};
  auto bits = ChooseModulusBits(bounds, n);
  if (!bits.ok()) {
    rep.status = bits.status();
    return rep;
  }
  rep.modulus_bits = *bits;

  // Roster and identities.
  std::vector<IdentityKeyPair> identities;
  identities.reserve(n);
  v1::SecAggConfig config;
  config.set_query_id(StrCat("sim-", c.seed));
  std::string seed(32, '\0');
  rng.Fill(std::span(reinterpret_cast<uint8_t*>(seed.data()), seed.size()));
  config.set_query_seed(seed);
  for (uint32_t i = 0; i < n; ++i) {
    identities.push_back(
        *IdentityKeyPair::FromSeed(SecretBytes::Random(32, rng)));
    auto* p = config.add_roster();
    // Zero-padded so that the roster is sorted by node id.
    std::string digits = std::to_string(i);
    p->set_node_id(StrCat(
        "node-", std::string(digits.size() < 7 ? 7 - digits.size() : 0, '0'),
        digits));
    p->set_identity_public_key(std::string(identities[i].public_key().bytes()));
  }
  config.set_dims(c.dims);
  config.set_modulus_bits(static_cast<uint32_t>(*bits));
  config.set_complete_graph(rep.parameters.complete);
  config.set_degree(rep.parameters.degree);
  config.set_threshold(rep.parameters.threshold);
  config.add_element_bounds(c.input_bound);
  auto setup = SecAggSetup::Create(config);
  if (!setup.ok()) {
    rep.status = setup.status();
    return rep;
  }

  // Dropouts: explicit ones, plus a random `dropout` fraction spread over
  // the drop points.
  std::vector<DropPoint> drops(n, DropPoint::kNone);
  uint32_t random_drops =
      static_cast<uint32_t>(std::llround(c.dropout * static_cast<double>(n)));
  for (uint32_t d = 0, guard = 0; d < random_drops && guard < 100 * n;
       ++guard) {
    uint32_t i = static_cast<uint32_t>(NextU64(rng) % n);
    if (drops[i] != DropPoint::kNone) continue;
    drops[i] = static_cast<DropPoint>(1 + NextU64(rng) % 5);
    ++d;
  }
  for (const auto& [i, p] : c.drops) {
    if (i < n) drops[i] = p;
  }

  // Nodes.
  std::vector<std::unique_ptr<DeterministicRandom>> node_rng;
  std::vector<std::optional<SecAggNode>> nodes(n);
  for (uint32_t i = 0; i < n; ++i) {
    auto it = c.node_random_seeds.find(i);
    node_rng.push_back(std::make_unique<DeterministicRandom>(
        it != c.node_random_seeds.end() ? it->second
                                        : c.seed * 0xd1b54a32d192ed03ull + i));
  }
  rep.node_seconds.assign(n, 0);
  rep.bytes_sent.assign(n, 0);
  std::vector<bool> participating(n, false);
  {
    std::mutex mu;
    ParallelFor(n, c.threads, [&](size_t i) {
      if (drops[i] == DropPoint::kBeforeAdvertise) return;
      auto node =
          SecAggNode::Create(*setup, static_cast<uint32_t>(i), identities[i],
                             InputOf(c, i), goals, *node_rng[i]);
      if (!node.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        rep.node_aborts[static_cast<uint32_t>(i)] =
            std::string(ToStd(node.status().message()));
        return;
      }
      nodes[i].emplace(*std::move(node));
      participating[i] = true;
    });
  }

  auto coordinator_or = SecAggCoordinator::Create(*setup);
  SecAggCoordinator& coordinator = *coordinator_or;

  std::vector<std::optional<v1::SecAggMessage>> replies(n);
  auto deliver_replies = [&] {
    auto start = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < n; ++i) {
      if (!replies[i].has_value()) continue;
      if (c.on_reply) {
        rep.coordinator_seconds += Seconds(start);
        c.on_reply(i, *replies[i]);
        start = std::chrono::steady_clock::now();
      }
      auto s = coordinator.Receive(*replies[i]);
      if (!s.ok())
        rep.coordinator_rejects.push_back(std::string(ToStd(s.message())));
      replies[i].reset();
    }
    rep.coordinator_seconds += Seconds(start);
  };

  // Round 0.
  ParallelFor(n, c.threads, [&](size_t i) {
    if (!nodes[i].has_value()) return;
    auto start = std::chrono::steady_clock::now();
    auto msg = nodes[i]->Start();
    rep.node_seconds[i] += Seconds(start);
    if (msg.ok()) {
      rep.bytes_sent[i] += msg->ByteSizeLong();
      replies[i] = *std::move(msg);
    }
  });
  deliver_replies();

  static constexpr DropPoint kDropBefore[] = {
      DropPoint::kNone,  // unused (round 0)
      DropPoint::kBeforeShareKeys, DropPoint::kBeforeMaskedInput,
      DropPoint::kAfterMaskedInput, DropPoint::kDuringUnmask};
  std::mutex abort_mu;
  static constexpr const char* kRoundNames[] = {"advertise keys", "share keys",
                                                "masked input",
                                                "consistency check", "unmask"};
  for (uint32_t round = 1; round <= 5; ++round) {
    if (c.on_progress) {
      c.on_progress(StrCat("round ", round - 1, " (", kRoundNames[round - 1],
                           "): ", n - coordinator.Pending().size(),
                           " nodes answered"));
    }
    auto start = std::chrono::steady_clock::now();
    auto outgoing = coordinator.CloseRound();
    rep.coordinator_seconds += Seconds(start);
    if (!outgoing.ok()) {
      rep.status = outgoing.status();
      break;
    }
    if (round == 5) break;
    std::vector<Outgoing>& out = *outgoing;
    ParallelFor(out.size(), c.threads, [&](size_t k) {
      uint32_t to = out[k].to;
      if (!nodes[to].has_value() || DropsAt(drops, to, kDropBefore[round])) {
        return;
      }
      if (c.on_deliver) c.on_deliver(to, out[k].message);
      auto t0 = std::chrono::steady_clock::now();
      auto msg = nodes[to]->Handle(out[k].message);
      rep.node_seconds[to] += Seconds(t0);
      if (!msg.ok()) {
        std::lock_guard<std::mutex> lock(abort_mu);
        rep.node_aborts[to] = std::string(ToStd(msg.status().message()));
        return;
      }
      rep.bytes_sent[to] += msg->ByteSizeLong();
      replies[to] = *std::move(msg);
    });
    deliver_replies();
  }
  if (rep.status.ok() && !coordinator.finished()) {
    rep.status = absl::InternalError("simulation ended before the result");
  }
  if (!rep.status.ok()) return rep;

  rep.sum = coordinator.result().sum;
  rep.contributors = coordinator.result().contributors;
  const uint64_t mask = (*setup)->ring().mask();
  rep.expected_sum.assign(c.dims, 0);
  for (uint32_t i : rep.contributors) {
    std::vector<uint64_t> x = InputOf(c, i);
    auto t0 = std::chrono::steady_clock::now();
    for (size_t j = 0; j < x.size(); ++j) {
      rep.expected_sum[j] = (rep.expected_sum[j] + x[j]) & mask;
    }
    rep.plaintext_sum_seconds += Seconds(t0);
  }
  rep.sum_correct = rep.sum == rep.expected_sum;
  // Per-node figures cover the nodes that took part to the end.
  std::vector<double> secs;
  std::vector<uint64_t> bytes;
  for (uint32_t i = 0; i < n; ++i) {
    if (!participating[i] || !nodes[i].has_value() ||
        nodes[i]->state() != SecAggNode::State::kDone) {
      continue;
    }
    secs.push_back(rep.node_seconds[i]);
    bytes.push_back(rep.bytes_sent[i]);
  }
  rep.node_seconds = std::move(secs);
  rep.bytes_sent = std::move(bytes);
  return rep;
}

}  // namespace kring::crypto::secagg
