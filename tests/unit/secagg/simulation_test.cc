// End-to-end secure aggregation through the in-process simulator: the real
// node and coordinator state machines, with dropouts at every stage.

#include <set>
#include <string>

#include "crypto/secagg/simulator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::crypto::secagg {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::IsEmpty;

enum class Scenario {
  kNoDrops,
  kBeforeShareKeys,
  kBeforeMaskedInput,
  kAfterMaskedInput,
  kDuringUnmask,
  kMixed,
};

const char* Name(Scenario s) {
  switch (s) {
    case Scenario::kNoDrops:
      return "NoDrops";
    case Scenario::kBeforeShareKeys:
      return "DropBeforeShareKeys";
    case Scenario::kBeforeMaskedInput:
      return "DropBeforeMaskedInput";
    case Scenario::kAfterMaskedInput:
      return "DropAfterMaskedInput";
    case Scenario::kDuringUnmask:
      return "DropDuringUnmask";
    case Scenario::kMixed:
      return "MixedDrops";
  }
  return "?";
}

struct Case {
  uint32_t nodes;
  bool sparse;
  Scenario scenario;
  uint64_t seed;
};

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  return std::string("n") + std::to_string(c.nodes) +
         (c.sparse ? "Sparse" : "Complete") + Name(c.scenario) + "Seed" +
         std::to_string(c.seed);
}

SimulationConfig ConfigFor(const Case& c) {
  SimulationConfig config;
  config.nodes = c.nodes;
  config.dims = c.nodes >= 100 ? 64 : 257;
  config.input_bound = 4;  // a Likert-like range
  config.seed = c.seed;
  config.threads = 2;
  if (c.sparse) {
    config.graph = SimulationConfig::Graph::kSparse;
    if (c.nodes == 10) {
      config.degree = 4;  // ring of 10, two neighbours on each side
      config.threshold = 3;
      // Goals that such a small ring can meet: no colluders assumed.
      config.goals.corrupt_fraction = 0;
      config.goals.security_bits = 1;
    }
  } else {
    config.graph = SimulationConfig::Graph::kComplete;
  }
  // How many nodes drop: within what every committee tolerates.
  const uint32_t drops = c.nodes == 3 ? 1 : c.nodes == 10 ? 1 : 8;
  // Spread the dropped nodes over the ring (deterministic per seed).
  std::vector<DropPoint> points;
  switch (c.scenario) {
    case Scenario::kNoDrops:
      break;
    case Scenario::kBeforeShareKeys:
      points.assign(drops, DropPoint::kBeforeShareKeys);
      break;
    case Scenario::kBeforeMaskedInput:
      points.assign(drops, DropPoint::kBeforeMaskedInput);
      break;
    case Scenario::kAfterMaskedInput:
      points.assign(drops, DropPoint::kAfterMaskedInput);
      break;
    case Scenario::kDuringUnmask:
      points.assign(drops, DropPoint::kDuringUnmask);
      break;
    case Scenario::kMixed:
      for (uint32_t i = 0; i < drops; ++i) {
        points.push_back(static_cast<DropPoint>(1 + (i + c.seed) % 5));
      }
      if (c.nodes == 10) {  // two drops on the small graphs
        points = {DropPoint::kBeforeMaskedInput, DropPoint::kDuringUnmask};
      }
      break;
  }
  for (uint32_t i = 0; i < points.size(); ++i) {
    uint32_t node =
        static_cast<uint32_t>((c.seed * 7 + i * (c.nodes / 5 + 3)) % c.nodes);
    while (config.drops.count(node)) node = (node + 1) % c.nodes;
    config.drops[node] = points[i];
  }
  return config;
}

class SecAggSimulationTest : public ::testing::TestWithParam<Case> {};

bool Has(const SimulationConfig& config, DropPoint point) {
  for (const auto& [node, p] : config.drops) {
    if (p == point) return true;
  }
  return false;
}

