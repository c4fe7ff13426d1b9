#include "query/statistics/count.h"

#include <cmath>

#include "query/statistics/helpers.h"
#include "util/str_cat.h"

namespace kring::query::statistics {

absl::Status Count::Check(const Query& query) const {
  if (!query.measures().empty()) {
    return Invalid(StrCat(name(), " counts pupils and takes no measures"));
  }
  return absl::OkStatus();
}

std::string Count::Describe(const Query&) const { return "Number of pupils"; }

absl::Status Count::DecodeCell(const Layout&, const uint64_t*,
                               CellResult& cell) const {
  CellFigures(cell).Add("-", "count", static_cast<double>(cell.records));
  cell.respondents = cell.records;
  return absl::OkStatus();
}

void Count::AddNoise(const Layout& layout, const NoisePlan& plan,
                     uint32_t shares, std::span<const uint64_t>,
                     CellResult& cell) const {
  if (FindFigure(cell.figures, "-", "count") == nullptr) return;
  const double var = plan.NoiseVariance(
      cell.cell * layout.cell_width() + Layout::kRecords, shares);
  cell.figures.push_back({"-", "noise_sd", std::sqrt(var)});
}

}  // namespace kring::query::statistics
