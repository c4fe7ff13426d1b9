#include "crypto/secagg/simulator.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
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

// Parameters for `c` (overridden by its degree and threshold, if any) into
// `rep`; `goals` as adjusted for the requested graph.
absl::Status ChooseSimulationParameters(const SimulationConfig& c,
                                        SecurityGoals& goals,
                                        SimulationReport& rep) {
  const uint32_t n = c.nodes;
  goals = c.goals;
  if (c.graph == SimulationConfig::Graph::kComplete) {
    goals.complete_graph_max = n;
  } else if (c.graph == SimulationConfig::Graph::kSparse) {
    goals.complete_graph_max = 0;
  }
  auto params = ChooseParameters(n, goals);
  if (!params.ok()) return params.status();
  rep.parameters = *params;
  if (c.degree.has_value()) {
    rep.parameters.complete = *c.degree + 1 >= n;
    rep.parameters.degree = rep.parameters.complete ? n - 1 : *c.degree;
  }
  if (c.threshold.has_value()) rep.parameters.threshold = *c.threshold;
  std::vector<uint64_t> bounds = {c.input_bound};
  auto bits = ChooseModulusBits(bounds, n);
  if (!bits.ok()) return bits.status();
  rep.modulus_bits = *bits;
  return absl::OkStatus();
}

// The identities of the nodes and the round's configuration, drawn from
// `rng` (the query seed first, then one identity per node).
absl::StatusOr<std::shared_ptr<const SecAggSetup>> MakeSetup(
    const SimulationConfig& c, const SimulationReport& rep,
    DeterministicRandom& rng, std::vector<IdentityKeyPair>& identities) {
  const uint32_t n = c.nodes;
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
  config.set_modulus_bits(static_cast<uint32_t>(rep.modulus_bits));
  config.set_complete_graph(rep.parameters.complete);
  config.set_degree(rep.parameters.degree);
  config.set_threshold(rep.parameters.threshold);
  config.add_element_bounds(c.input_bound);
  return SecAggSetup::Create(config);
}

// Dropouts: explicit ones, plus a random `dropout` fraction spread over
// the drop points before the masked input (a node gone after sending it
// fails the run: its masks can no longer be checked, see coordinator.h).
std::vector<DropPoint> ChooseDrops(const SimulationConfig& c,
                                   DeterministicRandom& rng) {
  const uint32_t n = c.nodes;
  std::vector<DropPoint> drops(n, DropPoint::kNone);
  uint32_t random_drops =
      static_cast<uint32_t>(std::llround(c.dropout * static_cast<double>(n)));
  for (uint32_t d = 0, guard = 0; d < random_drops && guard < 100 * n;
       ++guard) {
    uint32_t i = static_cast<uint32_t>(NextU64(rng) % n);
    if (drops[i] != DropPoint::kNone) continue;
    drops[i] = static_cast<DropPoint>(1 + NextU64(rng) % 3);
    ++d;
  }
  for (const auto& [i, p] : c.drops) {
    if (i < n) drops[i] = p;
  }
  return drops;
}

// One simulated round of secure aggregation in memory: the nodes, the
// coordinator, and the messages between them, timed into a report.
class Simulation {
 public:
  Simulation(const SimulationConfig& c, const SecurityGoals& goals,
             std::shared_ptr<const SecAggSetup> setup,
             std::vector<IdentityKeyPair> identities,
             std::vector<DropPoint> drops, SimulationReport& rep)
      : c_(c),
        n_(c.nodes),
        goals_(goals),
        setup_(std::move(setup)),
        identities_(std::move(identities)),
        drops_(std::move(drops)),
        rep_(rep),
        nodes_(n_),
        participating_(n_, false),
        replies_(n_) {}

  // Runs every round, then fills in the result and the per-node figures.
  void Run() {
    CreateNodes();
    auto coordinator =
        SecAggCoordinator::Create(setup_, c_.coordinator_threads);
    if (!coordinator.ok()) {
      rep_.status = coordinator.status();
      return;
    }
    coordinator_ = &*coordinator;
    rep_.coordinator_threads = coordinator_->threads();
    StartNodes();
    RunRounds();
    if (rep_.status.ok() && !coordinator_->finished()) {
      rep_.status = absl::InternalError("simulation ended before the result");
    }
    if (!rep_.status.ok()) return;
    Summarize();
  }

