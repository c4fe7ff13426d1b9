#ifndef KRING_QUERY_STATISTICS_DISTRIBUTION_H_
#define KRING_QUERY_STATISTICS_DISTRIBUTION_H_

#include "query/statistics/statistic.h"

namespace kring::query::statistics {

// The counts and shares of each answer category of each item.
class Distribution final : public StatisticKind {
 public:
  Statistic id() const override { return Statistic::kDistribution; }
  std::string_view name() const override { return "distribution"; }
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
  absl::Status DecodeCell(const Layout& layout, const uint64_t* block,
                          CellResult& cell) const override;
  // Per item: the noise SDs of n ("noise_sd_n"), of each answer's count
  // ("noise_sd_count_<code>") and share ("noise_sd_share_<code>", delta
  // method; the shares of an item sum to 1); each share's Wilson interval
  // (ci_low_<code>, ci_high_<code>) widened by its noise.
  void AddNoise(const Layout& layout, const NoisePlan& plan, uint32_t shares,
                std::span<const uint64_t> sums,
                CellResult& cell) const override;
  // "n" and "count", and count_<code>: the pupils per answer.
  bool CountsPeople(const Figure& f) const override;
  // share_<code> and its interval from the rounded counts, over their sum
  // (so an item's shares still sum to 1).
  void ShareFromRounded(std::vector<Figure>& figures) const override;
};

}  // namespace kring::query::statistics

#endif  // KRING_QUERY_STATISTICS_DISTRIBUTION_H_
