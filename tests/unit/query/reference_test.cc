// Exactness, checked independently: kring's federated statistics against
// values computed by pandas/scipy/statsmodels on the pooled fixture
// (tests/fixtures/query/make_reference.py), and federated == pooled for
// random splits of the pupils over schools.

#include <cmath>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "query/decode.h"
#include "query/layout.h"
#include "query/spec.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/query/fixture.h"

namespace kring::query {
namespace {

using testing::LoadSchools;
using testing::ReadFixture;
using testing::School;

constexpr double kRelativeTolerance = 1e-9;
// For p-values below 1e-12: |log p - log p_ref| (a relative error of p of
// 1e-6; the reference's own two computations differ by 7e-11 there).
constexpr double kTailLogTolerance = 1e-6;

struct Case {
  std::string name;
  std::string spec_json;
  std::map<std::string, double> values;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> LoadCases() {
  auto j = nlohmann::json::parse(ReadFixture("expected.json"));
  std::vector<Case> out;
  for (const auto& c : j["cases"]) {
    Case k{c["name"], c["spec"].dump(), {}};
    for (const auto& [key, v] : c["values"].items()) {
      k.values[key] = v.get<double>();
    }
    out.push_back(std::move(k));
  }
  return out;
}

// Sums the schools' contributions, as secure aggregation would.
absl::StatusOr<Result> Federated(const Layout& layout,
                                 const std::vector<School>& schools) {
  std::vector<uint64_t> sum(layout.size(), 0);
  for (const School& s : schools) {
    auto v = Contribution(layout, s.records, s.municipality);
    if (!v.ok()) return v.status();
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += (*v)[i];
  }
  return Decode(layout, sum);
}

// Relative agreement; p-values far out in the tail (below 1e-12) are
// compared on the log scale, where two correct implementations of the t
// and chi-square tails agree (they differ in the 11th digit of p there).
bool Agrees(const std::string& key, double expected, double actual) {
  if (expected == 0) return std::fabs(actual) <= 1e-300;
  const bool tail_p = key.ends_with("|p") && expected < 1e-12;
  if (tail_p) {
    return actual > 0 && std::fabs(std::log(actual) - std::log(expected)) <=
                             kTailLogTolerance;
  }
  return std::fabs(actual - expected) <=
         kRelativeTolerance * std::fabs(expected);
}

class ReferenceTest : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() { schools_ = new auto(LoadSchools()); }
  static std::vector<School>* schools_;
};
std::vector<School>* ReferenceTest::schools_ = nullptr;

TEST_P(ReferenceTest, MatchesIndependentPackage) {
  const Case& c = GetParam();
  ASSERT_EQ(schools_->size(), 24u);
  KRING_ASSERT_OK_AND_ASSIGN(v1::QuerySpec spec,
                             ParseQuerySpecJson(c.spec_json));
  KRING_ASSERT_OK_AND_ASSIGN(
      Query query, Query::Create(spec, survey::Instrument::BelongingV1()));
  Layout layout(query);
  KRING_ASSERT_OK_AND_ASSIGN(Result result, Federated(layout, *schools_));
  const std::map<std::string, double> flat = result.Flat();
  size_t compared = 0;
  for (const auto& [key, expected] : c.values) {
    auto it = flat.find(key);
    if (it == flat.end()) {
      ADD_FAILURE() << c.name << ": kring has no figure " << key;
      continue;
    }
    EXPECT_TRUE(Agrees(key, expected, it->second))
        << c.name << " " << key << ": expected " << expected << ", kring "
        << it->second;
    ++compared;
  }
  EXPECT_EQ(compared, c.values.size());
  // Nothing the reference leaves out (undefined figures) is made up,
  // except on margins, which the reference does not compute.
  for (const auto& [key, value] : flat) {
    if (key.find('*') != std::string::npos) continue;
    if (c.values.count(key) == 0) {
      // kring reports n (and counts) for empty measures; the reference
      // omits them. Anything else must be in the reference.
      const bool zero_count =
          value == 0 &&
          (key.ends_with("|n") || key.find("|count") != std::string::npos);
      EXPECT_TRUE(zero_count)
          << c.name << ": extra figure " << key << " = " << value;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixture, ReferenceTest,
                         ::testing::ValuesIn(LoadCases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

// Federated equals pooled: the same pupils split over 2..50 schools at
// random give exactly the figures of all pupils in one school.
TEST(FederatedTest, RandomSplitsEqualPooled) {
  std::vector<School> schools = LoadSchools();
  ASSERT_FALSE(schools.empty());
  std::mt19937_64 rng(7);
  for (const Case& c : LoadCases()) {
    KRING_ASSERT_OK_AND_ASSIGN(v1::QuerySpec spec,
                               ParseQuerySpecJson(c.spec_json));
    KRING_ASSERT_OK_AND_ASSIGN(
        Query query, Query::Create(spec, survey::Instrument::BelongingV1()));
    Layout layout(query);
    // Pooled: every municipality's pupils in one school each (the
    // municipality is a school property, so it cannot be pooled further).
    std::map<std::string, School> by_municipality;
    for (const School& s : schools) {
      School& p = by_municipality[s.municipality];
      p.municipality = s.municipality;
      p.records.insert(p.records.end(), s.records.begin(), s.records.end());
    }
    std::vector<School> pooled;
    for (auto& [m, s] : by_municipality) pooled.push_back(s);
    KRING_ASSERT_OK_AND_ASSIGN(Result reference, Federated(layout, pooled));
    for (int trial = 0; trial < 3; ++trial) {
      std::vector<School> split;
      for (const School& p : pooled) {
        const size_t parts = 2 + rng() % 11;  // 8..48 schools in all
        std::vector<School> pieces(parts);
        for (School& piece : pieces) piece.municipality = p.municipality;
        for (const auto& r : p.records) {
          pieces[rng() % parts].records.push_back(r);
        }
        for (School& piece : pieces) split.push_back(std::move(piece));
      }
      KRING_ASSERT_OK_AND_ASSIGN(Result federated, Federated(layout, split));
      // Identical figures (integer sums are exact, so are the decodings);
      // only the number of schools behind a cell differs.
      EXPECT_EQ(federated.Flat(), reference.Flat()) << c.name;
      ASSERT_EQ(federated.cells.size(), reference.cells.size());
      for (size_t i = 0; i < federated.cells.size(); ++i) {
        EXPECT_GE(federated.cells[i].schools, reference.cells[i].schools);
        EXPECT_EQ(federated.cells[i].records, reference.cells[i].records);
      }
    }
  }
}

TEST(DecodeTest, RejectsVectorsNoSchoolCouldSend) {
  KRING_ASSERT_OK_AND_ASSIGN(v1::QuerySpec spec,
                             ParseQuerySpecJson(R"({"statistic": "mean",
                             "measures": ["belong_perception"]})"));
  KRING_ASSERT_OK_AND_ASSIGN(
      Query query, Query::Create(spec, survey::Instrument::BelongingV1()));
  Layout layout(query);
  std::vector<uint64_t> sum(layout.size(), 0);
  EXPECT_THAT(Decode(layout, std::vector<uint64_t>(3)),
              ::kring::testing::StatusIs(absl::StatusCode::kInvalidArgument));
  sum[Layout::kRecords] = 2;
  sum[Layout::kStats] = 5;  // five respondents among two records
  EXPECT_THAT(Decode(layout, sum),
              ::kring::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace kring::query
