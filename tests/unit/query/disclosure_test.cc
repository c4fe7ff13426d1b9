#include "query/disclosure.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "util/str_cat.h"

namespace kring::query {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr Suppression kShown = Suppression::kReleased;
constexpr Suppression kFewPupils = Suppression::kTooFewRespondents;
constexpr Suppression kFewSchools = Suppression::kTooFewSchools;
constexpr Suppression kSecondary = Suppression::kSecondary;

CellStats S(uint64_t respondents, uint64_t schools) {
  return {.respondents = respondents, .schools = schools};
}

// (Designated initializers must name every field under GCC 12's -Wextra.)
DisclosureRequest Request(std::optional<uint64_t> min_respondents,
                          std::optional<uint64_t> min_schools,
                          std::optional<uint32_t> rounding_base) {
  DisclosureRequest r;
  r.min_respondents = min_respondents;
  r.min_schools = min_schools;
  r.rounding_base = rounding_base;
  return r;
}
constexpr std::nullopt_t kUnset = std::nullopt;

std::vector<Suppression> Statuses(const std::vector<Outcome>& outcomes) {
  std::vector<Suppression> out;
  for (const Outcome& o : outcomes) out.push_back(o.status);
  return out;
}

// ---------------------------------------------------------------------------
// Independent checkers. A Pattern says which figures are suppressed.

struct Pattern {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<bool> cells;  // row-major
  std::vector<bool> row_totals;
  std::vector<bool> col_totals;
  bool total = false;
};

Pattern FromDecision(const Decision& d) {
  Pattern p;
  p.rows = d.rows;
  p.cols = d.cols;
  for (const Outcome& o : d.cells) p.cells.push_back(!o.released());
  for (const Outcome& o : d.row_totals) p.row_totals.push_back(!o.released());
  for (const Outcome& o : d.col_totals) p.col_totals.push_back(!o.released());
  p.total = !d.total.released();
  return p;
}

bool Fails(const CellStats& s, const CellThresholds& t) {
  return s.respondents < t.min_respondents || s.schools < t.min_schools;
}

// What a naive release would hide: primary suppression only.
Pattern PrimaryOnly(const Table& t, const CellThresholds& th) {
  Pattern p;
  p.rows = t.rows();
  p.cols = t.cols();
  for (size_t r = 0; r < t.rows(); ++r) {
    for (size_t c = 0; c < t.cols(); ++c) {
      p.cells.push_back(Fails(t.cell(r, c), th));
    }
  }
  for (size_t r = 0; r < t.rows(); ++r) {
    p.row_totals.push_back(Fails(t.row_total(r), th));
  }
  for (size_t c = 0; c < t.cols(); ++c) {
    p.col_totals.push_back(Fails(t.col_total(c), th));
  }
  p.total = Fails(t.total(), th);
  return p;
}

// The checker from the issue: every row or column with a released margin
// has 0 or >= 2 suppressed cells; with a released grand total, 0 or >= 2
// row margins and 0 or >= 2 column margins are suppressed.
std::vector<std::string> LineViolations(const Pattern& p) {
  std::vector<std::string> out;
  for (size_t r = 0; r < p.rows; ++r) {
    if (p.row_totals[r]) continue;
    size_t n = 0;
    for (size_t c = 0; c < p.cols; ++c) n += p.cells[r * p.cols + c];
    if (n == 1) out.push_back(StrCat("row ", r));
  }
  for (size_t c = 0; c < p.cols; ++c) {
    if (p.col_totals[c]) continue;
    size_t n = 0;
    for (size_t r = 0; r < p.rows; ++r) n += p.cells[r * p.cols + c];
    if (n == 1) out.push_back(StrCat("column ", c));
  }
  if (!p.total) {
    size_t n = 0;
    for (bool b : p.row_totals) n += b;
    if (n == 1) out.push_back("row totals");
    n = 0;
    for (bool b : p.col_totals) n += b;
    if (n == 1) out.push_back("column totals");
  }
  return out;
}

// Exact linear check, independent of the graph argument in disclosure.cc:
// with every figure a variable and the table's identities (row sums, column
// sums, grand total) as equations, a suppressed figure can be recomputed
// from the released ones iff its unit vector lies in the row space of the
// equations restricted to the suppressed variables. Ranks are taken modulo
// the prime 2^31 - 1; the matrices have entries 0/+-1 and at most 15 rows,
// so every minor is below 15^7.5 < 2^31 - 1 and ranks equal those over Q.
constexpr uint64_t kP = 2147483647;

uint64_t PowMod(uint64_t a, uint64_t e) {
  uint64_t r = 1;
  for (; e != 0; e >>= 1, a = a * a % kP) {
    if (e & 1) r = r * a % kP;
  }
  return r;
}

size_t Rank(std::vector<std::vector<uint64_t>> m) {
  size_t rank = 0;
  const size_t width = m.empty() ? 0 : m[0].size();
  for (size_t col = 0; col < width && rank < m.size(); ++col) {
    size_t pivot = rank;
    while (pivot < m.size() && m[pivot][col] == 0) ++pivot;
    if (pivot == m.size()) continue;
    std::swap(m[pivot], m[rank]);
    const uint64_t inv = PowMod(m[rank][col], kP - 2);
    for (uint64_t& x : m[rank]) x = x * inv % kP;
    for (size_t i = 0; i < m.size(); ++i) {
      if (i == rank || m[i][col] == 0) continue;
      const uint64_t f = m[i][col];
      for (size_t j = 0; j < width; ++j) {
        m[i][j] = (m[i][j] + (kP - f) * m[rank][j]) % kP;
      }
    }
    ++rank;
  }
  return rank;
}

std::vector<std::string> DeterminedFigures(const Pattern& p) {
  const size_t rows = p.rows, cols = p.cols;
  const size_t cell0 = 0, row0 = rows * cols, col0 = row0 + rows,
               total = col0 + cols, n = total + 1;
  std::vector<bool> unknown(n);
  std::vector<std::string> name(n);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      unknown[cell0 + r * cols + c] = p.cells[r * cols + c];
      name[cell0 + r * cols + c] = StrCat("cell (", r, ", ", c, ")");
    }
    unknown[row0 + r] = p.row_totals[r];
    name[row0 + r] = StrCat("row total ", r);
  }
  for (size_t c = 0; c < cols; ++c) {
    unknown[col0 + c] = p.col_totals[c];
    name[col0 + c] = StrCat("column total ", c);
  }
  unknown[total] = p.total;
  name[total] = "grand total";

  const uint64_t minus = kP - 1;
  std::vector<std::vector<uint64_t>> eqs;  // over all n variables
  for (size_t r = 0; r < rows; ++r) {
    std::vector<uint64_t> e(n, 0);
    for (size_t c = 0; c < cols; ++c) e[cell0 + r * cols + c] = 1;
    e[row0 + r] = minus;
    eqs.push_back(e);
  }
  for (size_t c = 0; c < cols; ++c) {
    std::vector<uint64_t> e(n, 0);
    for (size_t r = 0; r < rows; ++r) e[cell0 + r * cols + c] = 1;
    e[col0 + c] = minus;
    eqs.push_back(e);
  }
  {
    std::vector<uint64_t> e(n, 0);
    for (size_t r = 0; r < rows; ++r) e[row0 + r] = 1;
    e[total] = minus;
    eqs.push_back(e);
  }
  {
    std::vector<uint64_t> e(n, 0);
    for (size_t c = 0; c < cols; ++c) e[col0 + c] = 1;
    e[total] = minus;
    eqs.push_back(e);
  }
  EXPECT_LE(eqs.size() + 1, 15u) << "table too large for the exact checker";

  std::vector<size_t> vars;
  for (size_t v = 0; v < n; ++v) {
    if (unknown[v]) vars.push_back(v);
  }
  std::vector<std::vector<uint64_t>> a;
  for (const auto& e : eqs) {
    std::vector<uint64_t> row;
    for (size_t v : vars) row.push_back(e[v]);
    a.push_back(row);
  }
  const size_t base = Rank(a);
  std::vector<std::string> out;
  for (size_t k = 0; k < vars.size(); ++k) {
    auto with = a;
    std::vector<uint64_t> unit(vars.size(), 0);
    unit[k] = 1;
    with.push_back(unit);
    if (Rank(with) == base) out.push_back(name[vars[k]]);
  }
  return out;
}

