#ifndef KRING_QUERY_STATISTICS_REGRESSION_H_
#define KRING_QUERY_STATISTICS_REGRESSION_H_

#include "query/statistics/cross_products.h"

namespace kring::query::statistics {

// A linear regression of one outcome measure on numeric predictors and
// dummy-coded group variables (the first occurring level the reference).
class Regression final : public CrossProducts {
 public:
  Statistic id() const override { return Statistic::kRegression; }
  std::string_view name() const override { return "regression"; }
  bool TakesPredictors() const override { return true; }
  absl::Status Check(const Query& query) const override;
  std::string Describe(const Query& query) const override;
  // A level of a categorical predictor whose noisy count is within three
  // noise SDs of 0 gets no dummy (its few pupils, if any, count with the
  // reference level): an empty level's dummy would be pure noise.
  void DropNoiseOnlyCounts(const Layout& layout, const NoisePlan& plan,
                           uint32_t shares, size_t cell,
                           uint64_t* block) const override;
  absl::Status DecodeCell(const Layout& layout, const uint64_t* block,
                          CellResult& cell) const override;
  // Per coefficient: its noise SD (delta method through the least-squares
  // solution), a 95% interval (t interval widened by the noise) and t and
  // p against the sampling and noise variance together; noise SDs of r2
  // and adj_r2; a note where levels got no dummy (DropNoiseOnlyCounts).
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

#endif  // KRING_QUERY_STATISTICS_REGRESSION_H_
