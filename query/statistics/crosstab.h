#ifndef KRING_QUERY_STATISTICS_CROSSTAB_H_
#define KRING_QUERY_STATISTICS_CROSSTAB_H_

#include "query/statistics/statistic.h"

namespace kring::query::statistics {

// Pupil counts over two group variables (rows and columns) with row shares
// and a chi-square test of independence; no measures.
class Crosstab final : public StatisticKind {
 public:
  Statistic id() const override { return Statistic::kCrosstab; }
  std::string_view name() const override { return "crosstab"; }
  absl::Status Check(const Query& query) const override;
  std::string Describe(const Query& query) const override;
  std::string GroupPhrase(const std::vector<std::string>& by) const override;
  absl::Status DecodeCell(const Layout& layout, const uint64_t* block,
                          CellResult& cell) const override;
  // Row shares of the inner cells and the chi-square test.
  void DecodeTable(const Layout& layout, std::span<const uint64_t> sum,
                   Result& result) const override;
  // The noise SD of each count ("noise_sd") and row share
  // ("noise_sd_row_share": the cell's and its row margin's noise).
  void AddNoise(const Layout& layout, const NoisePlan& plan, uint32_t shares,
                std::span<const uint64_t> sums,
                CellResult& cell) const override;
  // The chi-square test's p-value against the noise: the noise inflates
  // the statistic by at most the factor "noise_factor" (1 + the noise
  // variance of a count over the smallest expected count), so p is
  // computed for chi2 / noise_factor (conservative; docs/privacy.md).
  void AddNoiseToTable(const Layout& layout, const NoisePlan& plan,
                       uint32_t shares, Result& result) const override;
  // Row shares (and their noise SDs) only where the row's margin is
  // released, from the rounded counts.
  void ReleaseAcrossCells(const Layout& layout, const Result& result,
                          ReleasedResult& released) const override;
};

}  // namespace kring::query::statistics

#endif  // KRING_QUERY_STATISTICS_CROSSTAB_H_