 private:
  void CreateNodes();
  void StartNodes();
  void RunRounds();
  void DeliverToNodes(uint32_t round, std::vector<Outgoing>& out);
  void DeliverReplies();
  // Adds coordinator time spent on `round` (0..4) to the report.
  // Also adds the process CPU time used since `cpu_start` (the nodes are
  // idle while the coordinator runs, so that is the coordinator's, over all
  // its worker threads).
  void AddCoordinatorTime(uint32_t round, double seconds,
                          std::clock_t cpu_start);
  void Summarize();

  const SimulationConfig& c_;
  const uint32_t n_;
  const SecurityGoals goals_;
  const std::shared_ptr<const SecAggSetup> setup_;
  const std::vector<IdentityKeyPair> identities_;
  const std::vector<DropPoint> drops_;
  SimulationReport& rep_;
  std::vector<std::unique_ptr<DeterministicRandom>> node_rng_;
  std::vector<std::optional<SecAggNode>> nodes_;
  std::vector<bool> participating_;
  std::vector<std::optional<v1::SecAggMessage>> replies_;
  SecAggCoordinator* coordinator_ = nullptr;
  std::mutex abort_mu_;
};

void Simulation::CreateNodes() {
  for (uint32_t i = 0; i < n_; ++i) {
    auto it = c_.node_random_seeds.find(i);
    node_rng_.push_back(std::make_unique<DeterministicRandom>(
        it != c_.node_random_seeds.end()
            ? it->second
            : c_.seed * 0xd1b54a32d192ed03ull + i));
  }
  rep_.node_seconds.assign(n_, 0);
  rep_.bytes_sent.assign(n_, 0);
  ParallelFor(n_, c_.threads, [&](size_t i) {
    if (drops_[i] == DropPoint::kBeforeAdvertise) return;
    auto node =
        SecAggNode::Create(setup_, static_cast<uint32_t>(i), identities_[i],
                           InputOf(c_, i), goals_, *node_rng_[i]);
    if (!node.ok()) {
      std::lock_guard<std::mutex> lock(abort_mu_);
      rep_.node_aborts[static_cast<uint32_t>(i)] =
          std::string(ToStd(node.status().message()));
      return;
    }
    nodes_[i].emplace(*std::move(node));
    participating_[i] = true;
  });
}

// Hands the nodes' replies to the coordinator in node order.
void Simulation::DeliverReplies() {
  std::vector<const v1::SecAggMessage*> batch;
  for (uint32_t i = 0; i < n_; ++i) {
    if (!replies_[i].has_value()) continue;
    if (c_.on_reply) c_.on_reply(i, *replies_[i]);
    batch.push_back(&*replies_[i]);
  }
  const uint32_t round = coordinator_->round();
  const std::clock_t cpu_start = std::clock();
  auto start = std::chrono::steady_clock::now();
  std::vector<absl::Status> received = coordinator_->ReceiveAll(batch);
  AddCoordinatorTime(round, Seconds(start), cpu_start);
  for (const absl::Status& s : received) {
    if (!s.ok()) {
      rep_.coordinator_rejects.push_back(std::string(ToStd(s.message())));
    }
  }
  for (auto& r : replies_) r.reset();
}

void Simulation::AddCoordinatorTime(uint32_t round, double seconds,
                                    std::clock_t cpu_start) {
  rep_.coordinator_cpu_seconds +=
      static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  rep_.coordinator_seconds += seconds;
  rep_.coordinator_round_seconds.resize(5, 0.0);
  rep_.coordinator_round_seconds[std::min<uint32_t>(round, 4)] += seconds;
}

// Round 0: every node advertises its keys.
void Simulation::StartNodes() {
  ParallelFor(n_, c_.threads, [&](size_t i) {
    if (!nodes_[i].has_value()) return;
    auto start = std::chrono::steady_clock::now();
    auto msg = nodes_[i]->Start();
    rep_.node_seconds[i] += Seconds(start);
    if (msg.ok()) {
      rep_.bytes_sent[i] += msg->ByteSizeLong();
      replies_[i] = *std::move(msg);
    }
  });
  DeliverReplies();
}

