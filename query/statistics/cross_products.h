#ifndef KRING_QUERY_STATISTICS_CROSS_PRODUCTS_H_
#define KRING_QUERY_STATISTICS_CROSS_PRODUCTS_H_

#include <vector>

#include "query/statistics/helpers.h"
#include "query/statistics/statistic.h"

namespace kring::query::statistics {

// Statistics computed from one cross-product block over a list of columns
// (correlation, reliability, regression): per cell n, the sums and the
// upper triangle of products of records complete on every column
// (listwise deletion). Subclasses name the columns and give their values.
class CrossProducts : public StatisticKind {
 public:
  void AddElements(const Query& query, CellBlock& block) const final;
  void AddRecord(const Layout& layout, const v1::PupilRecord& r,
                 std::string_view municipality,
                 std::span<uint64_t> delta) const final;
  uint64_t Respondents(const Layout& layout, const uint64_t* block) const final;
  // Beyond the default: sums and products within what n records can give
  // (all 0 for n = 0) and no negative variance. (A centred matrix that is
  // still not positive semidefinite is repaired where it is used:
  // MakePositiveSemidefinite.)
  void RepairNoisy(const Layout& layout, uint64_t* block) const final;
  // If the principal submatrix of the centred matrix `c` on `columns` is
  // not positive semidefinite (noise; never for sums of records, up to
  // rounding), replaces it by the nearest one in correlation scale
  // (eigenvalues clipped at 0, plus a ridge of columns.size() on the
  // diagonal, negligible against n^2 variances, that keeps it so after
  // rounding) and returns true.
  static bool MakePositiveSemidefinite(std::vector<std::vector<int128>>& c,
                                       std::span<const size_t> columns);
  // The centred matrix n * sum(xy) - sum(x) sum(y) of a block read as real
  // numbers (for DeltaMethodSd).
  static std::vector<std::vector<long double>> CentredReal(
      const Layout& layout, std::span<const long double> x);

 protected:
  struct Column {
    std::string name;
    uint64_t max = 0;  // largest value of a record
  };
  // The columns, in block order. May record more in `block` (a
  // regression's design names).
  virtual std::vector<Column> Columns(const Query& query,
                                      CellBlock& block) const = 0;
  // Writes record `r`'s value of every column to `values`
  // (layout.columns() entries); false when `r` misses one.
  virtual bool Values(const Query& query, const v1::PupilRecord& r,
                      std::string_view municipality,
                      std::span<uint64_t> values) const = 0;

  // The block's n and its exact centred matrix `c` (n^2 times the
  // covariance matrix of the columns); lowers the cell's respondents to n.
  // INVALID_ARGUMENT on inconsistent sums.
  static absl::Status Centred(const Layout& layout, const uint64_t* block,
                              CellFigures& out, uint64_t& n,
                              std::vector<std::vector<int128>>& c);
};

}  // namespace kring::query::statistics

#endif  // KRING_QUERY_STATISTICS_CROSS_PRODUCTS_H_
