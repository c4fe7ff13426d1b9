#ifndef KRING_QUERY_STATISTICS_MEAN_H_
#define KRING_QUERY_STATISTICS_MEAN_H_

#include "query/statistics/statistic.h"

namespace kring::query::statistics {

// The mean of each measure per cell, with its SD and 95% t interval.
class Mean final : public StatisticKind {
 public:
  Statistic id() const override { return Statistic::kMean; }
  std::string_view name() const override { return "mean"; }
  bool CanTrend() const override { return true; }
  absl::Status Check(const Query& query) const override;
  std::string Describe(const Query& query) const override;
  void AddElements(const Query& query, CellBlock& block) const override;
  void AddRecord(const Layout& layout, const v1::PupilRecord& r,
                 std::string_view municipality,
                 std::span<uint64_t> delta) const override;
  uint64_t Respondents(const Layout& layout,
                       const uint64_t* block) const override;
  void RepairNoisy(const Layout& layout, uint64_t* block) const override;
  void AddNoise(const Layout& layout, const NoisePlan& plan, uint32_t shares,
                std::span<const uint64_t> sums,
                CellResult& cell) const override;
  absl::Status DecodeCell(const Layout& layout, const uint64_t* block,
                          CellResult& cell) const override;
};

}  // namespace kring::query::statistics

#endif  // KRING_QUERY_STATISTICS_MEAN_H_
