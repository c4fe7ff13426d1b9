// Noise-aware figures of every statistic kind (AddNoiseToResult and the
// post-processing of DecodeNoisy): without noise nothing changes; with
// noise every noisy figure has its noise SD and its interval includes it;
// impossible noisy sums (negative n, shares outside [0, 1], cross-product
// matrices that are not positive semidefinite) decode to valid figures or
// to a cell without figures and a note, never to NaN. The Monte Carlo
// checks of the stated SDs are in tests/statistical/noise_figures_test.cc.

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "crypto/noise.h"
#include "crypto/random.h"
#include "gmock/gmock.h"
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

using testing::ExactSums;
using testing::FixtureSpecs;
using testing::MustCreate;

using testing::LoadSchools;
using testing::ReadFixture;
using testing::School;

bool IsNoiseSd(const std::string& stat) { return stat.starts_with("noise_sd"); }

// Every figure of `r`, the table's included, is a finite number, and
// those with a range are in it.
void ExpectValid(const Result& r) {
  auto check = [](const Figure& f, const std::string& where) {
    ASSERT_TRUE(std::isfinite(f.value))
        << where << " " << f.measure << " " << f.stat;
    if (f.stat == "r" || f.stat == "item_rest_r" || f.stat == "r2" ||
        f.stat == "row_share" || f.stat.starts_with("share_") ||
        f.stat == "p") {
      EXPECT_GE(f.value, f.stat == "r" || f.stat == "item_rest_r" ? -1 : 0)
          << where << " " << f.measure << " " << f.stat;
      EXPECT_LE(f.value, 1) << where << " " << f.measure << " " << f.stat;
    }
    if (f.stat == "alpha") {
      EXPECT_LE(f.value, 1) << where;
    }
    if (IsNoiseSd(f.stat)) {
      EXPECT_GE(f.value, 0) << where;
    }
  };
  for (const CellResult& c : r.cells) {
    for (const Figure& f : c.figures) check(f, c.name);
    for (const Figure& f : c.figures) {
      if (f.stat != "ci_low") continue;
      const Figure* high =
          statistics::FindFigure(c.figures, f.measure, "ci_high");
      ASSERT_NE(high, nullptr) << c.name << " " << f.measure;
      EXPECT_LE(f.value, high->value) << c.name << " " << f.measure;
    }
  }
  for (const Figure& f : r.table) check(f, "table");
}

// With no noise (shares == 0) AddNoiseToResult keeps every decoded figure
// exactly, adds noise SDs of 0, and the intervals it adds are sampling
// intervals around the estimate; DecodeNoisy of exact sums decodes them
// exactly as Decode does (the repairs never touch possible sums).
TEST(NoiseFiguresTest, WithoutNoiseEveryKindIsExact) {
  const std::vector<School> schools = LoadSchools();
  std::set<Statistic> kinds;
  for (const testing::FixtureSpec& spec : FixtureSpecs()) {
    SCOPED_TRACE(spec.name);
    const Query q = MustCreate(spec.json);
    const Layout layout(q);
    const std::vector<uint64_t> sums = ExactSums(layout, schools);
    auto exact = Decode(layout, sums);
    ASSERT_TRUE(exact.ok()) << exact.status();
    auto plan = NoisePlan::Create(layout, 0.1, 3, 24);
    ASSERT_TRUE(plan.ok()) << plan.status();
    Result zero = *exact;
    AddNoiseToResult(layout, *plan, 0, zero);
    ExpectValid(zero);
    std::map<std::string, double> before = exact->Flat(), after = zero.Flat();
    for (const auto& [key, value] : before) {
      ASSERT_TRUE(after.count(key)) << key;
      EXPECT_EQ(after[key], value) << key;
    }
    for (const auto& [key, value] : after) {
      if (before.count(key)) continue;
      const std::string stat = key.substr(key.rfind('|') + 1);
      if (IsNoiseSd(stat)) {
        EXPECT_EQ(value, 0) << key;
      } else if (stat == "noise_factor") {
        EXPECT_EQ(value, 1) << key;
      } else {
        EXPECT_TRUE(stat == "ci_low" || stat == "ci_high") << key;
      }
    }
    // Regression intervals without noise: b -+ t_0.975(df) se.
    for (const CellResult& c : zero.cells) {
      for (const Figure& f : c.figures) {
        if (f.stat != "b") continue;
        const double b = f.value;
        const double se =
            statistics::FindFigure(c.figures, f.measure, "se")->value;
        const double low =
            statistics::FindFigure(c.figures, f.measure, "ci_low")->value;
        const double high =
            statistics::FindFigure(c.figures, f.measure, "ci_high")->value;
        EXPECT_NEAR(b - low, high - b, 1e-12 * (1 + std::fabs(b)));
        EXPECT_GT(high - b, 1.9 * se);
        EXPECT_LT(high - b, 2.1 * se);
      }
    }
    // DecodeNoisy of the exact sums with no noise in them (0 shares): the
    // same figures. (With noise, a regression level within three noise SDs
    // of 0 loses its dummy: ALevelThatMayBeNoiseOnlyGetsNoCoefficient.)
    std::vector<int64_t> as_noisy(sums.begin(), sums.end());
    auto again = DecodeNoisy(layout, *plan, as_noisy, 0);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->Flat(), exact->Flat());
    kinds.insert(q.statistic());
  }
  EXPECT_EQ(kinds.size(), 8u);
}

