// The attacks that motivated kring's differential privacy (docs/privacy.md),
// tried through real processes: a coordinator and real kring-node schools
// that add their noise, queried as a requester would. Label "privacy".
//
// Each attack combines released figures into a reconstruction of something
// the releases were meant to hide. Without noise these reconstructions were
// exact (up to rounding). With the schools' noise, each reconstruction's
// error has an SD of at least the noise SD of one released count; the tests
// check that the realised errors are of that size: the root mean square
// error over all reconstructed figures is at least a stated share of the
// noise SD (with ten or more figures, a chi-square bound puts the chance of
// a smaller one below 1e-5 when the noise is there).

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "query/decode.h"
#include "query/layout.h"
#include "query/spec.h"
#include "survey/instrument.h"
#include "tests/integration/cluster.h"

namespace kring::testing {
namespace {

using ::testing::HasSubstr;

const std::map<std::string, std::string> kMunicipality = {
    {"S1", "GM0363"}, {"S2", "GM0363"}, {"S3", "GM0599"},
    {"S4", "GM0599"}, {"S5", "GM0344"}, {"S6", "GM0344"}};
const std::vector<std::string> kAll = {"S1", "S2", "S3", "S4", "S5", "S6"};

// The exact (noise-free) decode of `spec_json` over these schools' records.
query::Result Truth(Cluster& c, const std::string& spec_json,
                    const std::vector<std::string>& schools) {
  auto spec = query::ParseQuerySpecJson(spec_json);
  EXPECT_TRUE(spec.ok()) << spec.status();
  auto q = query::Query::Create(*spec, survey::Instrument::BelongingV1());
  EXPECT_TRUE(q.ok()) << q.status();
  static std::vector<query::Query> keep;  // Layout refers to its query
  keep.push_back(*q);
  const query::Layout layout(keep.back());
  std::vector<uint64_t> sum(layout.size(), 0);
  auto records = c.Records();
  for (const std::string& s : schools) {
    auto v = query::Contribution(layout, records[s], kMunicipality.at(s));
    EXPECT_TRUE(v.ok()) << v.status();
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += (*v)[i];
  }
  auto r = query::Decode(layout, sum);
  EXPECT_TRUE(r.ok()) << r.status();
  return *std::move(r);
}

class PrivacyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    c_.Init();
    researcher_ = c_.AddUser("researcher", "researcher");
    approver_ = c_.AddUser("approver", "approver");
    admin_ = c_.AddUser("admin", "admin");
    c_.set_zero_noise(false);  // the real kring-node: it always adds noise
  }
  // Six schools, two per municipality; `budget` replaces each school's
  // privacy budget per wave when set.
  void Schools(const std::string& budget = "") {
    c_.StartCoordinator(/*decision_seconds=*/60, /*round_seconds=*/4);
    for (const std::string& name : kAll) {
      c_.AddSchool(name, kMunicipality.at(name), 200 + name.back(), 150,
                   approver_);
      if (!budget.empty()) {
        const std::string yaml = c_.SchoolDir(name) + "/node.yaml";
        ASSERT_EQ(Command("sed -i 's/privacy_budget_per_wave: 1$/"
                          "privacy_budget_per_wave: " +
                          budget + "/' '" + yaml + "'")
                      .exit_code,
                  0);
      }
    }
    for (const std::string& name : kAll) c_.StartNode(name);
    c_.WaitConnected(admin_, kAll);
  }
  v1::QueryInfo Run(const std::string& spec) {
    auto q = c_.Submit(researcher_, spec);
    EXPECT_TRUE(q.ok()) << q.status();
    if (!q.ok()) return {};
    EXPECT_TRUE(c_.Approve(approver_, *q).ok());
    return c_.WaitDone(researcher_, q->ticket().query_id());
  }
  nlohmann::json Released(const std::string& spec) {
    v1::QueryInfo done = Run(spec);
    EXPECT_EQ(done.state(), v1::QUERY_STATE_RELEASED) << done.reason();
    v1::GetResultRequest req;
    req.set_query_id(done.ticket().query_id());
    req.set_format(v1::RESULT_FORMAT_JSON);
    v1::GetResultResponse resp;
    grpc::Status s = c_.Call(researcher_, "GetResult", req, &resp,
                             &v1::Coordinator::Stub::GetResult);
    EXPECT_TRUE(s.ok()) << s.error_message();
    auto j = nlohmann::json::parse(resp.body(), nullptr, false);
    EXPECT_FALSE(j.is_discarded());
    j["query_id"] = done.ticket().query_id();
    return j;
  }
  Cluster c_;
  TestUser researcher_, approver_, admin_;
};

double Rms(const std::vector<double>& errors) {
  double s = 0;
  for (double e : errors) s += e * e;
  return std::sqrt(s / static_cast<double>(errors.size()));
}

