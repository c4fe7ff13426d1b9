// The schools' noise (query/noise.h): the sensitivity derived from the
// layout, checked against adding and removing one pupil on real data for
// every statistic of the reference fixture; the noise plan's calibration;
// a school's noisy input and the coordinator's centred decoding.

#include "query/noise.h"

#include <cmath>
#include <cstdlib>

#include "crypto/noise.h"
#include "crypto/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "query/decode.h"
#include "query/layout.h"
#include "query/privacy.h"
#include "query/spec.h"
#include "query/statistics/helpers.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/zero_noise.h"
#include "tests/unit/query/fixture.h"

namespace kring::query {
namespace {

using testing::ExactSums;
using testing::FixtureSpecs;
using testing::MustCreate;

using ::kring::testing::StatusIs;
using ::testing::HasSubstr;
using testing::LoadSchools;
using testing::ReadFixture;
using testing::School;

// Adding or removing any one pupil of a school changes at most
// cells_per_record cells of its vector, each element e by at most
// per_element[e]. Tried for every pupil of three schools (one per
// municipality size) and every fixture query.
TEST(NoiseTest, OnePupilNeverChangesTheVectorByMoreThanTheSensitivity) {
  const std::vector<School> schools = LoadSchools();
  ASSERT_GE(schools.size(), 3u);
  size_t checked = 0;
  for (const testing::FixtureSpec& spec : FixtureSpecs()) {
    SCOPED_TRACE(spec.name);
    const Query q = MustCreate(spec.json);
    const Layout layout(q);
    const Sensitivity s = SensitivityOf(layout);
    ASSERT_EQ(s.per_element.size(), layout.cell_width());
    EXPECT_EQ(s.cells_per_record, size_t{1} << q.groups().size());
    for (size_t k = 0; k < 3; ++k) {
      const School& school = schools[k * (schools.size() / 3)];
      // A small school cap, so that cells cross it (noisy runs use the
      // plan's cap; one pupil moves min(respondents, cap) by at most 1).
      constexpr uint64_t kCap = 3;
      auto full =
          Contribution(layout, school.records, school.municipality, kCap);
      ASSERT_TRUE(full.ok()) << full.status();
      for (size_t drop = 0; drop < school.records.size(); ++drop) {
        std::vector<v1::PupilRecord> rest = school.records;
        rest.erase(rest.begin() + static_cast<ptrdiff_t>(drop));
        auto less = Contribution(layout, rest, school.municipality, kCap);
        ASSERT_TRUE(less.ok()) << less.status();
        size_t cells_changed = 0;
        for (size_t c = 0; c < layout.cell_count(); ++c) {
          bool changed = false;
          for (size_t e = 0; e < layout.cell_width(); ++e) {
            const size_t i = c * layout.cell_width() + e;
            const uint64_t a = (*full)[i], b = (*less)[i];
            const uint64_t diff = a > b ? a - b : b - a;
            ASSERT_LE(diff, s.per_element[e]) << layout.Describe(i);
            changed = changed || diff != 0;
          }
          cells_changed += changed ? 1 : 0;
        }
        ASSERT_LE(cells_changed, s.cells_per_record);
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 100u);
}

// The school indicator of a cell flips when its only pupil there leaves.
TEST(NoiseTest, TheSchoolIndicatorCountsInTheSensitivity) {
  const Query q = MustCreate(R"({"statistic": "count", "groupBy": ["track"]})");
  const Layout layout(q);
  EXPECT_EQ(SensitivityOf(layout).per_element[Layout::kSchools], 1u);
  EXPECT_EQ(SensitivityOf(layout).per_element[Layout::kRecords], 1u);
}

double Value(const crypto::Rational& r) {
  return static_cast<double>(r.num) / static_cast<double>(r.den);
}

// The plan spends at most the rho asked for; all of it (to rounding) unless
// the floor on each school's share (privacy::kMinShareSigma2) binds, which
// only adds noise.
TEST(NoiseTest, ThePlanSpendsAtMostTheRhoAsked) {
  const Query q = MustCreate(
      R"({"statistic": "mean", "measures": ["belong_perception"],
          "groupBy": ["track", "gender"]})");
  const Layout layout(q);
  const Sensitivity sens = SensitivityOf(layout);
  for (double rho : {0.01, 0.1, 1.0}) {
    for (uint32_t t : {3u, 10u, 100u}) {
      SCOPED_TRACE(::testing::Message() << "rho " << rho << " t " << t);
      auto plan = NoisePlan::Create(layout, rho, t, t + 5);
      ASSERT_TRUE(plan.ok()) << plan.status();
      EXPECT_LE(plan->rho(), rho);
      double floored = 0, total = 0;
      const auto cells = static_cast<double>(sens.cells_per_record);
      const auto others = static_cast<double>(layout.cell_width() - 1);
      for (size_t e = 0; e < layout.cell_width(); ++e) {
        // A third of rho for the school indicators, the rest in equal parts.
        const double share = e == Layout::kSchools
                                 ? rho * kSchoolsShare / cells
                                 : rho * (1 - kSchoolsShare) / (cells * others);
        const double s2 = Value(plan->share_sigma2(e));
        const double r = privacy::CoordinateRho(
            static_cast<double>(sens.per_element[e]), s2, t, t + 5);
        EXPECT_LE(r, share * (1 + 1e-12)) << layout.element_names()[e];
        if (s2 == privacy::kMinShareSigma2) {
          floored += r;
        } else {
          EXPECT_GE(r, 0.9 * share) << layout.element_names()[e];
        }
        total += r;
      }
      EXPECT_NEAR(plan->rho(),
                  total * static_cast<double>(sens.cells_per_record),
                  1e-12 * rho);
      if (floored == 0) {
        EXPECT_GE(plan->rho(), 0.9 * rho);
      }
      // More shares per sum: each school adds no more, and less where the
      // floor does not bind (the sums' sensitivity is large).
      auto wider = NoisePlan::Create(layout, rho, 2 * t, 2 * t + 5);
      ASSERT_TRUE(wider.ok());
      for (size_t e = 0; e < layout.cell_width(); ++e) {
        EXPECT_LE(Value(wider->share_sigma2(e)), Value(plan->share_sigma2(e)));
      }
      EXPECT_LT(Value(wider->share_sigma2(3)), Value(plan->share_sigma2(3)));
      // The bounds leave room for the data and both offsets; the school
      // indicator's data bound is the school cap.
      std::vector<uint64_t> data = layout.NodeBounds();
      for (size_t i = Layout::kSchools; i < data.size();
           i += layout.cell_width()) {
        data[i] = plan->school_cap();
      }
      const std::vector<uint64_t> bounds = plan->NodeBounds();
      ASSERT_EQ(bounds.size(), data.size());
      for (size_t i = 0; i < bounds.size(); ++i) {
        EXPECT_EQ(bounds[i],
                  data[i] + 2 * plan->offset(i % layout.cell_width()));
      }
    }
  }
}

TEST(NoiseTest, PlansRefuseInvalidArguments) {
  const Query q = MustCreate(R"({"statistic": "count"})");
  const Layout layout(q);
  EXPECT_THAT(NoisePlan::Create(layout, 0, 3, 5),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NoisePlan::Create(layout, -1, 3, 5),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NoisePlan::Create(layout, std::nan(""), 3, 5),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NoisePlan::Create(layout, 0.1, 0, 5),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NoisePlan::Create(layout, 0.1, 6, 5),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// A source that returns a fixed value: shows where noise goes.
class ConstantNoise final : public NoiseSource {
 public:
  explicit ConstantNoise(int64_t v) : v_(v) {}
  absl::StatusOr<std::vector<int64_t>> Sample(const crypto::Rational&,
                                              size_t count) override {
    return std::vector<int64_t>(count, v_);
  }

 private:
  int64_t v_;
};

TEST(NoiseTest, OffsetsCancelAndTheNoiseOfEverySchoolStaysInTheSum) {
  const std::vector<School> schools = LoadSchools();
  const Query q = MustCreate(
      R"({"statistic": "mean", "measures": ["belong_perception"],
          "groupBy": ["gender"]})");
  const Layout layout(q);
  const auto n = static_cast<uint32_t>(schools.size());
  auto plan = NoisePlan::Create(layout, 0.1, 3, n);
  ASSERT_TRUE(plan.ok()) << plan.status();
  for (int64_t noise : {int64_t{0}, int64_t{-2}, int64_t{3}}) {
    ConstantNoise source(noise);
    std::vector<uint64_t> sum(layout.size(), 0), exact(layout.size(), 0);
    for (const School& s : schools) {
      auto c = Contribution(layout, s.records, s.municipality);
      ASSERT_TRUE(c.ok());
      auto input = NoisyInput(*plan, *c, source);
      ASSERT_TRUE(input.ok()) << input.status();
      const std::vector<uint64_t> bounds = plan->NodeBounds();
      for (size_t i = 0; i < sum.size(); ++i) {
        ASSERT_LE((*input)[i], bounds[i]);
        sum[i] += (*input)[i];
        exact[i] += (*c)[i];
      }
    }
    auto noisy = RemoveOffsets(*plan, sum, n);
    ASSERT_TRUE(noisy.ok());
    for (size_t i = 0; i < sum.size(); ++i) {
      ASSERT_EQ((*noisy)[i], static_cast<int64_t>(exact[i]) +
                                 noise * static_cast<int64_t>(n));
    }
  }
}

TEST(NoiseTest, ASampleBeyondItsOffsetIsNeverSent) {
  const Query q = MustCreate(R"({"statistic": "count"})");
  const Layout layout(q);
  auto plan = NoisePlan::Create(layout, 0.1, 3, 5);
  ASSERT_TRUE(plan.ok());
  const std::vector<uint64_t> zeros(layout.size(), 0);
  for (int64_t sign : {1, -1}) {
    ConstantNoise huge(sign * static_cast<int64_t>(plan->offset(0) + 1));
    EXPECT_THAT(
        NoisyInput(*plan, zeros, huge),
        StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("2^-40")));
  }
  EXPECT_THAT(NoisyInput(*plan, std::vector<uint64_t>(1, 0),
                         kring::testing::ZeroNoiseSource()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(NoiseTest, TheSystemSourceAddsNoise) {
  const Query q = MustCreate(R"({"statistic": "count"})");
  const Layout layout(q);
  auto plan = NoisePlan::Create(layout, 0.1, 3, 5);
  ASSERT_TRUE(plan.ok());
  // With share variances of several units, 20 draws all equal to the
  // offset (zero noise) happen with probability far below 1e-12.
  const std::vector<uint64_t> zeros(layout.size(), 0);
  bool any = false;
  for (int i = 0; i < 20 && !any; ++i) {
    auto input = NoisyInput(*plan, zeros, SystemNoise());
    ASSERT_TRUE(input.ok());
    any = (*input)[Layout::kRecords] != plan->offset(Layout::kRecords);
  }
  EXPECT_TRUE(any);
}

TEST(NoiseTest, NoisySumsAreClampedAndImpossibleCellsKeepNoFigures) {
  const Query q =
      MustCreate(R"({"statistic": "mean", "measures": ["belong_perception"]})");
  const Layout layout(q);
  ASSERT_EQ(layout.cell_count(), 1u);
  // records 40, n 60: the records are raised to 60; the sum is raised to
  // 60 times the smallest value, the sum of squares to make the variance
  // 0: a mean on the scale, an SD of 0.
  auto plan = NoisePlan::Create(layout, 0.1, 3, 45);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_GT(plan->school_cap(), 50u);
  std::vector<int64_t> noisy = {40, 50, 60, 5, 1};
  auto r = DecodeNoisy(layout, *plan, noisy, 45);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cells[0].records, 60u);
  EXPECT_EQ(r->cells[0].respondents, 60u);
  EXPECT_EQ(r->cells[0].schools, 1u);  // an indicator sum of 50: one school
  const Measure& m = q.measures()[0];
  std::map<std::string, double> figures;
  for (const Figure& f : r->cells[0].figures) figures[f.stat] = f.value;
  EXPECT_DOUBLE_EQ(figures["mean"], static_cast<double>(m.min_scaled) /
                                        static_cast<double>(m.scale_factor));
  EXPECT_DOUBLE_EQ(figures["sd"], 0.0);
  // A sum above the scale: the mean is its largest value.
  noisy = {40, 3, 40, 1'000'000, 1};
  r = DecodeNoisy(layout, *plan, noisy, 45);
  ASSERT_TRUE(r.ok()) << r.status();
  for (const Figure& f : r->cells[0].figures) figures[f.stat] = f.value;
  EXPECT_DOUBLE_EQ(figures["mean"], static_cast<double>(m.max_scaled) /
                                        static_cast<double>(m.scale_factor));
  // Respondents but no school: one school, so too few schools suppress it.
  noisy = {40, 0, 40, 100, 400};
  r = DecodeNoisy(layout, *plan, noisy, 45);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cells[0].respondents, 40u);
  EXPECT_EQ(r->cells[0].schools, 1u);
  EXPECT_FALSE(r->cells[0].figures.empty());
  // Never more schools than contributed.
  noisy = {40, 1'000'000, 40, 100, 400};
  r = DecodeNoisy(layout, *plan, noisy, 5);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cells[0].schools, 5u);
  // Negative noisy counts are read as 0: no figures, no error.
  noisy = {-3, -1, -2, -50, 7};
  r = DecodeNoisy(layout, *plan, noisy, 30);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cells[0].records, 0u);
  EXPECT_THAT(DecodeNoisy(layout, *plan, std::vector<int64_t>(3, 0), 3),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// With the noise of a real run on the fixture's 24 schools, the decoders of
// means, shares, distributions and counts never give up on a cell: the
// post-processing keeps every noisy cell decodable.
TEST(NoiseTest, NoisySumsOfRealDataAlwaysDecode) {
  const std::vector<School> schools = LoadSchools();
  const auto n = static_cast<uint32_t>(schools.size());
  crypto::DeterministicRandom rng(7);
  size_t cells = 0;
  for (const testing::FixtureSpec& spec : FixtureSpecs()) {
    const Query q = MustCreate(spec.json);
    if (q.statistic() != Statistic::kMean &&
        q.statistic() != Statistic::kProportion &&
        q.statistic() != Statistic::kDistribution &&
        q.statistic() != Statistic::kCount) {
      continue;
    }
    SCOPED_TRACE(spec.name);
    const Layout layout(q);
    auto plan = NoisePlan::Create(layout, 0.1, 3, n);
    ASSERT_TRUE(plan.ok()) << plan.status();
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<int64_t> noisy(layout.size(), 0);
      for (const School& s : schools) {
        auto c =
            Contribution(layout, s.records, s.municipality, plan->school_cap());
        ASSERT_TRUE(c.ok());
        for (size_t i = 0; i < noisy.size(); ++i) {
          noisy[i] += static_cast<int64_t>((*c)[i]);
        }
      }
      for (size_t i = 0; i < noisy.size(); ++i) {
        crypto::Rational total = plan->share_sigma2(i % layout.cell_width());
        total.num *= n;
        auto x = crypto::SampleDiscreteGaussian(total, rng);
        ASSERT_TRUE(x.ok()) << x.status();
        noisy[i] += *x;
      }
      auto r = DecodeNoisy(layout, *plan, noisy, n);
      ASSERT_TRUE(r.ok()) << r.status();
      for (const CellResult& cell : r->cells) {
        EXPECT_THAT(cell.notes, ::testing::Not(::testing::Contains(
                                    HasSubstr("noise that protects"))))
            << cell.name;
        ++cells;
      }
    }
  }
  EXPECT_GT(cells, 100u);
}

// Confidence intervals of means and shares include the noise: wider than
// the sampling interval, by the stated noise SD; shares stay in [0, 1].
TEST(NoiseTest, IntervalsOfMeansAndSharesIncludeTheNoise) {
  const std::vector<School> schools = LoadSchools();
  const auto n = static_cast<uint32_t>(schools.size());
  for (const char* json :
       {R"({"statistic": "mean", "measures": ["belong_perception"],
            "groupBy": ["gender"]})",
        R"({"statistic": "proportion", "measures": ["belong_perception"],
            "cutoff": 2.5, "direction": "below", "groupBy": ["gender"]})"}) {
    SCOPED_TRACE(json);
    const Query q = MustCreate(json);
    const Layout layout(q);
    const std::vector<uint64_t> sum = ExactSums(layout, schools);
    auto exact = Decode(layout, sum);
    ASSERT_TRUE(exact.ok());
    Result noisy = *exact;
    auto plan = NoisePlan::Create(layout, 0.1, 3, n);
    ASSERT_TRUE(plan.ok());
    AddNoiseToResult(layout, *plan, n, noisy);
    size_t widened = 0;
    for (size_t c = 0; c < noisy.cells.size(); ++c) {
      const auto& before = exact->cells[c].figures;
      const auto& after = noisy.cells[c].figures;
      const Figure* sd =
          statistics::FindFigure(after, "belong_perception", "noise_sd");
      const Figure* low0 =
          statistics::FindFigure(before, "belong_perception", "ci_low");
      const Figure* high0 =
          statistics::FindFigure(before, "belong_perception", "ci_high");
      if (low0 == nullptr) continue;
      ASSERT_NE(sd, nullptr) << noisy.cells[c].name;
      EXPECT_GT(sd->value, 0);
      const double low =
          statistics::FindFigure(after, "belong_perception", "ci_low")->value;
      const double high =
          statistics::FindFigure(after, "belong_perception", "ci_high")->value;
      EXPECT_LE(low, low0->value);
      EXPECT_GE(high, high0->value);
      EXPECT_GE(high - low, high0->value - low0->value);
      // Shares within [0, 1], means within their scale (1..4).
      EXPECT_GE(low, q.statistic() == Statistic::kProportion ? 0.0 : 1.0);
      EXPECT_LE(high, q.statistic() == Statistic::kProportion ? 1.0 : 4.0);
      ++widened;
    }
    EXPECT_GT(widened, 1u);
  }
}

