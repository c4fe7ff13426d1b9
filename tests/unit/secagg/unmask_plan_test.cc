// The coordinator's reconstruction plan: shared Lagrange weights, correct
// secrets, and the same plan on any number of threads.

#include <random>
#include <string>
#include <vector>

#include "crypto/secagg/internal/unmask.h"
#include "crypto/secagg/simulator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::crypto::secagg {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;

struct Fixture {
  NeighbourGraph graph;
  std::vector<SecretBytes> secrets;  // per owner
  std::vector<std::vector<ShamirShare>> revealed;
};

// Every owner's secret shared among its committee (itself and its
// neighbours) at threshold t; each holder independently "drops" (reveals
// nothing) with probability `drop`; shares arrive in a shuffled order.
Fixture MakeFixture(uint32_t n, uint32_t k, uint32_t t, double drop,
                    uint32_t seed) {
  auto graph = NeighbourGraph::Harary(n, k, std::string(32, 'g'));
  EXPECT_THAT(graph, IsOk());
  Fixture f{*std::move(graph), {}, std::vector<std::vector<ShamirShare>>(n)};
  std::mt19937 rng(seed);
  std::vector<bool> dropped(n);
  for (uint32_t v = 0; v < n; ++v) {
    dropped[v] = std::uniform_real_distribution<>(0, 1)(rng) < drop;
  }
  for (uint32_t w = 0; w < n; ++w) {
    f.secrets.push_back(SecretBytes::Random(32));
    std::vector<uint32_t> holders = f.graph.Neighbours(w);
    holders.push_back(w);
    std::vector<uint32_t> xs;
    for (uint32_t v : holders) xs.push_back(v + 1);
    auto shares = ShamirSplit(f.secrets.back(), static_cast<int>(t), xs);
    EXPECT_THAT(shares, IsOk());
    for (auto& s : *shares) {
      if (!dropped[s.x - 1]) f.revealed[w].push_back(std::move(s));
    }
    std::shuffle(f.revealed[w].begin(), f.revealed[w].end(), rng);
  }
  return f;
}

TEST(UnmaskPlanTest, NeighboursOnTheRingShareWeightsAndReconstructExactly) {
  constexpr uint32_t kN = 300, kK = 40, kT = 27;
  Fixture f = MakeFixture(kN, kK, kT, 0.05, 7);
  KRING_ASSERT_OK_AND_ASSIGN(
      internal::UnmaskPlan plan,
      internal::PlanUnmask(f.graph, f.revealed, kT, /*workers=*/2));
  size_t planned = 0;
  for (uint32_t w = 0; w < kN; ++w) {
    if (f.revealed[w].size() < kT) {
      EXPECT_EQ(plan.interpolator_of[w], -1) << w;
      continue;
    }
    ++planned;
    ASSERT_GE(plan.interpolator_of[w], 0) << w;
    const auto& interp = plan.interpolators[plan.interpolator_of[w]];
    ASSERT_EQ(plan.shares_of[w].size(), kT);
    KRING_ASSERT_OK_AND_ASSIGN(SecretBytes got,
                               interp.Reconstruct(plan.shares_of[w]));
    EXPECT_TRUE(got == f.secrets[w]) << "owner " << w;
  }
  EXPECT_GT(planned, kN * 9 / 10);
  // Reuse: owners next to each other on the ring share holder sets, so far
  // fewer interpolators than owners are built.
  EXPECT_LT(plan.interpolators.size(), planned / 4);
}

TEST(UnmaskPlanTest, SamePlanOnAnyNumberOfWorkers) {
  Fixture f = MakeFixture(120, 16, 11, 0.1, 3);
  std::vector<std::vector<uint32_t>> points[2];
  std::vector<int32_t> of[2];
  int run = 0;
  for (int workers : {1, 3}) {
    KRING_ASSERT_OK_AND_ASSIGN(
        internal::UnmaskPlan plan,
        internal::PlanUnmask(f.graph, f.revealed, 11, workers));
    for (const auto& i : plan.interpolators) points[run].push_back(i.points());
    of[run] = plan.interpolator_of;
    ++run;
  }
  EXPECT_EQ(points[0], points[1]);
  EXPECT_EQ(of[0], of[1]);
}

TEST(UnmaskPlanTest, RejectsAMismatchedShareList) {
  Fixture f = MakeFixture(20, 4, 3, 0, 1);
  f.revealed.pop_back();
  EXPECT_THAT(internal::PlanUnmask(f.graph, f.revealed, 3, 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(UnmaskPlanTest, CoordinatorThreadsDoNotChangeTheRun) {
  SimulationReport reports[2];
  int i = 0;
  for (int threads : {1, 3}) {
    SimulationConfig config;
    config.nodes = 160;
    config.dims = 40;
    config.graph = SimulationConfig::Graph::kSparse;
    config.dropout = 0.08;
    config.seed = 5;
    config.threads = 2;
    config.coordinator_threads = threads;
    reports[i] = RunSimulation(config);
    ASSERT_THAT(reports[i].status, IsOk()) << threads;
    EXPECT_TRUE(reports[i].sum_correct) << threads;
    EXPECT_EQ(reports[i].coordinator_threads, threads);
    EXPECT_EQ(reports[i].sum, reports[0].sum) << threads;
    EXPECT_EQ(reports[i].contributors, reports[0].contributors) << threads;
    EXPECT_EQ(reports[i].coordinator_rejects, reports[0].coordinator_rejects);
    ++i;
  }
}

}  // namespace
}  // namespace kring::crypto::secagg
