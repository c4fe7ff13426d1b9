#ifndef KRING_QUERY_STATISTICS_RELIABILITY_H_
#define KRING_QUERY_STATISTICS_RELIABILITY_H_

#include "query/statistics/cross_products.h"

namespace kring::query::statistics {

// Cronbach's alpha of one scale, with each item's item-rest correlation.
class Reliability final : public CrossProducts {
 public:
  Statistic id() const override { return Statistic::kReliability; }
  std::string_view name() const override { return "reliability"; }
  absl::Status Check(const Query& query) const override;
  std::string Describe(const Query& query) const override;
  absl::Status DecodeCell(const Layout& layout, const uint64_t* block,
                          CellResult& cell) const override;
  // The noise SDs of alpha and of every item-rest correlation (delta
  // method), a 95% interval for alpha (Feldt's F interval, widened by the
  // noise, at most 1) and for each item-rest correlation (Fisher z,
  // widened by the noise: NoisyFisherInterval).
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

#endif  // KRING_QUERY_STATISTICS_RELIABILITY_H_