// Each answer share of a distribution has a Wilson interval, widened by its
// noise in a release and kept in [0, 1]; each item-rest correlation of a
// release has a Fisher z interval that includes its noise.
TEST(NoiseTest, IntervalsOfAnswerSharesAndItemRestCorrelations) {
  const std::vector<School> schools = LoadSchools();
  const auto n = static_cast<uint32_t>(schools.size());
  auto decoded = [&](const Query& q, Result& exact, Result& noisy) {
    const Layout layout(q);
    const std::vector<uint64_t> sum = ExactSums(layout, schools);
    auto r = Decode(layout, sum);
    ASSERT_TRUE(r.ok());
    exact = *r;
    noisy = *r;
    auto plan = NoisePlan::Create(layout, 0.1, 3, n);
    ASSERT_TRUE(plan.ok());
    AddNoiseToResult(layout, *plan, n, noisy);
  };
  Result exact, noisy;
  decoded(MustCreate(R"({"statistic": "distribution", "measures": ["ST034Q01"],
                         "groupBy": ["gender"]})"),
          exact, noisy);
  size_t shares = 0;
  for (size_t c = 0; c < noisy.cells.size(); ++c) {
    for (const Figure& f : exact.cells[c].figures) {
      if (!f.stat.starts_with("share_")) continue;
      const std::string code = f.stat.substr(6);
      const auto get = [&](const Result& r, const std::string& stat) {
        const Figure* g =
            statistics::FindFigure(r.cells[c].figures, "ST034Q01", stat);
        EXPECT_NE(g, nullptr) << stat;
        return g == nullptr ? std::nan("") : g->value;
      };
      const double low0 = get(exact, "ci_low_" + code);
      const double high0 = get(exact, "ci_high_" + code);
      EXPECT_LE(low0, f.value);
      EXPECT_GE(high0, f.value);
      const double low = get(noisy, "ci_low_" + code);
      const double high = get(noisy, "ci_high_" + code);
      EXPECT_GT(get(noisy, "noise_sd_share_" + code), 0);
      EXPECT_LE(low, low0);
      EXPECT_GE(high, high0);
      EXPECT_GT(high - low, high0 - low0);
      EXPECT_GE(low, 0.0);
      EXPECT_LE(high, 1.0);
      ++shares;
    }
  }
  EXPECT_GT(shares, 8u);
  decoded(MustCreate(R"({"statistic": "reliability",
                         "measures": ["belong_perception"]})"),
          exact, noisy);
  size_t items = 0;
  for (const Figure& f : noisy.cells[0].figures) {
    if (f.stat != "item_rest_r") continue;
    const auto& figures = noisy.cells[0].figures;
    const Figure* low = statistics::FindFigure(figures, f.measure, "ci_low");
    const Figure* high = statistics::FindFigure(figures, f.measure, "ci_high");
    const Figure* sd = statistics::FindFigure(figures, f.measure, "noise_sd");
    ASSERT_NE(low, nullptr) << f.measure;
    ASSERT_NE(high, nullptr) << f.measure;
    ASSERT_NE(sd, nullptr) << f.measure;
    EXPECT_LT(low->value, f.value);
    EXPECT_GT(high->value, f.value);
    EXPECT_GE(low->value, -1.0);
    EXPECT_LE(high->value, 1.0);
    // Wider than the interval without noise.
    double low0 = 0, high0 = 0;
    const Figure* nn =
        statistics::FindFigure(figures, "belong_perception", "n");
    ASSERT_NE(nn, nullptr);
    ASSERT_TRUE(
        statistics::NoisyFisherInterval(f.value, nn->value, 0, low0, high0));
    EXPECT_GT(high->value - low->value, high0 - low0);
    ++items;
  }
  EXPECT_GE(items, 3u);
}

TEST(NoiseTest, NoiseVarianceGrowsWithTheSchoolsThatAddIt) {
  const Query q = MustCreate(R"({"statistic": "count"})");
  const Layout layout(q);
  auto plan = NoisePlan::Create(layout, 0.1, 3, 10);
  ASSERT_TRUE(plan.ok());
  const double s2 = Value(plan->share_sigma2(0));
  EXPECT_NEAR(plan->NoiseVariance(0, 3), 3 * s2, 1e-9 * s2);
  EXPECT_NEAR(plan->NoiseVariance(0, 10), 10 * s2, 1e-9 * s2);
}

}  // namespace
}  // namespace kring::query
