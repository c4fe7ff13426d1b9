#include "query/statistics/reliability.h"

#include <cmath>

#include "util/str_cat.h"

namespace kring::query::statistics {

absl::Status Reliability::Check(const Query& query) const {
  const std::vector<Measure>& ms = query.measures();
  if (ms.size() != 1 || !ms[0].is_scale) {
    return Invalid("reliability needs exactly one measure, a scale");
  }
  if (ms[0].scale_items.size() < 2) {
    return Invalid(StrCat("reliability needs a scale of at least two items; `",
                          ms[0].id, "` has one"));
  }
  return absl::OkStatus();
}

std::string Reliability::Describe(const Query& query) const {
  return StrCat("Reliability (Cronbach's alpha) of ", MeasureNames(query));
}

std::vector<CrossProducts::Column> Reliability::Columns(const Query& query,
                                                        CellBlock&) const {
  const survey::Instrument& ins = query.instrument();
  std::vector<Column> cols;
  for (size_t i : query.measures()[0].scale_items) {
    cols.push_back({ins.items()[i].id, ins.ResponseScaleOf(i).max_code()});
  }
  return cols;
}

bool Reliability::Values(const Query& query, const v1::PupilRecord& r,
                         std::string_view, std::span<uint64_t> values) const {
  size_t at = 0;
  for (size_t i : query.measures()[0].scale_items) {
    Measure item;
    item.item = i;
    std::optional<uint64_t> v = query.ValueOf(item, r);
    if (!v) return false;
    values[at++] = *v;
  }
  return true;
}

absl::Status Reliability::DecodeCell(const Layout& layout,
                                     const uint64_t* block,
                                     CellResult& cell) const {
  CellFigures out(cell);
  uint64_t n;
  std::vector<std::vector<int128>> c;
  if (auto s = Centred(layout, block, out, n, c); !s.ok()) return s;
  const Measure& scale = layout.query().measures()[0];
  const size_t k = c.size();
  out.Add(scale.id, "n", D(n));
  out.Add(scale.id, "k", D(k));
  if (n < 2) return absl::OkStatus();
  int128 diag = 0, all = 0;
  for (size_t i = 0; i < k; ++i) {
    diag += c[i][i];
    for (size_t j = 0; j < k; ++j) all += c[i][j];
  }
  if (all == 0) {
    out.Note(StrCat(scale.id, ": no alpha, the scale total is constant"));
    return absl::OkStatus();
  }
  const double kk = D(k);
  out.Add(scale.id, "alpha", kk / (kk - 1.0) * (1.0 - D(diag) / D(all)));
  const survey::Instrument& ins = layout.query().instrument();
  for (size_t i = 0; i < k; ++i) {
    int128 cov = 0, rest = 0;
    for (size_t j = 0; j < k; ++j) {
      if (j == i) continue;
      cov += c[i][j];
      for (size_t l = 0; l < k; ++l) {
        if (l != i) rest += c[j][l];
      }
    }
    if (c[i][i] == 0 || rest == 0) continue;
    out.Add(ins.items()[scale.scale_items[i]].id, "item_rest_r",
            D(cov) / std::sqrt(D(c[i][i]) * D(rest)));
  }
  return absl::OkStatus();
}

}  // namespace kring::query::statistics
