#ifndef KRING_QUERY_LAYOUT_H_
#define KRING_QUERY_LAYOUT_H_

// The vector a school contributes to a query: integer sufficient statistics
// (counts, sums, sums of squares and cross-products) per cell, derived from
// the query alone so that every node and the coordinator agree on it.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kring/v1/record.pb.h"
#include "query/spec.h"

namespace kring::query {

// A cell's position per group variable: a level index, or kMargin for the
// margin ("all levels") of that variable.
inline constexpr int kMargin = -1;

// The layout of a query's vector. Cells are every combination of the group
// variables' levels and margins (so margins and the grand total are
// computed by the nodes, not added up afterwards); each cell holds the same
// block of elements:
//   [0] records in the cell, [1] 1 if this school has any (else 0),
//   then the statistic's sufficient statistics (see element_names()).
// Measure values are the scaled integers of Query::ValueOf.
// Immutable; thread-safe; refers to the query, which must outlive it.
class Layout {
 public:
  // Records a node may hold in a query's population; more is an error at
  // evaluation (the bound keeps the secure-aggregation modulus small).
  static constexpr uint64_t kMaxRecordsPerNode = uint64_t{1} << 20;

  explicit Layout(const Query& query);

  const Query& query() const { return *query_; }
  size_t size() const { return cells_ * width_; }
  size_t cell_count() const { return cells_; }
  size_t cell_width() const { return width_; }
  // Names of the elements of a cell block, e.g. "records", "schools",
  // "belong_perception n", "belong_perception sum", "sum ST034Q01*ST034Q02".
  const std::vector<std::string>& element_names() const { return names_; }

  // Cell index <-> levels (one entry per group variable, kMargin allowed).
  size_t CellIndex(std::span<const int> levels) const;
  std::vector<int> CellLevels(size_t cell) const;
  // "track=havo,gender=*" ("all" without group variables).
  std::string CellName(size_t cell) const;
  // "track=havo,gender=* | belong_perception sum" for element `i`.
  std::string Describe(size_t i) const;

  // The largest value each element of one node's vector can take.
  std::vector<uint64_t> NodeBounds() const;
  // Per cell-block element: the most one record adds to it (the school
  // indicator: 0; it is set per school, not per record).
  const std::vector<uint64_t>& per_record_max() const {
    return per_record_max_;
  }

  // Offsets within a cell block.
  static constexpr size_t kRecords = 0;
  static constexpr size_t kSchools = 1;
  static constexpr size_t kStats = 2;
  // Distribution: offset of measure m's first option count.
  size_t DistributionOffset(size_t m) const { return dist_offset_[m]; }
  // Correlation / reliability / regression: the cross-product block over
  // `columns()` variables: n, then sums, then the upper triangle of
  // products (i <= j), in row order.
  size_t columns() const { return columns_; }
  size_t SumOffset(size_t i) const { return kStats + 1 + i; }
  size_t ProductOffset(size_t i, size_t j) const;
  // Regression design columns (after the intercept): numeric predictors,
  // then one dummy per level of each categorical predictor; the outcome is
  // the last column. Names as in results ("belong_opportunities",
  // "gender=meisje").
  const std::vector<std::string>& design_names() const { return design_names_; }

 private:
  const Query* query_;
  size_t cells_ = 1;
  size_t width_ = 0;
  std::vector<size_t> radix_;  // levels + 1 per group variable
  std::vector<std::string> names_;
  std::vector<uint64_t> per_record_max_;
  std::vector<size_t> dist_offset_;
  size_t columns_ = 0;
  std::vector<std::string> design_names_;
};

// The smallest number of respondents behind any figure of a cell block
// (records for counts; each measure's n; the listwise n of a cross-product
// block).
uint64_t CellRespondents(const Layout& layout, const uint64_t* block);

// A school's contribution to a query: its records, filtered to the
// population, summed into the layout. `municipality` is the school's own
// (from its enrollment). A cell's "schools" element is
// min(CellRespondents, school_cap): 0/1 by default; noisy runs pass the
// noise plan's cap (query/noise.h). FAILED_PRECONDITION if more than
// kMaxRecordsPerNode records are in the population.
absl::StatusOr<std::vector<uint64_t>> Contribution(
    const Layout& layout, std::span<const v1::PupilRecord> records,
    std::string_view municipality, uint64_t school_cap = 1);

}  // namespace kring::query

#endif  // KRING_QUERY_LAYOUT_H_
