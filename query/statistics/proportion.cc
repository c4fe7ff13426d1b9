#include "query/statistics/proportion.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "query/statistics/helpers.h"
#include "util/str_cat.h"

namespace kring::query::statistics {

// Per measure: n, pupils beyond the cut-off.
constexpr size_t kStride = 2;

absl::Status Proportion::Check(const Query& query) const {
  const v1::QuerySpec& spec = query.spec();
  if (query.measures().empty()) {
    return Invalid(StrCat(name(), " needs at least one measure"));
  }
  if (!spec.has_cutoff()) {
    return Invalid(
        "proportion needs a `cutoff` (e.g. 2.5) and a `direction` "
        "(below or above)");
  }
  if (!std::isfinite(spec.cutoff())) {
    return Invalid(
        StrCat("`cutoff` must be a finite number, not ", spec.cutoff()));
  }
  if (spec.direction() != "below" && spec.direction() != "above") {
    return Invalid(StrCat("`direction` must be below or above, not `",
                          spec.direction(), "`"));
  }
  return absl::OkStatus();
}

std::string Proportion::Describe(const Query& query) const {
  return StrCat("Share of pupils ", query.above() ? "above " : "below ",
                *query.cutoff(), " on ", MeasureNames(query));
}

void Proportion::AddElements(const Query& query, CellBlock& block) const {
  const std::string cutoff =
      StrCat(query.above() ? "above " : "below ", *query.cutoff());
  for (const Measure& m : query.measures()) {
    block.Add(StrCat(m.id, " n"), 1);
    block.Add(StrCat(m.id, " ", cutoff), 1);
  }
}

void Proportion::AddRecord(const Layout& layout, const v1::PupilRecord& r,
                           std::string_view, std::span<uint64_t> delta) const {
  const Query& q = layout.query();
  size_t at = Layout::kStats;
  for (const Measure& m : q.measures()) {
    if (std::optional<uint64_t> v = q.ValueOf(m, r)) {
      // The unscaled value, rounded exactly as a mean of answers.
      const double value =
          static_cast<double>(*v) / static_cast<double>(m.scale_factor);
      delta[at] = 1;
      delta[at + 1] = q.above() ? value > *q.cutoff() : value < *q.cutoff();
    }
    at += kStride;
  }
}

uint64_t Proportion::Respondents(const Layout& layout,
                                 const uint64_t* block) const {
  uint64_t n = block[Layout::kRecords];
  for (size_t m = 0; m < layout.query().measures().size(); ++m) {
    n = std::min(n, block[Layout::kStats + kStride * m]);
  }
  return n;
}

void Proportion::RepairNoisy(const Layout& layout, uint64_t* block) const {
  StatisticKind::RepairNoisy(layout, block);
  for (size_t m = 0; m < layout.query().measures().size(); ++m) {
    const size_t at = Layout::kStats + kStride * m;
    block[at + 1] = std::min(block[at + 1], block[at]);  // k <= n
  }
}

namespace {

// p = k / n: by the delta method its noise variance is
// (Var k + p^2 Var n) / n^2.
double ShareNoiseSd(double p, double n, double var_k, double var_n) {
  return std::sqrt((var_k + p * p * var_n) / (n * n));
}

}  // namespace

void Proportion::AddNoise(const Layout& layout, const NoisePlan& plan,
                          uint32_t shares, std::span<const uint64_t> /*sums*/,
                          CellResult& cell) const {
  const size_t base = cell.cell * layout.cell_width();
  for (size_t mi = 0; mi < layout.query().measures().size(); ++mi) {
    const std::string& id = layout.query().measures()[mi].id;
    const size_t n_at = base + Layout::kStats + kStride * mi;
    const Figure* n = FindFigure(cell.figures, id, "n");
    const Figure* k = FindFigure(cell.figures, id, "k");
    if (n == nullptr || k == nullptr || n->value <= 0) continue;
    const double sd = ShareNoiseSd(k->value / n->value, n->value,
                                   plan.NoiseVariance(n_at + 1, shares),
                                   plan.NoiseVariance(n_at, shares));
    const Wilson w = NoisyWilsonInterval(k->value, n->value, sd);
    for (Figure& f : cell.figures) {
      if (f.measure != id) continue;
      if (f.stat == "ci_low") f.value = w.low;
      if (f.stat == "ci_high") f.value = w.high;
    }
    cell.figures.push_back({id, "noise_sd", sd});
  }
}

absl::Status Proportion::DecodeCell(const Layout& layout, const uint64_t* block,
                                    CellResult& cell) const {
  CellFigures out(cell);
  size_t at = Layout::kStats;
  for (const Measure& m : layout.query().measures()) {
    const uint64_t n = block[at], k = block[at + 1];
    at += kStride;
    if (auto s = out.CheckRespondents(n); !s.ok()) return s;
    if (k > n) return absl::InvalidArgumentError("more cases than n");
    out.Respondents(n);
    out.Add(m.id, "n", D(n));
    if (n == 0) continue;
    out.Add(m.id, "k", D(k));
    const Wilson w = WilsonInterval(D(k), D(n));
    out.Add(m.id, "p", w.p);
    out.Add(m.id, "ci_low", w.low);
    out.Add(m.id, "ci_high", w.high);
  }
  return absl::OkStatus();
}

bool Proportion::CountsPeople(const Figure& f) const {
  return StatisticKind::CountsPeople(f) || f.stat == "k";
}

void Proportion::ShareFromRounded(std::vector<Figure>& figures) const {
  std::map<std::string, std::map<std::string, double>> by_measure;
  for (const Figure& f : figures) by_measure[f.measure][f.stat] = f.value;
  for (Figure& f : figures) {
    if (f.stat != "p" && f.stat != "ci_low" && f.stat != "ci_high") continue;
    const auto& m = by_measure[f.measure];
    auto n_it = m.find("n");
    const double n = n_it == m.end() ? 0.0 : n_it->second;
    if (n <= 0) continue;
    auto sd_it = m.find("noise_sd");
    const Wilson w = NoisyWilsonInterval(
        m.at("k"), n, sd_it == m.end() ? 0.0 : sd_it->second);
    f.value = f.stat == "p" ? w.p : f.stat == "ci_low" ? w.low : w.high;
  }
}

}  // namespace kring::query::statistics
