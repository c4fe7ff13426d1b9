#include "query/decode.h"

#include <algorithm>

#include "query/noise.h"
#include "query/statistics/statistic.h"
#include "util/str_cat.h"

namespace kring::query {

std::map<std::string, double> Result::Flat() const {
  std::map<std::string, double> out;
  for (const CellResult& c : cells) {
    for (const Figure& f : c.figures) {
      out[StrCat(c.name, "|", f.measure, "|", f.stat)] = f.value;
    }
  }
  for (const Figure& f : table) {
    out[StrCat("all|", f.measure, "|", f.stat)] = f.value;
  }
  return out;
}

namespace {

// Decode and DecodeNoisy; `noisy` turns impossible sums into notes.
absl::StatusOr<Result> DecodeSums(const Layout& layout,
                                  std::span<const uint64_t> sum, bool noisy) {
  if (sum.size() != layout.size()) {
    return absl::InvalidArgumentError(StrCat("the summed vector has ",
                                             sum.size(),
                                             " elements; the query's "
                                             "layout has ",
                                             layout.size()));
  }
  const statistics::StatisticKind& stat =
      statistics::StatisticFor(layout.query().statistic());
  Result result;
  result.cells.resize(layout.cell_count());
  for (size_t c = 0; c < layout.cell_count(); ++c) {
    CellResult& cell = result.cells[c];
    const uint64_t* block = &sum[c * layout.cell_width()];
    cell.cell = c;
    cell.levels = layout.CellLevels(c);
    cell.name = layout.CellName(c);
    cell.is_margin = std::any_of(cell.levels.begin(), cell.levels.end(),
                                 [](int l) { return l == kMargin; });
    cell.records = block[Layout::kRecords];
    cell.schools = block[Layout::kSchools];
    cell.respondents = cell.records;
    if (cell.schools > cell.records) {
      return absl::InvalidArgumentError(
          StrCat("cell ", cell.name,
                 ": more schools than records; the summed "
                 "vector is not a sum of kring contributions for this query"));
    }
    if (cell.records == 0) {
      cell.respondents = 0;
      continue;
    }
    if (auto s = stat.DecodeCell(layout, block, cell); !s.ok()) {
      if (!noisy) return s;
      cell.figures.clear();
      cell.respondents = 0;
      cell.notes.push_back(
          "the noise that protects pupils is larger than this cell's "
          "figures can bear");
    }
  }
  stat.DecodeTable(layout, sum, result);
  result.sums.assign(sum.begin(), sum.end());
  return result;
}

}  // namespace

absl::StatusOr<Result> Decode(const Layout& layout,
                              std::span<const uint64_t> sum) {
  return DecodeSums(layout, sum, /*noisy=*/false);
}

absl::StatusOr<Result> DecodeNoisy(const Layout& layout, const NoisePlan& plan,
                                   std::span<const int64_t> noisy,
                                   uint32_t contributors) {
  if (noisy.size() != layout.size()) {
    return absl::InvalidArgumentError(
        StrCat("the summed vector has ", noisy.size(),
               " elements; the query's layout has ", layout.size()));
  }
  std::vector<uint64_t> sum(noisy.size());
  for (size_t i = 0; i < sum.size(); ++i) {
    sum[i] = noisy[i] < 0 ? 0 : static_cast<uint64_t>(noisy[i]);
  }
  const statistics::StatisticKind& stat =
      statistics::StatisticFor(layout.query().statistic());
  for (size_t c = 0; c < layout.cell_count(); ++c) {
    uint64_t* block = &sum[c * layout.cell_width()];
    stat.RepairNoisy(layout, block);
    stat.DropNoiseOnlyCounts(layout, plan, contributors, c, block);
    const int64_t indicator = noisy[c * layout.cell_width() + Layout::kSchools];
    block[Layout::kSchools] = std::min(
        plan.SchoolsAtLeast(indicator, contributors), block[Layout::kRecords]);
  }
  absl::StatusOr<Result> result = DecodeSums(layout, sum, /*noisy=*/true);
  if (!result.ok()) return result;
  for (CellResult& cell : result->cells) {
    cell.schools = std::min(cell.schools, cell.respondents);
    if (cell.respondents > 0 && cell.schools == 0) cell.schools = 1;
  }
  return result;
}

}  // namespace kring::query