// The stat a noise SD figure describes, or "" if the cell lacks it.
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

// With noise, every figure that carries it has a positive noise SD and
// every interval is at least as wide as without noise.
TEST(NoiseFiguresTest, EveryNoisyFigureHasItsNoiseSd) {
  const std::vector<School> schools = LoadSchools();
  for (const testing::FixtureSpec& spec : FixtureSpecs()) {
    SCOPED_TRACE(spec.name);
    const Query q = MustCreate(spec.json);
    const Layout layout(q);
    auto exact = Decode(layout, ExactSums(layout, schools));
    ASSERT_TRUE(exact.ok());
    auto plan = NoisePlan::Create(layout, 1.0, 3, 24);
    ASSERT_TRUE(plan.ok());
    Result zero = *exact, noisy = *exact;
    AddNoiseToResult(layout, *plan, 0, zero);
    AddNoiseToResult(layout, *plan, 24, noisy);
    ExpectValid(noisy);
    // Statistics whose every estimate must have a noise SD.
    const std::set<std::string> estimates = {"count", "mean",  "p",
                                             "r",     "alpha", "item_rest_r",
                                             "b",     "r2",    "row_share"};
    for (size_t i = 0; i < noisy.cells.size(); ++i) {
      const CellResult& c = noisy.cells[i];
      std::set<std::pair<std::string, std::string>> covered;
      for (const Figure& f : c.figures) {
        if (!IsNoiseSd(f.stat)) continue;
        EXPECT_GT(f.value, 0) << c.name << " " << f.measure << " " << f.stat;
        const std::string stat = Described(c, f);
        EXPECT_NE(statistics::FindFigure(c.figures, f.measure, stat), nullptr)
            << c.name << " " << f.measure << " " << f.stat;
        covered.insert({f.measure, stat});
      }
      for (const Figure& f : c.figures) {
        const bool estimate = estimates.count(f.stat) > 0 ||
                              f.stat.starts_with("share_") ||
                              f.stat.starts_with("count_");
        if (estimate &&
            !(f.stat == "p" && q.statistic() != Statistic::kProportion)) {
          EXPECT_TRUE(covered.count({f.measure, f.stat}))
              << c.name << " " << f.measure << " " << f.stat << " has no SD";
        }
        if (f.stat != "ci_low") continue;
        // The noisy interval holds the sampling interval, as far as that
        // lies in the figure's range (a mean's scale).
        double lo = -HUGE_VAL, hi = HUGE_VAL;
        if (q.statistic() == Statistic::kMean) {
          for (const Measure& m : q.measures()) {
            if (m.id != f.measure) continue;
            lo = static_cast<double>(m.min_scaled) / m.scale_factor;
            hi = static_cast<double>(m.max_scaled) / m.scale_factor;
          }
        }
        const double low0 =
            statistics::FindFigure(zero.cells[i].figures, f.measure, "ci_low")
                ->value;
        const double high0 =
            statistics::FindFigure(zero.cells[i].figures, f.measure, "ci_high")
                ->value;
        const double high =
            statistics::FindFigure(c.figures, f.measure, "ci_high")->value;
        EXPECT_LE(f.value, std::max(low0, lo) + 1e-12)
            << c.name << " " << f.measure;
        EXPECT_GE(high, std::min(high0, hi) - 1e-12)
            << c.name << " " << f.measure;
      }
    }
  }
}