// Every invariant of a decision, for hand-built and random tables.
void ExpectSafe(const Table& t, const Decision& d, const CellThresholds& th,
                uint32_t base) {
  ASSERT_EQ(d.cells.size(), t.rows() * t.cols());
  ASSERT_EQ(d.row_totals.size(), t.rows());
  ASSERT_EQ(d.col_totals.size(), t.cols());
  EXPECT_EQ(d.thresholds.min_respondents, th.min_respondents);
  EXPECT_EQ(d.thresholds.min_schools, th.min_schools);
  auto check = [&](const CellStats& s, const Outcome& o, std::string what) {
    SCOPED_TRACE(what);
    if (s.respondents < th.min_respondents) {
      EXPECT_EQ(o.status, kFewPupils);
    } else if (s.schools < th.min_schools) {
      EXPECT_EQ(o.status, kFewSchools);
    } else {
      EXPECT_TRUE(o.status == kShown || o.status == kSecondary);
    }
    if (o.released()) {
      EXPECT_EQ(o.shown_respondents, RoundToBase(s.respondents, base));
    } else {
      EXPECT_EQ(o.shown_respondents, std::nullopt);
    }
  };
  for (size_t r = 0; r < t.rows(); ++r) {
    for (size_t c = 0; c < t.cols(); ++c) {
      check(t.cell(r, c), d.cell(r, c), StrCat("cell ", r, ",", c));
    }
    check(t.row_total(r), d.row_totals[r], StrCat("row total ", r));
  }
  for (size_t c = 0; c < t.cols(); ++c) {
    check(t.col_total(c), d.col_totals[c], StrCat("col total ", c));
  }
  check(t.total(), d.total, "total");
  // Mirrored figures of one-dimensional tables agree.
  if (t.cols() == 1) {
    for (size_t r = 0; r < t.rows(); ++r) {
      EXPECT_EQ(d.row_totals[r].status, d.cell(r, 0).status);
    }
    EXPECT_EQ(d.col_totals[0].status, d.total.status);
  }
  if (t.rows() == 1) {
    for (size_t c = 0; c < t.cols(); ++c) {
      EXPECT_EQ(d.col_totals[c].status, d.cell(0, c).status);
    }
    EXPECT_EQ(d.row_totals[0].status, d.total.status);
  }
  const Pattern p = FromDecision(d);
  EXPECT_THAT(LineViolations(p), IsEmpty());
  if (t.rows() + t.cols() + 3 <= 15) {
    EXPECT_THAT(DeterminedFigures(p), IsEmpty());
  }
}