// Attack 1: a municipality's cells, suppressed for too few schools, as
// (all municipalities) - (the other two municipalities' own query), per
// level of a group variable and in total.
TEST_F(PrivacyTest, ASuppressedMunicipalityIsNotRecoveredByDifferencing) {
  Schools();
  std::vector<double> errors;
  double sd = 0;
  int small_cells = 0, small_shown = 0;
  for (const std::string var : {"gender", "track", "grade"}) {
    SCOPED_TRACE(var);
    const std::string by_municipality =
        R"({"statistic": "count", "groupBy": ["municipality", ")" + var +
        R"("], "population": {"waves": ["2025-26"], "municipalities":
        ["GM0363", "GM0599", "GM0344"]}, "purpose": "attack"})";
    const std::string others =
        R"({"statistic": "count", "groupBy": [")" + var +
        R"("], "population": {"waves": ["2025-26"], "municipalities":
        ["GM0363", "GM0599"]}, "purpose": "attack"})";
    const nlohmann::json a = Released(by_municipality);
    const nlohmann::json b = Released(others);
    // The small municipality's true counts, in B's cell order.
    const query::Result truth = Truth(
        c_,
        R"({"statistic": "count", "groupBy": [")" + var +
            R"("], "population": {"waves": ["2025-26"]}, "purpose": "truth"})",
        {"S5", "S6"});
    sd = a["privacy"]["count_noise_sd"].get<double>();
    // The small municipality's own cells are suppressed in A: each passes
    // the schools rule with two schools only with the probability the
    // release states (below 0.05; about 0.006 for Gaussian noise), so
    // nearly all of them are suppressed.
    for (const auto& cell : a["cells"]) {
      if (cell["cell"]["municipality"] == "GM0344") {
        ++small_cells;
        small_shown += !cell.contains("suppressed");
      }
    }
    // A's margin over municipalities minus B, per level and in total.
    for (size_t i = 0; i < b["cells"].size(); ++i) {
      const auto& bc = b["cells"][i];
      const std::string level = bc["cell"][var];
      const nlohmann::json* ac = nullptr;
      for (const auto& cell : a["cells"]) {
        if (cell["cell"]["municipality"] == "all" &&
            cell["cell"][var] == level) {
          ac = &cell;
        }
      }
      ASSERT_NE(ac, nullptr) << level;
      if (!bc.contains("respondents") || !ac->contains("respondents")) continue;
      const double reconstructed =
          (*ac)["respondents"].get<double>() - bc["respondents"].get<double>();
      ASSERT_EQ(truth.cells[i].name.find(level == "all" ? "*" : level) !=
                    std::string::npos,
                true)
          << truth.cells[i].name << " vs " << level;
      errors.push_back(reconstructed -
                       static_cast<double>(truth.cells[i].records));
    }
  }
  // Three or more shown: about 5e-5 for (nearly) Gaussian noise, whose
  // tail beyond half a cap is about 0.006 per cell.
  EXPECT_GT(small_cells, 8);
  EXPECT_LE(small_shown, 2) << "of " << small_cells;
  ASSERT_GE(errors.size(), 10u);
  const double rms = Rms(errors);
  std::cout << "differencing: " << errors.size()
            << " figures reconstructed, RMS error " << rms
            << ", a released count's noise SD " << sd << "\n";
  // Rounding alone (both counts to multiples of 5) gives an RMS of about
  // 2, below 0.4 noise SDs; with the noise (error SD about 1.4 noise SDs)
  // an RMS below 0.4 SDs over 10+ figures has probability below 1e-5.
  EXPECT_GE(rms, 0.4 * sd);
}

// Attack 2: a school that declines (here: its budget is spent) is not
// differenced out: the release over one school fewer is refused by the
// coordinator's ledger, so the difference never exists; every school's
// budget has paid for what was released.
TEST_F(PrivacyTest, ASchoolThatDeclinesIsNotDifferencedOut) {
  c_.StartCoordinator(/*decision_seconds=*/60, /*round_seconds=*/4);
  for (const std::string& name : kAll) {
    c_.AddSchool(name, kMunicipality.at(name), 200 + name.back(), 150,
                 approver_);
  }
  const std::string yaml = c_.SchoolDir("S6") + "/node.yaml";
  ASSERT_EQ(Command("sed -i -e 's/privacy_budget_per_wave: 1$/"
                    "privacy_budget_per_wave: 0.15/' -e "
                    "'s/max_rho_per_query: 0.25$/max_rho_per_query: 0.15/' '" +
                    yaml + "'")
                .exit_code,
            0);
  for (const std::string& name : kAll) c_.StartNode(name);
  c_.WaitConnected(admin_, kAll);
  const std::string spec = R"({"statistic": "mean",
      "measures": ["belong_perception"], "population": {"waves": ["2025-26"]},
      "purpose": "attack"})";
  const std::string again = R"({"statistic": "mean",
      "measures": ["belong_perception"], "population": {"waves": ["2025-26"]},
      "purpose": "attack", "privacy": {"rho": 0.09}})";
  v1::QueryInfo first = Run(spec);
  ASSERT_EQ(first.state(), v1::QUERY_STATE_RELEASED) << first.reason();
  EXPECT_EQ(first.participants(), 6u);
  v1::QueryInfo second = Run(again);
  EXPECT_NE(second.state(), v1::QUERY_STATE_RELEASED);
  EXPECT_THAT(second.reason(), HasSubstr("differ"));
  std::string why;
  for (const auto& d : second.decisions()) {
    if (d.school_id().starts_with("S6")) why = d.reason();
  }
  EXPECT_THAT(why, HasSubstr("privacy budget for wave 2025-26 is spent"));
}