// Sums of real data with heavy noise (rho 0.001, 24 schools): every cell
// of every kind decodes to finite figures within their ranges or to no
// figures with a note.
TEST(NoiseFiguresTest, HeavyNoiseNeverGivesInvalidFigures) {
  const std::vector<School> schools = LoadSchools();
  crypto::DeterministicRandom rng(11);
  size_t cells = 0;
  for (const testing::FixtureSpec& spec : FixtureSpecs()) {
    SCOPED_TRACE(spec.name);
    const Query q = MustCreate(spec.json);
    const Layout layout(q);
    const std::vector<uint64_t> sums = ExactSums(layout, schools);
    for (double rho : {0.001, 0.1}) {
      auto plan = NoisePlan::Create(layout, rho, 3, 24);
      ASSERT_TRUE(plan.ok()) << plan.status();
      for (int trial = 0; trial < 10; ++trial) {
        std::vector<int64_t> noisy(sums.begin(), sums.end());
        for (size_t i = 0; i < noisy.size(); ++i) {
          crypto::Rational total = plan->share_sigma2(i % layout.cell_width());
          total.num *= 24;
          auto x = crypto::SampleDiscreteGaussian(total, rng);
          ASSERT_TRUE(x.ok()) << x.status();
          noisy[i] += *x;
        }
        auto r = DecodeNoisy(layout, *plan, noisy, 24);
        ASSERT_TRUE(r.ok()) << r.status();
        AddNoiseToResult(layout, *plan, 24, *r);
        ExpectValid(*r);
        cells += r->cells.size();
      }
    }
  }
  EXPECT_GT(cells, 1000u);
}

// A one-cell query's noisy sums, decoded with noise SDs added.
Result DecodeOne(const Layout& layout, std::vector<int64_t> block) {
  block.resize(layout.size(), 0);
  auto plan = NoisePlan::Create(layout, 0.1, 3, 10);
  EXPECT_TRUE(plan.ok());
  auto r = DecodeNoisy(layout, *plan, block, 10);
  EXPECT_TRUE(r.ok()) << r.status();
  AddNoiseToResult(layout, *plan, 10, *r);
  ExpectValid(*r);
  return *std::move(r);
}

double Get(const Result& r, const std::string& measure,
           const std::string& stat) {
  const Figure* f = statistics::FindFigure(r.cells[0].figures, measure, stat);
  EXPECT_NE(f, nullptr) << measure << " " << stat;
  return f == nullptr ? std::nan("") : f->value;
}

TEST(NoiseFiguresTest, CorrelationsOfImpossibleSumsAreRepaired) {
  const Query q = MustCreate(
      R"({"statistic": "correlation", "measures": ["ST034Q01", "ST034Q02"]})");
  const Layout layout(q);
  ASSERT_EQ(layout.cell_width(), 8u);
  // records, schools, n, sum x, sum y, xx, xy, yy.
  // |C_xy| > sqrt(C_xx C_yy): r would be 5.
  Result r = DecodeOne(layout, {10, 5, 10, 25, 25, 70, 100, 70});
  EXPECT_LE(Get(r, "ST034Q01~ST034Q02", "r"), 1.0);
  EXPECT_GT(Get(r, "ST034Q01~ST034Q02", "r"), 0.9);
  EXPECT_GT(Get(r, "ST034Q01~ST034Q02", "noise_sd"), 0);
  // A negative variance (sum xx < (sum x)^2 / n) and a negative n.
  r = DecodeOne(layout, {10, 5, 10, 25, 25, 50, 60, 70});
  EXPECT_EQ(r.cells[0].records, 10u);
  r = DecodeOne(layout, {10, 5, -4, 25, 25, 50, 60, 70});
  EXPECT_EQ(r.cells[0].respondents, 0u);
  EXPECT_EQ(
      statistics::FindFigure(r.cells[0].figures, "ST034Q01~ST034Q02", "r"),
      nullptr);
  // Reliability: alpha stays at most 1.
  const Query rel = MustCreate(
      R"({"statistic": "reliability", "measures": ["belong_perception"]})");
  const Layout rl(rel);
  std::vector<int64_t> block(rl.cell_width(), 0);
  block[0] = block[Layout::kStats] = 40;
  block[1] = 5;
  for (size_t i = 0; i < rl.columns(); ++i) {
    block[rl.SumOffset(i)] = 100;
    for (size_t j = i; j < rl.columns(); ++j) {
      // Diagonal 260 (variance 0.25), off-diagonal 400: not PSD.
      block[rl.ProductOffset(i, j)] = i == j ? 260 : 400;
    }
  }
  r = DecodeOne(rl, block);
  EXPECT_LE(Get(r, "belong_perception", "alpha"), 1.0);
  EXPECT_LE(Get(r, "belong_perception", "ci_high"), 1.0);
}