// ---------------------------------------------------------------------------
// Policy.

TEST(DisclosurePolicyTest, DefaultsAreTheDesignValues) {
  const DisclosurePolicy p = DisclosurePolicy::Default();
  EXPECT_EQ(p.normal().min_respondents, 10u);
  EXPECT_EQ(p.normal().min_schools, 3u);
  EXPECT_EQ(p.special_category().min_respondents, 20u);
  EXPECT_EQ(p.special_category().min_schools, 5u);
  EXPECT_EQ(p.rounding_base(), 5u);
  EXPECT_EQ(p.ThresholdsFor(false).min_respondents, 10u);
  EXPECT_EQ(p.ThresholdsFor(true).min_respondents, 20u);
}

TEST(DisclosurePolicyTest, CreateAcceptsValidValues) {
  KRING_ASSERT_OK_AND_ASSIGN(DisclosurePolicy p,
                             DisclosurePolicy::Create({15, 4}, {15, 6}, 10));
  EXPECT_EQ(p.normal().min_respondents, 15u);
  EXPECT_EQ(p.special_category().min_schools, 6u);
  EXPECT_EQ(p.rounding_base(), 10u);
  EXPECT_THAT(DisclosurePolicy::Create({1, 1}, {1, 1}, 1), IsOk());
}

TEST(DisclosurePolicyTest, CreateRejectsInvalidValues) {
  EXPECT_THAT(DisclosurePolicy::Create({0, 3}, {20, 5}, 5),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("min_respondents must be at least 1")));
  EXPECT_THAT(DisclosurePolicy::Create({10, 0}, {20, 5}, 5),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("min_schools must be at least 1")));
  EXPECT_THAT(
      DisclosurePolicy::Create({10, 3}, {20, 5}, 0),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rounding_base")));
  EXPECT_THAT(DisclosurePolicy::Create({10, 3}, {9, 5}, 5),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("special-category min_respondents (9)")));
  EXPECT_THAT(DisclosurePolicy::Create({10, 3}, {20, 2}, 5),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("special-category min_schools (2)")));
}

