#ifndef KRING_QUERY_STATISTICS_COUNT_H_
#define KRING_QUERY_STATISTICS_COUNT_H_

#include "query/statistics/statistic.h"

namespace kring::query::statistics {

// The number of pupils per cell; no measures.
class Count final : public StatisticKind {
 public:
  Statistic id() const override { return Statistic::kCount; }
  std::string_view name() const override { return "count"; }
  bool CanTrend() const override { return true; }
  absl::Status Check(const Query& query) const override;
  std::string Describe(const Query& query) const override;
  absl::Status DecodeCell(const Layout& layout, const uint64_t* block,
                          CellResult& cell) const override;
  // The noise SD of the count.
  void AddNoise(const Layout& layout, const NoisePlan& plan, uint32_t shares,
                std::span<const uint64_t> sums,
                CellResult& cell) const override;
};

}  // namespace kring::query::statistics

#endif  // KRING_QUERY_STATISTICS_COUNT_H_