TEST(NoiseFiguresTest, ARegressionOnANonPositiveDefiniteMatrixIsRepaired) {
  const Query q = MustCreate(
      R"({"statistic": "regression", "measures": ["belong_perception"],
          "predictors": ["belong_opportunities", "belong_competencies"]})");
  const Layout layout(q);
  const std::vector<School> schools = LoadSchools();
  const std::vector<uint64_t> sums = ExactSums(layout, schools);
  std::vector<int64_t> block(sums.begin(), sums.end());
  // Make the two predictors "more than perfectly" correlated: C_12 far
  // beyond sqrt(C_11 C_22).
  const int64_t n = block[Layout::kStats];
  const size_t p12 = layout.ProductOffset(0, 1);
  const double s1 = static_cast<double>(block[layout.SumOffset(0)]);
  const double s2 = static_cast<double>(block[layout.SumOffset(1)]);
  const double c11 =
      static_cast<double>(n * block[layout.ProductOffset(0, 0)]) - s1 * s1;
  const double c22 =
      static_cast<double>(n * block[layout.ProductOffset(1, 1)]) - s2 * s2;
  block[p12] = static_cast<int64_t>((3 * std::sqrt(c11 * c22) + s1 * s2) /
                                    static_cast<double>(n));
  Result r = DecodeOne(layout, block);
  const CellResult& cell = r.cells[0];
  if (cell.figures.size() <= 1) {
    EXPECT_FALSE(cell.notes.empty());
  } else {
    const double r2 = Get(r, "belong_perception", "r2");
    EXPECT_GE(r2, 0);
    EXPECT_LE(r2, 1);
    EXPECT_GT(Get(r, "belong_perception~belong_opportunities", "noise_sd"), 0);
  }
  // The exact block decodes to the same coefficients as without repair.
  auto exact = Decode(layout, sums);
  ASSERT_TRUE(exact.ok());
  std::vector<int64_t> same(sums.begin(), sums.end());
  auto same_plan = NoisePlan::Create(layout, 0.1, 3, 24);
  ASSERT_TRUE(same_plan.ok());
  auto again = DecodeNoisy(layout, *same_plan, same, 24);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->Flat(), exact->Flat());
}

// A level whose noisy count cannot be told from noise (within three noise
// SDs of 0) gets no dummy and the cell says so; levels with many pupils
// keep theirs.
TEST(NoiseFiguresTest, ALevelThatMayBeNoiseOnlyGetsNoCoefficient) {
  const Query q = MustCreate(
      R"({"statistic": "regression", "measures": ["belong_perception"],
          "predictors": ["belong_opportunities", "gender"]})");
  const Layout layout(q);
  const std::vector<uint64_t> sums = ExactSums(layout, LoadSchools());
  auto plan = NoisePlan::Create(layout, 0.1, 3, 10);
  ASSERT_TRUE(plan.ok());
  const std::vector<std::string>& names = layout.design_names();
  std::vector<size_t> levels;
  for (size_t col = 0; col < names.size(); ++col) {
    if (names[col].find('=') != std::string::npos) levels.push_back(col);
  }
  ASSERT_GE(levels.size(), 2u);
  // The level with the most pupils after the first (the reference).
  size_t last = levels[1];
  for (size_t col : levels) {
    if (col != levels[0] &&
        sums[layout.SumOffset(col)] > sums[layout.SumOffset(last)]) {
      last = col;
    }
  }
  const double sd = std::sqrt(plan->NoiseVariance(layout.SumOffset(last), 10));
  ASSERT_GT(static_cast<double>(sums[layout.SumOffset(last)]), 3 * sd);
  const std::string key = "belong_perception~" + names[last];
  std::vector<int64_t> block(sums.begin(), sums.end());
  Result r = DecodeOne(layout, block);
  EXPECT_NE(statistics::FindFigure(r.cells[0].figures, key, "b"), nullptr);
  // The last level's count now as an empty level's could come out noisy.
  block[layout.SumOffset(last)] = static_cast<int64_t>(3 * sd);
  r = DecodeOne(layout, block);
  EXPECT_EQ(statistics::FindFigure(r.cells[0].figures, key, "b"), nullptr);
  EXPECT_THAT(r.cells[0].notes, ::testing::Contains(::testing::HasSubstr(
                                    "too few pupils to tell from the "
                                    "noise")));
  EXPECT_NE(
      statistics::FindFigure(r.cells[0].figures,
                             "belong_perception~belong_opportunities", "b"),
      nullptr);
}