TEST(DisclosurePolicyTest, RequestMayOnlyBeStricter) {
  const DisclosurePolicy p = DisclosurePolicy::Default();
  EXPECT_THAT(
      p.Tighten(Request(5, kUnset, kUnset), false),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("requested min_respondents 5 is below the policy "
                         "minimum of 10; request at least 10")));
  EXPECT_THAT(p.Tighten(Request(kUnset, 2, kUnset), false),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("min_schools 2 is below the policy minimum "
                                 "of 3")));
  EXPECT_THAT(p.Tighten(Request(kUnset, kUnset, 1), false),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a multiple of the policy's base 5")));
  EXPECT_THAT(p.Tighten(Request(kUnset, kUnset, 7), false),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(p.Tighten(Request(kUnset, kUnset, 0), false),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(DisclosurePolicyTest, RequestIsCheckedAgainstSpecialCategoryThresholds) {
  const DisclosurePolicy p = DisclosurePolicy::Default();
  // 15 is stricter than 10 but looser than the special-category 20.
  EXPECT_THAT(p.Tighten(Request(15, kUnset, kUnset), true),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("minimum of 20 for a group-by with a "
                                 "special-category attribute")));
  EXPECT_THAT(
      p.Tighten(Request(kUnset, 4, kUnset), true),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("minimum of 5")));
}

TEST(DisclosurePolicyTest, StricterRequestIsApplied) {
  const DisclosurePolicy p = DisclosurePolicy::Default();
  KRING_ASSERT_OK_AND_ASSIGN(DisclosurePolicy t,
                             p.Tighten(Request(15, 4, 10), false));
  EXPECT_EQ(t.normal().min_respondents, 15u);
  EXPECT_EQ(t.normal().min_schools, 4u);
  EXPECT_EQ(t.special_category().min_respondents, 20u);  // already stricter
  EXPECT_EQ(t.special_category().min_schools, 5u);
  EXPECT_EQ(t.rounding_base(), 10u);

  KRING_ASSERT_OK_AND_ASSIGN(DisclosurePolicy u,
                             p.Tighten(Request(25, kUnset, kUnset), true));
  EXPECT_EQ(u.normal().min_respondents, 25u);
  EXPECT_EQ(u.special_category().min_respondents, 25u);

  KRING_ASSERT_OK_AND_ASSIGN(DisclosurePolicy same,
                             p.Tighten(Request(kUnset, kUnset, kUnset), true));
  EXPECT_EQ(same.normal().min_respondents, 10u);
  EXPECT_EQ(same.special_category().min_schools, 5u);
  EXPECT_EQ(same.rounding_base(), 5u);
  // Equal to the policy is allowed.
  EXPECT_THAT(p.Tighten(Request(10, 3, kUnset), false), IsOk());
}

// ---------------------------------------------------------------------------
// Rounding.

TEST(RoundToBaseTest, NearestMultipleOfFive) {
  EXPECT_EQ(RoundToBase(0, 5), 0u);
  EXPECT_EQ(RoundToBase(1, 5), 0u);
  EXPECT_EQ(RoundToBase(2, 5), 0u);
  EXPECT_EQ(RoundToBase(3, 5), 5u);
  EXPECT_EQ(RoundToBase(7, 5), 5u);
  EXPECT_EQ(RoundToBase(8, 5), 10u);
  EXPECT_EQ(RoundToBase(10, 5), 10u);
  EXPECT_EQ(RoundToBase(12, 5), 10u);  // 12.5 is the half-way point
  EXPECT_EQ(RoundToBase(13, 5), 15u);
  EXPECT_EQ(RoundToBase(84, 5), 85u);
}

TEST(RoundToBaseTest, TiesRoundUp) {
  EXPECT_EQ(RoundToBase(5, 10), 10u);
  EXPECT_EQ(RoundToBase(15, 10), 20u);
  EXPECT_EQ(RoundToBase(25, 10), 30u);
  EXPECT_EQ(RoundToBase(24, 10), 20u);
  EXPECT_EQ(RoundToBase(1, 2), 2u);
  EXPECT_EQ(RoundToBase(3, 2), 4u);
  EXPECT_EQ(RoundToBase(0, 10), 0u);
}

TEST(RoundToBaseTest, BaseOneOrZeroIsIdentity) {
  EXPECT_EQ(RoundToBase(7, 1), 7u);
  EXPECT_EQ(RoundToBase(7, 0), 7u);
}

TEST(RoundToBaseTest, NoOverflow) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  // kMax = ...615: ends in 5, so a tie at base 10 that cannot go up.
  EXPECT_EQ(RoundToBase(kMax, 10), kMax - 5);
  EXPECT_EQ(RoundToBase(kMax, 5), kMax);  // already a multiple of 5
  EXPECT_EQ(RoundToBase(kMax - 1, 4), kMax - 3);
}

// ---------------------------------------------------------------------------
// Table.

TEST(TableTest, ComputesMargins) {
  KRING_ASSERT_OK_AND_ASSIGN(
      Table t, Table::Create(2, 2, {S(10, 2), S(20, 3), S(30, 4), S(40, 1)}));
  EXPECT_EQ(t.row_total(0).respondents, 30u);
  EXPECT_EQ(t.row_total(1).respondents, 70u);
  EXPECT_EQ(t.col_total(0).respondents, 40u);
  EXPECT_EQ(t.col_total(1).respondents, 60u);
  EXPECT_EQ(t.total().respondents, 100u);
  // Without margin schools: the largest cell count, a lower bound.
  EXPECT_EQ(t.row_total(0).schools, 3u);
  EXPECT_EQ(t.col_total(1).schools, 3u);
  EXPECT_EQ(t.total().schools, 4u);
}

TEST(TableTest, UsesGivenMarginSchools) {
  KRING_ASSERT_OK_AND_ASSIGN(
      Table t, Table::Create(2, 2, {S(10, 2), S(20, 3), S(30, 4), S(40, 1)},
                             Table::MarginSchools{
                                 .rows = {4, 5}, .cols = {5, 3}, .total = 6}));
  EXPECT_EQ(t.row_total(1).schools, 5u);
  EXPECT_EQ(t.col_total(0).schools, 5u);
  EXPECT_EQ(t.total().schools, 6u);
}