// Attack 3: repeating a query to average its noise away. The same query over
// the same schools is answered from the ledger with the same noise; a
// variant (another rho) gets fresh noise but spends every school's budget,
// which ends the series.
TEST_F(PrivacyTest, RepeatingAQueryDoesNotAverageTheNoiseAway) {
  Schools(/*budget=*/"0.35");
  const std::string spec = R"({"statistic": "mean",
      "measures": ["belong_perception"], "groupBy": ["gender"],
      "population": {"waves": ["2025-26"]}, "purpose": "attack"})";
  const nlohmann::json first = Released(spec);
  for (int i = 0; i < 2; ++i) {
    const nlohmann::json repeat = Released(spec);
    EXPECT_EQ(repeat["privacy"]["repeat_of"], first["query_id"]);
    EXPECT_EQ(repeat["cells"], first["cells"]);
  }
  // 0.3 of 0.35 spent: a variant at rho 0.1 is declined by every school.
  v1::QueryInfo variant = Run(R"({"statistic": "mean",
      "measures": ["belong_perception"], "groupBy": ["gender"],
      "population": {"waves": ["2025-26"]}, "purpose": "attack",
      "privacy": {"rho": 0.1}, "disclosure": {"min_respondents": 11}})");
  EXPECT_NE(variant.state(), v1::QUERY_STATE_RELEASED);
  for (const auto& d : variant.decisions()) {
    EXPECT_THAT(d.reason(), HasSubstr("privacy budget")) << d.school_id();
  }
}

// Attack 4: the true n behind a rounded count from an exact mean (only one
// n in the rounding interval makes mean * n an integer sum). With noise the
// mean is a ratio of noisy sums: at best the attack finds the noisy n.
TEST_F(PrivacyTest, RoundedCountsAreNotRecoveredFromMeans) {
  Schools();
  std::vector<double> errors;
  int exact = 0;
  double sd = 0;
  for (const std::string var : {"gender", "track", "grade"}) {
    SCOPED_TRACE(var);
    const std::string spec = R"({"statistic": "mean",
        "measures": ["belong_perception"], "groupBy": [")" +
                             var + R"("],
        "population": {"waves": ["2025-26"]}, "purpose": "attack"})";
    const nlohmann::json r = Released(spec);
    const query::Result truth = Truth(c_, spec, kAll);
    auto parsed = query::ParseQuerySpecJson(spec);
    auto q = query::Query::Create(*parsed, survey::Instrument::BelongingV1());
    ASSERT_TRUE(q.ok());
    const auto scale = static_cast<double>(q->measures()[0].scale_factor);
    sd = r["privacy"]["count_noise_sd"].get<double>();
    ASSERT_EQ(r["cells"].size(), truth.cells.size());
    for (size_t i = 0; i < truth.cells.size(); ++i) {
      const auto& cell = r["cells"][i];
      if (!cell.contains("figures")) continue;
      const double mean = cell["figures"]["belong_perception"]["mean"];
      const auto rounded = cell["respondents"].get<int64_t>();
      int64_t guess = rounded;
      int fits = 0;
      for (int64_t n = std::max<int64_t>(1, rounded - 2); n <= rounded + 2;
           ++n) {
        const double s = mean * scale * static_cast<double>(n);
        if (std::fabs(s - std::round(s)) < 1e-6) {
          guess = n;
          ++fits;
        }
      }
      if (fits != 1) guess = rounded;
      const uint64_t n_true = truth.cells[i].respondents;
      exact += guess == static_cast<int64_t>(n_true);
      errors.push_back(static_cast<double>(guess) -
                       static_cast<double>(n_true));
    }
  }
  ASSERT_GE(errors.size(), 10u);
  const double rms = Rms(errors);
  std::cout << "rounded counts: " << errors.size() << " cells, " << exact
            << " guessed exactly, RMS error " << rms << ", noise SD " << sd
            << "\n";
  EXPECT_GE(rms, 0.3 * sd);
}

}  // namespace
}  // namespace kring::testing
