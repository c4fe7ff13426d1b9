#ifndef KRING_QUERY_STATISTICS_CORRELATION_H_
#define KRING_QUERY_STATISTICS_CORRELATION_H_

#include "query/statistics/cross_products.h"

namespace kring::query::statistics {

// Pearson correlations (with p-values) between every pair of measures.
class Correlation final : public CrossProducts {
 public:
  Statistic id() const override { return Statistic::kCorrelation; }
  std::string_view name() const override { return "correlation"; }
  absl::Status Check(const Query& query) const override;
  std::string Describe(const Query& query) const override;
  absl::Status DecodeCell(const Layout& layout, const uint64_t* block,
                          CellResult& cell) const override;
  // Per pair: the noise SD of r (delta method through n, the sums and the
  // products), a 95% interval for r (Fisher's z, widened by the noise) and
  // a p-value against the sampling and noise variance together.
  void AddNoise(const Layout& layout, const NoisePlan& plan, uint32_t shares,
                std::span<const uint64_t> sums,
                CellResult& cell) const override;

 private:
  std::vector<Column> Columns(const Query& query,
                              CellBlock& block) const override;
  bool Values(const Query& query, const v1::PupilRecord& r,
              std::string_view municipality,
              std::span<uint64_t> values) const override;
};

}  // namespace kring::query::statistics

#endif  // KRING_QUERY_STATISTICS_CORRELATION_H_