TEST(TableTest, RejectsInvalidShapesAndCounts) {
  using absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(Table::Create(0, 1, {}), StatusIs(kInvalidArgument));
  EXPECT_THAT(Table::Create(1, 0, {}), StatusIs(kInvalidArgument));
  EXPECT_THAT(Table::Create(2, 2, {S(10, 2)}),
              StatusIs(kInvalidArgument, HasSubstr("needs 4 cells")));
  EXPECT_THAT(Table::Create(101, 100, std::vector<CellStats>(10100)),
              StatusIs(kInvalidArgument, HasSubstr("exceeds the limit")));
  EXPECT_THAT(Table::Create(1, 2, {S(10, 2), S(2, 3)}),
              StatusIs(kInvalidArgument, HasSubstr("cell (0, 1)")));
  EXPECT_THAT(Table::Create(1, 1, {S(5, 0)}),
              StatusIs(kInvalidArgument, HasSubstr("cell (0, 0)")));
  constexpr uint64_t kHalf = uint64_t{1} << 63;
  EXPECT_THAT(Table::Create(2, 1, {S(kHalf, 1), S(kHalf, 1)}),
              StatusIs(kInvalidArgument, HasSubstr("overflow")));
}

TEST(TableTest, RejectsInconsistentMarginSchools) {
  using absl::StatusCode::kInvalidArgument;
  const std::vector<CellStats> cells = {S(10, 2), S(20, 3), S(30, 4), S(40, 1)};
  EXPECT_THAT(Table::Create(2, 2, cells,
                            Table::MarginSchools{
                                .rows = {4}, .cols = {5, 3}, .total = 6}),
              StatusIs(kInvalidArgument, HasSubstr("margin schools need")));
  // Row 0 covers 2 and 3 schools: 2 is too few, 6 too many.
  EXPECT_THAT(Table::Create(2, 2, cells,
                            Table::MarginSchools{
                                .rows = {2, 5}, .cols = {5, 3}, .total = 6}),
              StatusIs(kInvalidArgument, HasSubstr("row total 0")));
  EXPECT_THAT(Table::Create(2, 2, cells,
                            Table::MarginSchools{
                                .rows = {6, 5}, .cols = {5, 3}, .total = 6}),
              StatusIs(kInvalidArgument, HasSubstr("row total 0")));
  EXPECT_THAT(Table::Create(2, 2, cells,
                            Table::MarginSchools{
                                .rows = {4, 5}, .cols = {7, 3}, .total = 6}),
              StatusIs(kInvalidArgument, HasSubstr("column total 0")));
  EXPECT_THAT(Table::Create(2, 2, cells,
                            Table::MarginSchools{
                                .rows = {4, 5}, .cols = {5, 3}, .total = 4}),
              StatusIs(kInvalidArgument, HasSubstr("grand total")));
  EXPECT_THAT(Table::Create(2, 2, cells,
                            Table::MarginSchools{
                                .rows = {4, 5}, .cols = {5, 3}, .total = 9}),
              StatusIs(kInvalidArgument, HasSubstr("grand total")));
}

// ---------------------------------------------------------------------------
// Primary suppression and reasons.

TEST(DecideTest, GroupWithOneSchoolIsSuppressed) {
  KRING_ASSERT_OK_AND_ASSIGN(Table t, Table::Create(1, 1, {S(40, 1)}));
  const Decision d = Decide(t, DisclosurePolicy::Default(), false);
  EXPECT_EQ(d.cell(0, 0).status, kFewSchools);
  EXPECT_EQ(d.cell(0, 0).shown_respondents, std::nullopt);
  EXPECT_EQ(d.total.status, kFewSchools);
  EXPECT_EQ(Explain(d.cell(0, 0).status, d.thresholds),
            "fewer than 3 contributing schools");
  EXPECT_EQ(SuppressionCode(d.cell(0, 0).status), "too_few_schools");
}

TEST(DecideTest, GroupWithNineRespondentsIsSuppressed) {
  KRING_ASSERT_OK_AND_ASSIGN(Table t, Table::Create(1, 1, {S(9, 3)}));
  const Decision d = Decide(t, DisclosurePolicy::Default(), false);
  EXPECT_EQ(d.cell(0, 0).status, kFewPupils);
  EXPECT_EQ(Explain(d.cell(0, 0).status, d.thresholds),
            "fewer than 10 respondents");
  EXPECT_EQ(SuppressionCode(d.cell(0, 0).status), "too_few_respondents");
}

TEST(DecideTest, TooFewRespondentsIsReportedBeforeTooFewSchools) {
  KRING_ASSERT_OK_AND_ASSIGN(Table t, Table::Create(1, 1, {S(5, 1)}));
  EXPECT_EQ(Decide(t, DisclosurePolicy::Default(), false).cell(0, 0).status,
            kFewPupils);
}

TEST(DecideTest, PassingGroupIsShownRounded) {
  KRING_ASSERT_OK_AND_ASSIGN(Table t, Table::Create(1, 1, {S(12, 3)}));
  const Decision d = Decide(t, DisclosurePolicy::Default(), false);
  EXPECT_TRUE(d.cell(0, 0).released());
  EXPECT_EQ(d.cell(0, 0).shown_respondents, 10u);
  EXPECT_EQ(d.total.shown_respondents, 10u);
  EXPECT_EQ(Explain(kShown, d.thresholds), "released");
}

