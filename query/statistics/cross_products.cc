#include "query/statistics/cross_products.h"

#include <algorithm>

#include "util/str_cat.h"

namespace kring::query::statistics {

void CrossProducts::AddElements(const Query& query, CellBlock& block) const {
  const std::vector<Column> cols = Columns(query, block);
  block.columns = cols.size();
  block.Add("n", 1);
  for (const Column& c : cols) block.Add(StrCat("sum ", c.name), c.max);
  for (size_t i = 0; i < cols.size(); ++i) {
    for (size_t j = i; j < cols.size(); ++j) {
      block.Add(StrCat("sum ", cols[i].name, "*", cols[j].name),
                cols[i].max * cols[j].max);
    }
  }
}

void CrossProducts::AddRecord(const Layout& layout, const v1::PupilRecord& r,
                              std::string_view municipality,
                              std::span<uint64_t> delta) const {
  const size_t k = layout.columns();
  // The sums are contiguous: the record's values go there directly.
  std::span<uint64_t> values = delta.subspan(layout.SumOffset(0), k);
  if (!Values(layout.query(), r, municipality, values)) {
    std::fill(values.begin(), values.end(), 0);
    return;
  }
  delta[Layout::kStats] = 1;
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = i; j < k; ++j) {
      delta[layout.ProductOffset(i, j)] = values[i] * values[j];
    }
  }
}

uint64_t CrossProducts::Respondents(const Layout&,
                                    const uint64_t* block) const {
  return std::min(block[Layout::kRecords], block[Layout::kStats]);
}

absl::Status CrossProducts::Centred(const Layout& layout, const uint64_t* block,
                                    CellFigures& out, uint64_t& n,
                                    std::vector<std::vector<int128>>& c) {
  n = block[Layout::kStats];
  if (auto s = out.CheckRespondents(n); !s.ok()) return s;
  const size_t k = layout.columns();
  c.assign(k, std::vector<int128>(k));
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = i; j < k; ++j) {
      c[i][j] = c[j][i] =
          Centered(n, block[layout.ProductOffset(i, j)],
                   block[layout.SumOffset(i)], block[layout.SumOffset(j)]);
    }
    if (c[i][i] < 0) {
      return absl::InvalidArgumentError(
          StrCat("cell ", out.cell().name, ": inconsistent sums of squares"));
    }
  }
  out.Respondents(n);
  return absl::OkStatus();
}

}  // namespace kring::query::statistics
