#ifndef KRING_QUERY_SPEC_H_
#define KRING_QUERY_SPEC_H_

// A query specification, checked: what is asked (statistic, measures,
// group-by, population) in a form every node and the coordinator derive
// the same vector layout from.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kring/v1/query.pb.h"
#include "kring/v1/record.pb.h"
#include "survey/instrument.h"
#include "survey/registry.h"

namespace kring::query {

enum class Statistic {
  kCount,
  kMean,
  kDistribution,
  kProportion,
  kCrosstab,
  kCorrelation,
  kReliability,
  kRegression,
};
std::string_view StatisticName(Statistic s);  // "mean", ...

// Variables records are grouped (and regressions dummy-coded) by.
enum class GroupVar {
  kMunicipality,
  kSector,
  kTrack,
  kGrade,
  kGender,
  kWave,
  kMigrationBackground,
  kFinancialStrain,
};
std::string_view GroupVarName(GroupVar v);  // "migration_background", ...
// Special-category attributes (stricter disclosure thresholds).
bool IsSpecialCategory(GroupVar v);

// One grouping variable with the levels the query reports, in canonical
// order (enum order; waves and municipalities as listed, sorted).
struct Grouping {
  GroupVar var;
  std::vector<std::string> levels;
};

// A measure: an item (its recoded answer, 1..max) or a scale (the mean of
// its recoded items, when at least min_answered are answered). Values are
// carried as integers: `scale_factor` times the value, where the factor
// (lcm of the possible numbers of answered items) makes every scale score
// an integer.
struct Measure {
  std::string id;
  bool is_scale = false;
  size_t item = 0;                       // item index (items)
  const survey::Scale* scale = nullptr;  // scales
  std::vector<size_t> scale_items;       // item indices (scales)
  uint64_t scale_factor = 1;
  uint64_t max_scaled = 0;  // largest scaled value
  uint64_t min_scaled = 0;  // smallest scaled value
};

// A predictor of a regression: a measure or a dummy-coded group variable.
struct Predictor {
  std::optional<Measure> measure;
  std::optional<Grouping> categorical;
};

// The privacy cost (zCDP rho) of a query that names none, and the most a
// query may ask for. docs/privacy.md explains the choice.
inline constexpr double kDefaultQueryRho = 0.1;
inline constexpr double kMaxQueryRho = 1.0;

// A validated query. Immutable; thread-safe. References the instrument,
// which must outlive it.
class Query {
 public:
  // Checks `spec` against `instrument`: known statistic, measures,
  // group-by and levels (with "did you mean" suggestions), the shape each
  // statistic needs, and disclosure parameters. Errors are
  // INVALID_ARGUMENT with a message a researcher can act on.
  static absl::StatusOr<Query> Create(const v1::QuerySpec& spec,
                                      const survey::Instrument& instrument);
  // As above, with the instrument the spec names (`instrument`, default
  // kring-belonging-v1) taken from `instruments`, which must outlive the
  // query. INVALID_ARGUMENT when the registry does not know it.
  static absl::StatusOr<Query> Create(
      const v1::QuerySpec& spec, const survey::InstrumentRegistry& instruments);

  const v1::QuerySpec& spec() const { return spec_; }
  const survey::Instrument& instrument() const { return *instrument_; }
  // The statistic computed per cell; for a trend, the statistic followed
  // (and `is_trend()` is true, with wave as the first group variable).
  Statistic statistic() const { return statistic_; }
  bool is_trend() const { return trend_; }
  const std::vector<Measure>& measures() const { return measures_; }
  // Group variables in order (a trend's wave first).
  const std::vector<Grouping>& groups() const { return groups_; }
  const std::vector<Predictor>& predictors() const { return predictors_; }
  std::optional<double> cutoff() const { return cutoff_; }
  bool above() const { return above_; }
  // The privacy cost the query spends (zCDP rho): `privacy.rho` of the
  // spec, or kDefaultQueryRho.
  double rho() const { return rho_; }
  // True iff a special-category attribute is grouped by or a predictor.
  bool special_category() const;

  // Whether a record belongs to the population (municipality is the
  // node's own, from its enrollment).
  bool InPopulation(const v1::PupilRecord& r,
                    std::string_view municipality) const;
  // The level index of `r` for grouping `g`, or nullopt when the record's
  // value is not one of the reported levels (it is then left out).
  std::optional<size_t> LevelOf(const Grouping& g, const v1::PupilRecord& r,
                                std::string_view municipality) const;
  // The scaled value of measure `m` for a record, or nullopt if missing.
  std::optional<uint64_t> ValueOf(const Measure& m,
                                  const v1::PupilRecord& r) const;

  // A plain-language summary, e.g. "Mean belonging (perceptions scale) per
  // track, waves 2024-25 and 2025-26, pupils in vo".
  std::string Summary() const;

 private:
  class Builder;  // Create's parser, one method per section of the spec
  Query() = default;

  v1::QuerySpec spec_;
  const survey::Instrument* instrument_ = nullptr;
  Statistic statistic_ = Statistic::kCount;
  bool trend_ = false;
  std::vector<Measure> measures_;
  std::vector<Grouping> groups_;
  std::vector<Predictor> predictors_;
  std::optional<double> cutoff_;
  bool above_ = false;
  double rho_ = kDefaultQueryRho;
  // Population filters (empty = all).
  std::vector<std::string> waves_;
  std::vector<v1::Sector> sectors_;
  std::vector<v1::Track> tracks_;
  std::vector<uint32_t> grades_;
  std::vector<v1::Gender> genders_;
  std::vector<std::string> municipalities_;
};

// Parses a query spec written as JSON (protobuf's JSON mapping; field names
// in lowerCamelCase or snake_case). Unknown fields are errors that suggest
// the closest known name.
absl::StatusOr<v1::QuerySpec> ParseQuerySpecJson(std::string_view json);

// The closest of `candidates` to `word` if it is close enough to be a
// likely typo (edit distance at most 1/3 of the length, at least 1), for
// "did you mean" messages.
std::optional<std::string> ClosestMatch(
    std::string_view word, const std::vector<std::string>& candidates);

}  // namespace kring::query

#endif  // KRING_QUERY_SPEC_H_