TEST(DecideTest, SpecialCategoryThresholds) {
  // One-dimensional: migration background with three categories.
  KRING_ASSERT_OK_AND_ASSIGN(
      Table t, Table::Create(3, 1, {S(15, 4), S(25, 4), S(30, 6)}));
  const DisclosurePolicy p = DisclosurePolicy::Default();

  const Decision normal = Decide(t, p, false);
  EXPECT_THAT(Statuses(normal.cells), ElementsAre(kShown, kShown, kShown));

  const Decision special = Decide(t, p, true);
  EXPECT_EQ(special.thresholds.min_respondents, 20u);
  EXPECT_EQ(special.thresholds.min_schools, 5u);
  EXPECT_THAT(Statuses(special.cells),
              ElementsAre(kFewPupils, kFewSchools, kShown));
  EXPECT_EQ(special.total.status, kShown);  // 70 respondents, 6 schools
  EXPECT_EQ(Explain(special.cells[0].status, special.thresholds),
            "fewer than 20 respondents");
  EXPECT_EQ(Explain(special.cells[1].status, special.thresholds),
            "fewer than 5 contributing schools");
  ExpectSafe(t, special, p.ThresholdsFor(true), 5);
}

TEST(DecideTest, UsesTightenedPolicy) {
  KRING_ASSERT_OK_AND_ASSIGN(Table t, Table::Create(1, 1, {S(14, 3)}));
  KRING_ASSERT_OK_AND_ASSIGN(
      DisclosurePolicy p,
      DisclosurePolicy::Default().Tighten(Request(15, kUnset, 10), false));
  EXPECT_EQ(Decide(t, p, false).cell(0, 0).status, kFewPupils);
  KRING_ASSERT_OK_AND_ASSIGN(Table u, Table::Create(1, 1, {S(15, 3)}));
  EXPECT_EQ(Decide(u, p, false).cell(0, 0).shown_respondents, 20u);
}

// ---------------------------------------------------------------------------
// Secondary suppression.

TEST(DecideTest, SuppressedCellCannotBeRecomputedFromItsRowTotal) {
  //           c0      c1      c2    | total
  //   r0   25 (4)   6 (2)  30 (5)   |  61
  //   r1   40 (6)  35 (5)  28 (4)   | 103
  KRING_ASSERT_OK_AND_ASSIGN(Table t,
                             Table::Create(2, 3,
                                           {S(25, 4), S(6, 2), S(30, 5),  //
                                            S(40, 6), S(35, 5), S(28, 4)}));
  const DisclosurePolicy policy = DisclosurePolicy::Default();
  const CellThresholds& th = policy.ThresholdsFor(false);

  // A naive release hides only cell (0, 1) ...
  const Pattern naive = PrimaryOnly(t, th);
  EXPECT_THAT(LineViolations(naive), ElementsAre("row 0", "column 1"));
  EXPECT_THAT(DeterminedFigures(naive), ElementsAre("cell (0, 1)"));
  // ... which anyone gets back from the row total.
  EXPECT_EQ(t.row_total(0).respondents - t.cell(0, 0).respondents -
                t.cell(0, 2).respondents,
            6u);

  const Decision d = Decide(t, policy, false);
  EXPECT_THAT(Statuses(d.cells), ElementsAre(kSecondary, kFewPupils, kShown,
                                             kSecondary, kSecondary, kShown));
  EXPECT_THAT(Statuses(d.row_totals), ElementsAre(kShown, kShown));
  EXPECT_THAT(Statuses(d.col_totals), ElementsAre(kShown, kShown, kShown));
  EXPECT_EQ(d.total.status, kShown);
  EXPECT_EQ(d.row_totals[0].shown_respondents, 60u);   // 61
  EXPECT_EQ(d.row_totals[1].shown_respondents, 105u);  // 103
  EXPECT_EQ(d.total.shown_respondents, 165u);          // 164
  EXPECT_EQ(d.cell(1, 2).shown_respondents, 30u);      // 28
  EXPECT_EQ(Explain(kSecondary, d.thresholds),
            "hidden so that another hidden figure cannot be worked out from "
            "the totals");
  ExpectSafe(t, d, th, 5);
}

