#ifndef KRING_QUERY_STATISTICS_PROPORTION_H_
#define KRING_QUERY_STATISTICS_PROPORTION_H_

#include "query/statistics/statistic.h"

namespace kring::query::statistics {

// The share of pupils below or above a cut-off on each measure, with its
// 95% Wilson interval.
class Proportion final : public StatisticKind {
 public:
  Statistic id() const override { return Statistic::kProportion; }
  std::string_view name() const override { return "proportion"; }
  bool CanTrend() const override { return true; }
  bool TakesCutoff() const override { return true; }
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
  // "n" and "count", and k: the pupils beyond the cut-off.
  bool CountsPeople(const Figure& f) const override;
  // p and its interval from the rounded k and n.
  void ShareFromRounded(std::vector<Figure>& figures) const override;
};

}  // namespace kring::query::statistics

#endif  // KRING_QUERY_STATISTICS_PROPORTION_H_
