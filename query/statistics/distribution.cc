#include "query/statistics/distribution.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "query/statistics/helpers.h"
#include "util/str_cat.h"

namespace kring::query::statistics {

absl::Status Distribution::Check(const Query& query) const {
  if (query.measures().empty()) {
    return Invalid("distribution needs at least one item");
  }
  for (const Measure& m : query.measures()) {
    if (m.is_scale) {
      return Invalid(
          StrCat("distribution is per answer category, so it needs items; `",
                 m.id, "` is a scale (use proportion or mean for scales)"));
    }
  }
  return absl::OkStatus();
}

std::string Distribution::Describe(const Query& query) const {
  return StrCat("Distribution of the answers to ", MeasureNames(query));
}

void Distribution::AddElements(const Query& query, CellBlock& block) const {
  const survey::Instrument& ins = query.instrument();
  for (const Measure& m : query.measures()) {
    block.distribution_offsets.push_back(block.names.size());
    for (const auto& o : ins.ResponseScaleOf(m.item).options) {
      block.Add(StrCat(m.id, " answer ", o.code), 1);
    }
  }
}

void Distribution::AddRecord(const Layout& layout, const v1::PupilRecord& r,
                             std::string_view,
                             std::span<uint64_t> delta) const {
  const Query& q = layout.query();
  for (size_t mi = 0; mi < q.measures().size(); ++mi) {
    const Measure& m = q.measures()[mi];
    if (static_cast<int>(m.item) >= r.responses_size()) continue;
    const uint32_t code = r.responses(static_cast<int>(m.item));
    const auto& options = q.instrument().ResponseScaleOf(m.item).options;
    for (size_t o = 0; o < options.size(); ++o) {
      if (options[o].code == code) {
        delta[layout.DistributionOffset(mi) + o] = 1;
      }
    }
  }
}

uint64_t Distribution::Respondents(const Layout& layout,
                                   const uint64_t* block) const {
  const Query& q = layout.query();
  uint64_t n = block[Layout::kRecords];
  for (size_t m = 0; m < q.measures().size(); ++m) {
    const size_t options =
        q.instrument().ResponseScaleOf(q.measures()[m].item).options.size();
    uint64_t sum = 0;
    for (size_t o = 0; o < options; ++o) {
      sum += block[layout.DistributionOffset(m) + o];
    }
    n = std::min(n, sum);
  }
  return n;
}

void Distribution::RepairNoisy(const Layout& layout, uint64_t* block) const {
  StatisticKind::RepairNoisy(layout, block);
  const Query& q = layout.query();
  for (size_t mi = 0; mi < q.measures().size(); ++mi) {
    const size_t at = layout.DistributionOffset(mi);
    uint64_t n = 0;
    const size_t options =
        q.instrument().ResponseScaleOf(q.measures()[mi].item).options.size();
    for (size_t o = 0; o < options; ++o) n += block[at + o];
    block[Layout::kRecords] = std::max(block[Layout::kRecords], n);
  }
}

absl::Status Distribution::DecodeCell(const Layout& layout,
                                      const uint64_t* block,
                                      CellResult& cell) const {
  const Query& q = layout.query();
  CellFigures out(cell);
  for (size_t mi = 0; mi < q.measures().size(); ++mi) {
    const Measure& m = q.measures()[mi];
    const auto& options = q.instrument().ResponseScaleOf(m.item).options;
    const size_t at = layout.DistributionOffset(mi);
    uint64_t n = 0;
    for (size_t o = 0; o < options.size(); ++o) n += block[at + o];
    if (auto s = out.CheckRespondents(n); !s.ok()) return s;
    out.Respondents(n);
    out.Add(m.id, "n", D(n));
    for (size_t o = 0; o < options.size(); ++o) {
      out.Add(m.id, StrCat("count_", options[o].code), D(block[at + o]));
      if (n > 0) {
        const Wilson w = WilsonInterval(D(block[at + o]), D(n));
        out.Add(m.id, StrCat("share_", options[o].code), w.p);
        out.Add(m.id, StrCat("ci_low_", options[o].code), w.low);
        out.Add(m.id, StrCat("ci_high_", options[o].code), w.high);
      }
    }
  }
  return absl::OkStatus();
}

// share_o = c_o / n, n = sum of the counts: by the delta method its noise
// variance is ((1 - p_o)^2 Var c_o + p_o^2 sum_{o' != o} Var c_o') / n^2.
void Distribution::AddNoise(const Layout& layout, const NoisePlan& plan,
                            uint32_t shares, std::span<const uint64_t> sums,
                            CellResult& cell) const {
  const Query& q = layout.query();
  const size_t base = cell.cell * layout.cell_width();
  for (size_t mi = 0; mi < q.measures().size(); ++mi) {
    const Measure& m = q.measures()[mi];
    if (FindFigure(cell.figures, m.id, "n") == nullptr) continue;
    const auto& options = q.instrument().ResponseScaleOf(m.item).options;
    const size_t at = base + layout.DistributionOffset(mi);
    double n = 0, var_n = 0;
    for (size_t o = 0; o < options.size(); ++o) {
      n += D(sums[at + o]);
      var_n += plan.NoiseVariance(at + o, shares);
    }
    cell.figures.push_back({m.id, "noise_sd_n", std::sqrt(var_n)});
    for (size_t o = 0; o < options.size(); ++o) {
      const std::string code = StrCat(options[o].code);
      const double var = plan.NoiseVariance(at + o, shares);
      cell.figures.push_back(
          {m.id, StrCat("noise_sd_count_", code), std::sqrt(var)});
      if (n <= 0) continue;
      const double p = D(sums[at + o]) / n;
      const double sd =
          std::sqrt((1 - p) * (1 - p) * var + p * p * (var_n - var)) / n;
      cell.figures.push_back({m.id, StrCat("noise_sd_share_", code), sd});
      const Wilson w = NoisyWilsonInterval(D(sums[at + o]), n, sd);
      for (Figure& f : cell.figures) {
        if (f.measure != m.id) continue;
        if (f.stat == StrCat("ci_low_", code)) f.value = w.low;
        if (f.stat == StrCat("ci_high_", code)) f.value = w.high;
      }
    }
  }
}

bool Distribution::CountsPeople(const Figure& f) const {
  return StatisticKind::CountsPeople(f) || f.stat.starts_with("count_");
}

void Distribution::ShareFromRounded(std::vector<Figure>& figures) const {
  std::map<std::string, std::map<std::string, double>> by_measure;
  std::map<std::string, double> total;  // per measure: its rounded counts
  for (const Figure& f : figures) {
    by_measure[f.measure][f.stat] = f.value;
    if (f.stat.starts_with("count_")) total[f.measure] += f.value;
  }
  for (Figure& f : figures) {
    const bool share = f.stat.starts_with("share_");
    const bool low = f.stat.starts_with("ci_low_");
    if (!share && !low && !f.stat.starts_with("ci_high_")) continue;
    const std::string code = f.stat.substr(f.stat.rfind('_') + 1);
    const auto& m = by_measure[f.measure];
    const double n = total[f.measure];
    const double count = m.at(StrCat("count_", code));
    if (n <= 0) {
      f.value = 0.0;
      continue;
    }
    auto sd = m.find(StrCat("noise_sd_share_", code));
    const Wilson w =
        NoisyWilsonInterval(count, n, sd == m.end() ? 0.0 : sd->second);
    f.value = share ? w.p : low ? w.low : w.high;
  }
}

}  // namespace kring::query::statistics
