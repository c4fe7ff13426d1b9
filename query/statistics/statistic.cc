#include "query/statistics/statistic.h"

#include <algorithm>

#include "query/statistics/helpers.h"
#include "util/str_cat.h"

namespace kring::query::statistics {

std::string StatisticKind::GroupPhrase(
    const std::vector<std::string>& by) const {
  return StrCat(" per ", JoinAnd(by));
}

uint64_t StatisticKind::Respondents(const Layout&,
                                    const uint64_t* block) const {
  return block[Layout::kRecords];
}

void StatisticKind::RepairNoisy(const Layout& layout, uint64_t* block) const {
  const std::vector<uint64_t>& per_record = layout.per_record_max();
  for (size_t e = Layout::kStats; e < layout.cell_width(); ++e) {
    if (per_record[e] == 1) {
      block[Layout::kRecords] = std::max(block[Layout::kRecords], block[e]);
    }
  }
}

bool StatisticKind::CountsPeople(const Figure& f) const {
  return f.stat == "count" || f.stat == "n";
}

}  // namespace kring::query::statistics
