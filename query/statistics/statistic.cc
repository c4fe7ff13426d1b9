#include "query/statistics/statistic.h"

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

bool StatisticKind::CountsPeople(const Figure& f) const {
  return f.stat == "count" || f.stat == "n";
}

}  // namespace kring::query::statistics
