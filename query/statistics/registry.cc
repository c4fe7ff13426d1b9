// The one table of statistic kinds: adding one is a line here.

#include <cstdlib>

#include "query/statistics/correlation.h"
#include "query/statistics/count.h"
#include "query/statistics/crosstab.h"
#include "query/statistics/distribution.h"
#include "query/statistics/mean.h"
#include "query/statistics/proportion.h"
#include "query/statistics/regression.h"
#include "query/statistics/reliability.h"
#include "query/statistics/statistic.h"

namespace kring::query::statistics {
namespace {

// Stateless, constant-initialised (implicit constexpr constructors), so
// usable from any static initialiser.
const Count kCount{};
const Mean kMean{};
const Distribution kDistribution{};
const Proportion kProportion{};
const Crosstab kCrosstab{};
const Correlation kCorrelation{};
const Reliability kReliability{};
const Regression kRegression{};

// In the order of the Statistic enumerators.
constexpr const StatisticKind* kAll[] = {
    &kCount,    &kMean,        &kDistribution, &kProportion,
    &kCrosstab, &kCorrelation, &kReliability,  &kRegression,
};

}  // namespace

const StatisticKind& StatisticFor(Statistic id) {
  const auto i = static_cast<size_t>(id);
  // Not one of the enumerators: a programming error, not a user's.
  if (i >= std::size(kAll)) std::abort();
  return *kAll[i];
}

const StatisticKind* FindStatistic(std::string_view name) {
  for (const StatisticKind* s : kAll) {
    if (s->name() == name) return s;
  }
  return nullptr;
}

std::span<const StatisticKind* const> AllStatistics() { return kAll; }

}  // namespace kring::query::statistics