TEST_P(SecAggSimulationTest, SumOfSurvivorsIsExact) {
  SimulationConfig config = ConfigFor(GetParam());
  SimulationReport rep = RunSimulation(config);
  // A node gone after sending its masked input without confirming the
  // survivor set, or after confirming it while a neighbour dropped out
  // after sharing keys, leaves masks that cannot be checked: no result.
  const bool unconfirmed = Has(config, DropPoint::kAfterMaskedInput);
  const bool unmask_with_dropped_neighbour =
      Has(config, DropPoint::kDuringUnmask) &&
      Has(config, DropPoint::kBeforeMaskedInput);
  if (unconfirmed || (unmask_with_dropped_neighbour && !GetParam().sparse)) {
    EXPECT_THAT(
        rep.status,
        StatusIs(absl::StatusCode::kFailedPrecondition,
                 ::testing::HasSubstr("did not complete the protocol")));
    return;
  }
  if (unmask_with_dropped_neighbour && !rep.status.ok()) {
    // On a sparse graph only if the two are neighbours.
    EXPECT_THAT(
        rep.status,
        StatusIs(absl::StatusCode::kFailedPrecondition,
                 ::testing::HasSubstr("a neighbour of it dropped out")));
    return;
  }
  ASSERT_THAT(rep.status, IsOk());
  EXPECT_THAT(rep.node_aborts, IsEmpty());
  EXPECT_THAT(rep.coordinator_rejects, IsEmpty());
  EXPECT_TRUE(rep.sum_correct);
  EXPECT_EQ(rep.sum, rep.expected_sum);
  // Contributors: everyone who got as far as confirming the survivor set.
  std::set<uint32_t> want;
  for (uint32_t i = 0; i < config.nodes; ++i) {
    auto it = config.drops.find(i);
    DropPoint p = it == config.drops.end() ? DropPoint::kNone : it->second;
    if (p == DropPoint::kNone || p == DropPoint::kDuringUnmask) {
      want.insert(i);
    }
  }
  EXPECT_EQ(
      std::set<uint32_t>(rep.contributors.begin(), rep.contributors.end()),
      want);
  EXPECT_EQ(rep.parameters.complete, !GetParam().sparse);
}

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  const Scenario kScenarios[] = {
      Scenario::kNoDrops,           Scenario::kBeforeShareKeys,
      Scenario::kBeforeMaskedInput, Scenario::kAfterMaskedInput,
      Scenario::kDuringUnmask,      Scenario::kMixed};
  for (Scenario s : kScenarios) {
    for (uint64_t seed : {1, 2, 3}) {
      cases.push_back({3, false, s, seed});
      cases.push_back({10, false, s, seed});
      cases.push_back({10, true, s, seed});
    }
    for (uint64_t seed : {1, 2}) {
      cases.push_back({100, false, s, seed});
      cases.push_back({100, true, s, seed});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Grid, SecAggSimulationTest,
                         ::testing::ValuesIn(AllCases()), CaseName);

TEST(SecAggSimulationTest, RandomDropoutsOnASparseGraph) {
  SimulationConfig config;
  config.nodes = 300;
  config.dims = 50;
  config.graph = SimulationConfig::Graph::kSparse;
  config.dropout = 0.05;
  config.seed = 11;
  config.threads = 2;
  SimulationReport rep = RunSimulation(config);
  ASSERT_THAT(rep.status, IsOk());
  EXPECT_TRUE(rep.sum_correct);
  EXPECT_FALSE(rep.parameters.complete);
  EXPECT_LT(rep.parameters.degree, 299u);
  EXPECT_LT(rep.contributors.size(), 300u);
}

TEST(SecAggSimulationTest, FullWidthRingSumsWrapExactly) {
  // Inputs up to 2^62 with 3 nodes need a 64-bit ring.
  SimulationConfig config;
  config.nodes = 3;
  config.dims = 40;
  config.input_bound = uint64_t{1} << 62;
  SimulationReport rep = RunSimulation(config);
  ASSERT_THAT(rep.status, IsOk());
  EXPECT_EQ(rep.modulus_bits, 64);
  EXPECT_TRUE(rep.sum_correct);
}

TEST(SecAggSimulationTest, BelowThresholdAtMaskedInputAbortsWithoutResult) {
  SimulationConfig config;
  config.nodes = 10;  // complete graph, t = 6
  config.dims = 16;
  for (uint32_t i = 0; i < 5; ++i) {
    config.drops[i] = DropPoint::kBeforeMaskedInput;
  }
  SimulationReport rep = RunSimulation(config);
  EXPECT_THAT(rep.status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(rep.sum.empty());
  EXPECT_FALSE(rep.sum_correct);
}

TEST(SecAggSimulationTest, BelowThresholdAtAdvertiseAbortsWithoutResult) {
  SimulationConfig config;
  config.nodes = 10;
  config.dims = 16;
  for (uint32_t i = 0; i < 6; ++i) {
    config.drops[i] = DropPoint::kBeforeAdvertise;
  }
  SimulationReport rep = RunSimulation(config);
  EXPECT_THAT(rep.status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(rep.sum.empty());
}

TEST(SecAggSimulationTest, TooManyDropsDuringUnmaskAbortsWithoutResult) {
  SimulationConfig config;
  config.nodes = 10;
  config.dims = 16;
  for (uint32_t i = 0; i < 5; ++i) config.drops[i] = DropPoint::kDuringUnmask;
  SimulationReport rep = RunSimulation(config);
  EXPECT_THAT(rep.status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(rep.sum.empty());
}

TEST(SecAggSimulationTest, SparseGraphWithTooManyLocalDropsFailsCleanly) {
  // Ring of 10 with k = 4, t = 3: when 7 nodes share keys and then vanish,
  // survivors lose most of their committees; nodes abort and the
  // coordinator fails, and nobody gets a partial result.
  SimulationConfig config;
  config.nodes = 10;
  config.dims = 8;
  config.graph = SimulationConfig::Graph::kSparse;
  config.degree = 4;
  config.threshold = 3;
  config.goals.corrupt_fraction = 0;
  config.goals.security_bits = 1;
  config.seed = 5;
  for (uint32_t i = 1; i < 8; ++i) {
    config.drops[i] = DropPoint::kBeforeMaskedInput;
  }
  SimulationReport rep = RunSimulation(config);
  EXPECT_THAT(rep.status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(rep.sum.empty());
}

}  // namespace
}  // namespace kring::crypto::secagg
