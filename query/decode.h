#ifndef KRING_QUERY_DECODE_H_
#define KRING_QUERY_DECODE_H_

// Turning a summed vector (the sum over schools of their contributions)
// back into statistics. Every figure is computed from exact integer sums:
// centred sums of squares and cross-products in 128-bit integers, then one
// rounding to double; Eigen for the regression's linear algebra and
// Boost.Math for the t, normal and chi-square distributions.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "query/layout.h"

namespace kring::query {

class NoisePlan;

// One figure of a cell: e.g. {"belong_perception", "mean", 2.91}. `measure`
// is "-" for counts, "a~b" for a correlation pair, "outcome~coefficient"
// for a regression coefficient.
struct Figure {
  std::string measure;
  std::string stat;
  double value = 0;
};

struct CellResult {
  size_t cell = 0;          // layout cell index
  std::vector<int> levels;  // per group variable; kMargin for a margin
  std::string name;         // "track=havo,gender=*", "all"
  bool is_margin = false;   // any variable at its margin
  uint64_t records = 0;     // records in the cell
  uint64_t schools = 0;     // schools with records in the cell
  // The smallest number of respondents behind any figure of the cell (the
  // number disclosure thresholds apply to).
  uint64_t respondents = 0;
  std::vector<Figure> figures;
  // Why a figure is absent although the cell has records (e.g. "the
  // predictors are linearly dependent").
  std::vector<std::string> notes;
};

struct Result {
  std::vector<CellResult> cells;  // every cell, margins included
  // Figures of the whole table, e.g. a crosstab's chi-square test.
  std::vector<Figure> table;
  // The sums the figures were decoded from (layout.size() elements; for
  // noisy sums, after post-processing): what AddNoiseToResult propagates
  // the noise through.
  std::vector<uint64_t> sums;

  // "<cell>|<measure>|<stat>" -> value for every figure (the table's
  // figures under cell "all").
  std::map<std::string, double> Flat() const;
};

// Decodes `sum` (layout.size() elements). INVALID_ARGUMENT on a length
// mismatch or sums that cannot come from any set of records (e.g. more
// respondents than records).
absl::StatusOr<Result> Decode(const Layout& layout,
                              std::span<const uint64_t> sum);

// Decodes sums of `contributors` schools that carry the schools' noise
// under `plan` (query/noise.h), after post-processing: every element is
// clamped at 0, then made consistent by the statistic's bounds
// (StatisticKind::RepairNoisy: records at least every n, a mean's sums
// within the scale, variances not negative, shares within [0, 1]); a
// cell's school count is the schools rule's estimate
// (NoisePlan::SchoolsAtLeast), capped at its records and respondents; a
// cell whose noisy sums no set of records could give keeps no figures
// (respondents 0, so disclosure suppresses it) and says why in its notes.
// INVALID_ARGUMENT only on a length mismatch.
absl::StatusOr<Result> DecodeNoisy(const Layout& layout, const NoisePlan& plan,
                                   std::span<const int64_t> noisy,
                                   uint32_t contributors);

}  // namespace kring::query

#endif  // KRING_QUERY_DECODE_H_