TEST(NoiseFiguresTest, DistributionSharesStayInRangeAndSumToOne) {
  const Query q =
      MustCreate(R"({"statistic": "distribution", "measures": ["ST034Q01"]})");
  const Layout layout(q);
  const size_t at = layout.DistributionOffset(0);
  std::vector<int64_t> block(layout.cell_width(), 0);
  block[0] = 20;
  block[1] = 4;
  block[at] = -7;  // a negative count
  block[at + 1] = 30;
  block[at + 2] = 12;
  block[at + 3] = 2;
  Result r = DecodeOne(layout, block);
  EXPECT_EQ(r.cells[0].records, 44u);  // raised to the answers' n
  double total = 0;
  for (const Figure& f : r.cells[0].figures) {
    if (!f.stat.starts_with("share_")) continue;
    EXPECT_GE(f.value, 0);
    EXPECT_LE(f.value, 1);
    total += f.value;
  }
  EXPECT_NEAR(total, 1.0, 1e-12);
  EXPECT_GT(Get(r, "ST034Q01", "noise_sd_n"), 0);
  // n's noise: the sum of the answers' noise variances.
  const double count_sd = Get(r, "ST034Q01", "noise_sd_count_1");
  EXPECT_NEAR(Get(r, "ST034Q01", "noise_sd_n"), 2 * count_sd, 1e-9);
}

// The crosstab's chi-square p-value accounts for the noise (never smaller
// than without it) and says by how much it may inflate the statistic.
TEST(NoiseFiguresTest, TheChiSquarePValueAccountsForTheNoise) {
  const Query q = MustCreate(
      R"({"statistic": "crosstab", "groupBy": ["track", "gender"]})");
  const Layout layout(q);
  auto exact = Decode(layout, ExactSums(layout, LoadSchools()));
  ASSERT_TRUE(exact.ok());
  auto plan = NoisePlan::Create(layout, 0.1, 3, 24);
  ASSERT_TRUE(plan.ok());
  Result noisy = *exact;
  AddNoiseToResult(layout, *plan, 24, noisy);
  const Figure* p0 = statistics::FindFigure(exact->table, "-", "p");
  const Figure* p = statistics::FindFigure(noisy.table, "-", "p");
  const Figure* factor =
      statistics::FindFigure(noisy.table, "-", "noise_factor");
  ASSERT_NE(p0, nullptr);
  ASSERT_NE(p, nullptr);
  ASSERT_NE(factor, nullptr);
  EXPECT_GT(factor->value, 1.0);
  EXPECT_GE(p->value, p0->value);
  // Row shares carry the cell's and the margin's noise.
  for (const CellResult& c : noisy.cells) {
    if (statistics::FindFigure(c.figures, "-", "row_share") == nullptr)
      continue;
    const double sd =
        statistics::FindFigure(c.figures, "-", "noise_sd_row_share")->value;
    const int margin[] = {c.levels[0], kMargin};
    const double m =
        static_cast<double>(noisy.cells[layout.CellIndex(margin)].records);
    EXPECT_GE(sd, std::sqrt(plan->NoiseVariance(0, 24)) / m) << c.name;
  }
}

}  // namespace
}  // namespace kring::query