void Simulation::RunRounds() {
  static constexpr const char* kRoundNames[] = {"advertise keys", "share keys",
                                                "masked input",
                                                "consistency check", "unmask"};
  for (uint32_t round = 1; round <= 5; ++round) {
    if (c_.on_progress) {
      c_.on_progress(StrCat("round ", round - 1, " (", kRoundNames[round - 1],
                            "): ", n_ - coordinator_->Pending().size(),
                            " nodes answered"));
    }
    const uint32_t closing = coordinator_->round();
    const std::clock_t cpu_start = std::clock();
    auto start = std::chrono::steady_clock::now();
    auto outgoing = coordinator_->CloseRound();
    AddCoordinatorTime(closing, Seconds(start), cpu_start);
    if (!outgoing.ok()) {
      rep_.status = outgoing.status();
      break;
    }
    if (round == 5) break;
    DeliverToNodes(round, *outgoing);
    DeliverReplies();
  }
}

// Delivers the coordinator's messages of `round` (1..4) to the nodes that
// have not dropped out before it.
void Simulation::DeliverToNodes(uint32_t round, std::vector<Outgoing>& out) {
  static constexpr DropPoint kDropBefore[] = {
      DropPoint::kNone,  // unused (round 0)
      DropPoint::kBeforeShareKeys, DropPoint::kBeforeMaskedInput,
      DropPoint::kAfterMaskedInput, DropPoint::kDuringUnmask};
  ParallelFor(out.size(), c_.threads, [&](size_t k) {
    uint32_t to = out[k].to;
    if (!nodes_[to].has_value() || DropsAt(drops_, to, kDropBefore[round])) {
      return;
    }
    if (c_.on_deliver) c_.on_deliver(to, out[k].message);
    auto t0 = std::chrono::steady_clock::now();
    auto msg = nodes_[to]->Handle(out[k].message);
    rep_.node_seconds[to] += Seconds(t0);
    if (!msg.ok()) {
      std::lock_guard<std::mutex> lock(abort_mu_);
      rep_.node_aborts[to] = std::string(ToStd(msg.status().message()));
      return;
    }
    rep_.bytes_sent[to] += msg->ByteSizeLong();
    replies_[to] = *std::move(msg);
  });
}

// The result, the plain sum to compare it with, and the per-node figures
// of the nodes that took part to the end.
void Simulation::Summarize() {
  rep_.sum = coordinator_->result().sum;
  rep_.contributors = coordinator_->result().contributors;
  const uint64_t mask = setup_->ring().mask();
  rep_.expected_sum.assign(c_.dims, 0);
  for (uint32_t i : rep_.contributors) {
    std::vector<uint64_t> x = InputOf(c_, i);
    auto t0 = std::chrono::steady_clock::now();
    for (size_t j = 0; j < x.size(); ++j) {
      rep_.expected_sum[j] = (rep_.expected_sum[j] + x[j]) & mask;
    }
    rep_.plaintext_sum_seconds += Seconds(t0);
  }
  rep_.sum_correct = rep_.sum == rep_.expected_sum;
  std::vector<double> secs;
  std::vector<uint64_t> bytes;
  for (uint32_t i = 0; i < n_; ++i) {
    if (!participating_[i] || !nodes_[i].has_value() ||
        nodes_[i]->state() != SecAggNode::State::kDone) {
      continue;
    }
    secs.push_back(rep_.node_seconds[i]);
    bytes.push_back(rep_.bytes_sent[i]);
  }
  rep_.node_seconds = std::move(secs);
  rep_.bytes_sent = std::move(bytes);
}

}  // namespace

SimulationReport RunSimulation(const SimulationConfig& c) {
  SimulationReport rep;
  DeterministicRandom rng(c.seed);
  SecurityGoals goals;
  if (absl::Status s = ChooseSimulationParameters(c, goals, rep); !s.ok()) {
    rep.status = s;
    return rep;
  }
  std::vector<IdentityKeyPair> identities;
  auto setup = MakeSetup(c, rep, rng, identities);
  if (!setup.ok()) {
    rep.status = setup.status();
    return rep;
  }
  std::vector<DropPoint> drops = ChooseDrops(c, rng);
  Simulation(c, goals, *std::move(setup), std::move(identities),
             std::move(drops), rep)
      .Run();
  return rep;
}

}  // namespace kring::crypto::secagg