TEST(DecideTest, OneDimensionalTableNeedsASecondSuppression) {
  // Released total 84: hiding only the 4 would leave it at 84 - 50 - 30.
  KRING_ASSERT_OK_AND_ASSIGN(
      Table t, Table::Create(3, 1, {S(50, 5), S(4, 2), S(30, 4)}));
  const DisclosurePolicy policy = DisclosurePolicy::Default();
  EXPECT_THAT(DeterminedFigures(PrimaryOnly(t, policy.ThresholdsFor(false))),
              ElementsAre("cell (1, 0)", "row total 1"));  // the same figure

  const Decision d = Decide(t, policy, false);
  EXPECT_THAT(Statuses(d.cells), ElementsAre(kShown, kFewPupils, kSecondary));
  EXPECT_THAT(Statuses(d.row_totals),
              ElementsAre(kShown, kFewPupils, kSecondary));
  EXPECT_EQ(d.total.status, kShown);
  EXPECT_EQ(d.total.shown_respondents, 85u);
  ExpectSafe(t, d, policy.ThresholdsFor(false), 5);

  // The same as one row.
  KRING_ASSERT_OK_AND_ASSIGN(
      Table row, Table::Create(1, 3, {S(50, 5), S(4, 2), S(30, 4)}));
  const Decision e = Decide(row, policy, false);
  EXPECT_THAT(Statuses(e.cells), ElementsAre(kShown, kFewPupils, kSecondary));
  EXPECT_THAT(Statuses(e.col_totals),
              ElementsAre(kShown, kFewPupils, kSecondary));
  EXPECT_EQ(e.total.status, kShown);
  ExpectSafe(row, e, policy.ThresholdsFor(false), 5);
}

TEST(DecideTest, SuppressedRowTotalIsProtectedAgainstTheGrandTotal) {
  //           c0      c1   | total
  //   r0    2 (1)   3 (1)  |   5 (fails)
  //   r1   40 (5)  50 (6)  |  90
  //         42      53     |  95
  KRING_ASSERT_OK_AND_ASSIGN(
      Table t, Table::Create(2, 2, {S(2, 1), S(3, 1), S(40, 5), S(50, 6)}));
  const DisclosurePolicy policy = DisclosurePolicy::Default();
  const CellThresholds& th = policy.ThresholdsFor(false);
  // Naively row total 1 (90) is released, so 95 - 90 gives row total 0.
  const Pattern naive = PrimaryOnly(t, th);
  EXPECT_THAT(LineViolations(naive),
              ElementsAre("column 0", "column 1", "row totals"));

  const Decision d = Decide(t, policy, false);
  EXPECT_THAT(Statuses(d.cells),
              ElementsAre(kFewPupils, kFewPupils, kSecondary, kSecondary));
  EXPECT_THAT(Statuses(d.row_totals), ElementsAre(kFewPupils, kSecondary));
  EXPECT_THAT(Statuses(d.col_totals), ElementsAre(kShown, kShown));
  EXPECT_EQ(d.total.status, kShown);
  ExpectSafe(t, d, th, 5);
}

TEST(DecideTest, ClassicHeuristicLeaksThroughABridgeAndDecideDoesNot) {
  // Primary suppressions (*) form two 2x2 blocks joined by cell (1, 2).
  // Every row and column has 0 or >= 2 suppressed cells, so the classic
  // heuristic stops, yet (1, 2) follows from the totals.
  //          c0      c1      c2      c3
  //   r0   3*(1)   4*(2)  30 (4)  40 (5)
  //   r1   5*(2)   6*(2)   7*(3)  35 (4)
  //   r2  25 (4)  28 (4)   2*(1)   4*(2)
  //   r3  33 (5)  31 (4)   6*(2)   8*(3)
  KRING_ASSERT_OK_AND_ASSIGN(
      Table t, Table::Create(4, 4,
                             {S(3, 1), S(4, 2), S(30, 4), S(40, 5),  //
                              S(5, 2), S(6, 2), S(7, 3), S(35, 4),   //
                              S(25, 4), S(28, 4), S(2, 1), S(4, 2),  //
                              S(33, 5), S(31, 4), S(6, 2), S(8, 3)}));
  const DisclosurePolicy policy = DisclosurePolicy::Default();
  const CellThresholds& th = policy.ThresholdsFor(false);
  const Pattern naive = PrimaryOnly(t, th);
  EXPECT_THAT(LineViolations(naive), IsEmpty());
  EXPECT_THAT(DeterminedFigures(naive), ElementsAre("cell (1, 2)"));
  // The recomputation: hidden mass of rows 0-1 minus that of columns 0-1.
  auto cell = [&](size_t r, size_t c) { return t.cell(r, c).respondents; };
  const uint64_t rows01 = t.row_total(0).respondents - cell(0, 2) - cell(0, 3) +
                          t.row_total(1).respondents - cell(1, 3);
  const uint64_t cols01 = t.col_total(0).respondents - cell(2, 0) - cell(3, 0) +
                          t.col_total(1).respondents - cell(2, 1) - cell(3, 1);
  EXPECT_EQ(rows01 - cols01, 7u);

  const Decision d = Decide(t, policy, false);
  // The cheapest released cell closing a cycle through (1, 2) is (2, 0).
  EXPECT_THAT(Statuses(d.cells),
              ElementsAre(kFewPupils, kFewPupils, kShown, kShown,      //
                          kFewPupils, kFewPupils, kFewPupils, kShown,  //
                          kSecondary, kShown, kFewPupils, kFewPupils,  //
                          kShown, kShown, kFewPupils, kFewPupils));
  EXPECT_THAT(Statuses(d.row_totals),
              ElementsAre(kShown, kShown, kShown, kShown));
  ExpectSafe(t, d, th, 5);
}

