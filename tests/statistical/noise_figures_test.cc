// Monte Carlo checks of the noise SDs and noise-aware intervals that
// AddNoiseToResult states (query/noise.h), for every statistic kind on the
// reference fixture (tests/fixtures/query). For each query, 2000 noisy sums
// are drawn as a run of 3 schools would make them (each school one exact
// discrete Gaussian share per element, crypto/noise.h, on a seeded
// DeterministicRandom), decoded with DecodeNoisy and given noise SDs. For
// every figure with a stated noise SD:
//  * the stated SD (at the exact sums) matches the figure's empirical SD
//    over the draws within 10% (the SD of an SD estimate from 2000 draws
//    is 1.6%, so the tolerance is the delta method's, not chance's);
//  * |noisy figure - exact figure| <= 1.96 x the SD stated in that draw in
//    93%-97% of draws (nominal 95%; the binomial SD is 0.5%);
//  * where the figure has an interval, it covers the exact figure in at
//    least 94% of draws (the interval also holds the sampling error).
// rho is chosen per query so that the noise is small against the figures
// (the regime the delta method describes; at rho 0.1 on this fixture's
// cells the noise swamps most figures: docs/privacy.md). Figures within 4
// noise SDs of a bound of their range (a count near 0, a share near 0 or
// 1) are not checked: clamping there makes the noise smaller than stated.
// Label "statistical"; seeded, so runs are reproducible.

#include <cmath>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "crypto/noise.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "query/decode.h"
#include "query/layout.h"
#include "query/noise.h"
#include "query/spec.h"
#include "query/statistics/helpers.h"
#include "tests/unit/query/fixture.h"