TEST(DecideTest, MarginSchoolsCanReleaseATotal) {
  // Two groups of two schools each: both cells fail; the total of 27 covers
  // four schools, which only the caller can know.
  const std::vector<CellStats> cells = {S(12, 2), S(15, 2)};
  const DisclosurePolicy policy = DisclosurePolicy::Default();
  KRING_ASSERT_OK_AND_ASSIGN(Table lower_bound, Table::Create(2, 1, cells));
  EXPECT_EQ(Decide(lower_bound, policy, false).total.status, kFewSchools);

  KRING_ASSERT_OK_AND_ASSIGN(
      Table exact, Table::Create(2, 1, cells,
                                 Table::MarginSchools{
                                     .rows = {2, 2}, .cols = {4}, .total = 4}));
  const Decision d = Decide(exact, policy, false);
  EXPECT_THAT(Statuses(d.cells), ElementsAre(kFewSchools, kFewSchools));
  EXPECT_EQ(d.total.status, kShown);
  EXPECT_EQ(d.total.shown_respondents, 25u);
  ExpectSafe(exact, d, policy.ThresholdsFor(false), 5);
}

TEST(DecideTest, RoundedCellsNeedNotAddUpToRoundedTotals) {
  KRING_ASSERT_OK_AND_ASSIGN(
      Table t, Table::Create(2, 2, {S(12, 3), S(12, 3), S(12, 3), S(12, 4)}));
  const Decision d = Decide(t, DisclosurePolicy::Default(), false);
  EXPECT_THAT(Statuses(d.cells), ElementsAre(kShown, kShown, kShown, kShown));
  for (const Outcome& o : d.cells) EXPECT_EQ(o.shown_respondents, 10u);
  // Totals are rounded from the true sums: 24 -> 25 and 48 -> 50, not the
  // sums of the rounded cells (20 and 40).
  EXPECT_EQ(d.row_totals[0].shown_respondents, 25u);
  EXPECT_EQ(d.col_totals[1].shown_respondents, 25u);
  EXPECT_EQ(d.total.shown_respondents, 50u);
}

// Many random tables: no released figure below the thresholds, no released
// margin over a single suppressed cell, nothing recomputable.
TEST(DecidePropertyTest, RandomTablesAreSafe) {
  std::mt19937_64 rng(20240611);  // test data only, not noise
  auto uniform = [&](uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  };
  const DisclosurePolicy policy = DisclosurePolicy::Default();
  size_t secondary = 0, naive_leaks = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    const size_t rows = uniform(1, 6), cols = uniform(1, 6);
    const bool special = uniform(0, 3) == 0;
    const uint64_t small_share = uniform(0, 10);  // in tenths
    std::vector<CellStats> cells;
    for (size_t i = 0; i < rows * cols; ++i) {
      const uint64_t n =
          uniform(0, 9) < small_share ? uniform(0, 12) : uniform(0, 90);
      cells.push_back(S(n, n == 0 ? 0 : uniform(1, std::min<uint64_t>(n, 8))));
    }
    KRING_ASSERT_OK_AND_ASSIGN(Table t, Table::Create(rows, cols, cells));
    const Decision d = Decide(t, policy, special);
    SCOPED_TRACE(StrCat("iteration ", iter, ": ", rows, " x ", cols));
    ExpectSafe(t, d, policy.ThresholdsFor(special), 5);
    for (const Outcome& o : d.cells) secondary += o.status == kSecondary;
    if (!DeterminedFigures(PrimaryOnly(t, policy.ThresholdsFor(special)))
             .empty()) {
      ++naive_leaks;
    }
    if (::testing::Test::HasFailure()) return;
  }
  // The generator exercises secondary suppression: many tables would leak
  // under primary suppression alone.
  EXPECT_GT(secondary, 1000u);
  EXPECT_GT(naive_leaks, 1000u);
}

TEST(DecidePropertyTest, LargestTableFinishes) {
  std::mt19937_64 rng(7);
  std::vector<CellStats> cells;
  for (size_t i = 0; i < Table::kMaxCells; ++i) {
    const uint64_t n = std::uniform_int_distribution<uint64_t>(0, 14)(rng);
    cells.push_back(S(n, n == 0 ? 0 : std::min<uint64_t>(n, 3)));
  }
  KRING_ASSERT_OK_AND_ASSIGN(Table t, Table::Create(100, 100, cells));
  const Decision d = Decide(t, DisclosurePolicy::Default(), false);
  ExpectSafe(t, d, DisclosurePolicy::Default().ThresholdsFor(false), 5);
}

}  // namespace
}  // namespace kring::query