namespace kring::query {
namespace {

using testing::LoadSchools;
using testing::ReadFixture;
using testing::School;

constexpr int kDraws = 2000;
constexpr uint32_t kSchools = 3;

std::string FixtureSpec(const std::string& name) {
  auto j = nlohmann::json::parse(ReadFixture("expected.json"));
  for (const auto& c : j["cases"]) {
    if (c["name"] == name) return c["spec"].dump();
  }
  ADD_FAILURE() << "no fixture case " << name;
  return "{}";
}

// The stat a noise SD figure of cell `c` describes.
std::string Described(const CellResult& c, const Figure& sd) {
  if (sd.stat != "noise_sd") return sd.stat.substr(9);  // noise_sd_<stat>
  for (const char* stat :
       {"count", "mean", "r", "alpha", "item_rest_r", "b", "p"}) {
    if (statistics::FindFigure(c.figures, sd.measure, stat) != nullptr) {
      return stat;
    }
  }
  return "";
}

// Whether `value` of figure `stat` lies within 4 noise SDs of a bound of
// its range (0 for counts; 0 and 1 for shares and r2; -1 and 1 for
// correlations; 1 for alpha). There the post-processing cuts the noise
// off, so the SD is smaller than the delta method states (conservative),
// and the tallies below do not apply.
bool NearItsBound(const std::string& stat, double value, double sd) {
  const double margin = 4 * sd;
  if (stat == "count" || stat == "n" || stat.starts_with("count_")) {
    return value < margin;
  }
  if (stat == "p" || stat == "row_share" || stat == "r2" || stat == "adj_r2" ||
      stat.starts_with("share_")) {
    return value < margin || value > 1 - margin;
  }
  if (stat == "r" || stat == "item_rest_r") {
    return std::fabs(value) > 1 - margin;
  }
  if (stat == "alpha") return value > 1 - margin;
  return false;
}

struct Tally {
  double exact = 0;
  double stated_sd = 0;  // at the exact sums
  bool has_interval = false;
  int seen = 0;
  double sum = 0, sum2 = 0;
  int within = 0;   // |noisy - exact| <= 1.96 x stated SD of the draw
  int covered = 0;  // the draw's interval covers the exact figure
};

struct Case {
  std::string name;
  double rho;
};

class NoiseFiguresMonteCarlo : public ::testing::TestWithParam<Case> {};

TEST_P(NoiseFiguresMonteCarlo, StatedNoiseSdsAndIntervalsHold) {
  const Case& tc = GetParam();
  auto spec = ParseQuerySpecJson(FixtureSpec(tc.name));
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto q = Query::Create(*spec, survey::Instrument::BelongingV1());
  ASSERT_TRUE(q.ok()) << q.status();
  const Layout layout(*q);
  std::vector<uint64_t> sums(layout.size(), 0);
  for (const School& s : LoadSchools()) {
    auto c = Contribution(layout, s.records, s.municipality);
    ASSERT_TRUE(c.ok()) << c.status();
    for (size_t i = 0; i < sums.size(); ++i) sums[i] += (*c)[i];
  }
  auto plan = NoisePlan::Create(layout, tc.rho, kSchools, kSchools);
  ASSERT_TRUE(plan.ok()) << plan.status();
  auto exact = Decode(layout, sums);
  ASSERT_TRUE(exact.ok()) << exact.status();
  AddNoiseToResult(layout, *plan, kSchools, *exact);

  // What is checked: (cell, measure, stat) of every positive noise SD.
  std::map<std::string, Tally> tally;
  auto key = [](const CellResult& c, const std::string& m,
                const std::string& s) { return c.name + "|" + m + "|" + s; };
  for (const CellResult& c : exact->cells) {
    for (const Figure& sd : c.figures) {
      if (!sd.stat.starts_with("noise_sd") || !(sd.value > 0)) continue;
      const std::string stat = Described(c, sd);
      const Figure* f = statistics::FindFigure(c.figures, sd.measure, stat);
      ASSERT_NE(f, nullptr) << c.name << " " << sd.measure << " " << sd.stat;
      if (NearItsBound(stat, f->value, sd.value)) continue;
      // A mean's SD is withheld once its noise SD passes a tenth of the
      // largest SD of its scale (0.15 on the fixture's 1-4 scales): only
      // SDs well below that are present in every draw.
      if (stat == "sd" && sd.value > 0.07) continue;
      Tally t;
      t.exact = f->value;
      t.stated_sd = sd.value;
      t.has_interval =
          sd.stat == "noise_sd" &&
          statistics::FindFigure(c.figures, sd.measure, "ci_low") != nullptr;
      tally[key(c, sd.measure, stat)] = t;
    }
  }
  ASSERT_FALSE(tally.empty());

  crypto::DeterministicRandom rng(20261203);
  const size_t width = layout.cell_width();
  for (int draw = 0; draw < kDraws; ++draw) {
    std::vector<int64_t> noisy(sums.begin(), sums.end());
    for (size_t e = 0; e < width; ++e) {
      auto x = crypto::SampleDiscreteGaussians(
          plan->share_sigma2(e), kSchools * layout.cell_count(), rng);
      ASSERT_TRUE(x.ok()) << x.status();
      for (size_t c = 0; c < layout.cell_count(); ++c) {
        for (uint32_t s = 0; s < kSchools; ++s) {
          noisy[c * width + e] += (*x)[c * kSchools + s];
        }
      }
    }
    auto r = DecodeNoisy(layout, *plan, noisy, kSchools);
    ASSERT_TRUE(r.ok()) << r.status();
    AddNoiseToResult(layout, *plan, kSchools, *r);
    for (const CellResult& c : r->cells) {
      for (const Figure& sd : c.figures) {
        if (!sd.stat.starts_with("noise_sd")) continue;
        const std::string stat = Described(c, sd);
        auto it = tally.find(key(c, sd.measure, stat));
        if (it == tally.end()) continue;
        Tally& t = it->second;
        const double v =
            statistics::FindFigure(c.figures, sd.measure, stat)->value;
        ++t.seen;
        t.sum += v;
        t.sum2 += v * v;
        t.within += std::fabs(v - t.exact) <= statistics::kZ975 * sd.value;
        if (t.has_interval) {
          const Figure* low =
              statistics::FindFigure(c.figures, sd.measure, "ci_low");
          const Figure* high =
              statistics::FindFigure(c.figures, sd.measure, "ci_high");
          t.covered += low != nullptr && high != nullptr &&
                       low->value <= t.exact && t.exact <= high->value;
        }
      }
    }
  }
  size_t checked = 0;
  for (const auto& [k, t] : tally) {
    SCOPED_TRACE(k);
    // Figures present in (nearly) every draw; a figure noise can remove
    // (a cell suppressed as too noisy) would bias the tallies.
    ASSERT_GE(t.seen, kDraws * 99 / 100);
    const double mean = t.sum / t.seen;
    const double sd =
        std::sqrt((t.sum2 / t.seen - mean * mean) * t.seen / (t.seen - 1.0));
    EXPECT_NEAR(sd / t.stated_sd, 1.0, 0.10)
        << "empirical SD " << sd << ", stated " << t.stated_sd;
    const double within = static_cast<double>(t.within) / t.seen;
    EXPECT_GE(within, 0.93);
    EXPECT_LE(within, 0.97);
    if (t.has_interval) {
      EXPECT_GE(static_cast<double>(t.covered) / t.seen, 0.94);
    }
    ++checked;
  }
  std::cout << tc.name << ": " << checked << " figures checked\n";
}

INSTANTIATE_TEST_SUITE_P(
    Fixture, NoiseFiguresMonteCarlo,
    ::testing::Values(
        Case{"count_by_track_gender", 1.0}, Case{"mean_scales_by_track", 100.0},
        Case{"proportion_perception_below_2_5_by_track", 10.0},
        Case{"distribution_ST034Q02_by_wave", 1.0},
        Case{"crosstab_track_gender", 1.0},
        Case{"correlation_scales_overall", 100.0},
        Case{"reliability_perception_overall", 100.0},
        Case{"regression_perception_on_motivation_municipality_grades_1_3",
             1000.0}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

}  // namespace
}  // namespace kring::query
