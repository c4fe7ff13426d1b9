#ifndef KRING_QUERY_STATISTICS_STATISTIC_H_
#define KRING_QUERY_STATISTICS_STATISTIC_H_

// One class per statistic kind (count, mean, ...), in the manner of
// google/differential-privacy's cc/algorithms: each holds its spec checks,
// its part of a cell block of the vector layout, its decoding and its
// release rules. Internal to kring::query: spec.cc, layout.cc, decode.cc
// and release.cc call these instead of switching over the kind.
//
// Adding a statistic: an enumerator in query/spec.h, one class here
// (foo.{h,cc}), one line in registry.cc and CMakeLists.txt.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "kring/v1/record.pb.h"
#include "query/decode.h"
#include "query/layout.h"
#include "query/noise.h"
#include "query/release.h"
#include "query/spec.h"

namespace kring::query::statistics {

// The elements of a cell block, built by Layout's constructor: their
// names, the largest value one record adds to each, and the offsets a
// statistic records for itself.
struct CellBlock {
  std::vector<std::string> names;
  std::vector<uint64_t> per_record_max;
  std::vector<size_t> distribution_offsets;  // distribution: per measure
  size_t columns = 0;                        // cross products: columns
  std::vector<std::string> design_names;     // regression: design columns

  void Add(std::string name, uint64_t max) {
    names.push_back(std::move(name));
    per_record_max.push_back(max);
  }
};

// The rules of one statistic kind. Stateless; one instance per kind for
// the life of the process (StatisticFor); thread-safe.
class StatisticKind {
 public:
  virtual ~StatisticKind() = default;

  virtual Statistic id() const = 0;
  // "mean", ...: the name in query specs.
  virtual std::string_view name() const = 0;

  // --- The spec (query/spec.cc).
  // Whether a trend can follow this statistic over waves.
  virtual bool CanTrend() const { return false; }
  // Whether the spec takes `cutoff` and `direction` / `predictors`.
  virtual bool TakesCutoff() const { return false; }
  virtual bool TakesPredictors() const { return false; }
  // Checks the shape `query` (its spec, measures and groups parsed; cutoff
  // and predictors not yet) has for this statistic; a kind that takes a
  // cutoff checks here that `cutoff` and `direction` are given and valid,
  // one that takes predictors that there are some. INVALID_ARGUMENT with
  // the query-spec message a researcher can act on.
  virtual absl::Status Check(const Query& query) const = 0;
  // What is computed, for Query::Summary: "Mean (with SD and 95% CI) of
  // ...". `query` is complete.
  virtual std::string Describe(const Query& query) const = 0;
  // How the group variables `by` (non-empty) follow Describe: " per track".
  virtual std::string GroupPhrase(const std::vector<std::string>& by) const;

  // --- The layout (query/layout.cc).
  // Appends this statistic's elements (after records and schools).
  virtual void AddElements(const Query& /*query*/, CellBlock& /*block*/) const {
  }
  // Adds record `r` (in the population, placed in a cell) to `delta`, a
  // zeroed cell block whose records element is already 1.
  virtual void AddRecord(const Layout& /*layout*/, const v1::PupilRecord& /*r*/,
                         std::string_view /*municipality*/,
                         std::span<uint64_t> /*delta*/) const {}
  // The smallest number of respondents behind any figure of `block`
  // (layout.cell_width() elements); by default its records.
  virtual uint64_t Respondents(const Layout& layout,
                               const uint64_t* block) const;

  // --- Decoding (query/decode.cc).
  // Post-processing of one cell's noisy sums (clamped at 0) so that they
  // are sums some set of records could give, where that is a matter of
  // bounds (docs/privacy.md): by default a cell's records are raised to
  // its largest count element (an n, an option count), so no figure rests
  // on more respondents than records. Kinds add their own bounds.
  virtual void RepairNoisy(const Layout& layout, uint64_t* block) const;
  // After RepairNoisy, with the noise known: sets to 0 the counts that
  // cannot be told from noise where a figure would otherwise rest on noise
  // alone (`shares` schools added noise under `plan`; `cell` is the
  // block's cell index). By default nothing.
  virtual void DropNoiseOnlyCounts(const Layout& /*layout*/,
                                   const NoisePlan& /*plan*/,
                                   uint32_t /*shares*/, size_t /*cell*/,
                                   uint64_t* /*block*/) const {}
  // The figures of one cell with records from its summed `block`;
  // `cell.records` and `cell.respondents` are set. INVALID_ARGUMENT on
  // sums no set of records gives.
  virtual absl::Status DecodeCell(const Layout& layout, const uint64_t* block,
                                  CellResult& cell) const = 0;
  // Adds the schools' noise to the uncertainty of one decoded cell: each
  // figure that carries noise gets a noise SD figure ("noise_sd", or
  // "noise_sd_<stat>" where a measure has several noisy figures) and its
  // confidence interval widened by it (`shares` schools added noise under
  // `plan`; `sums` are the sums the whole result was decoded from,
  // layout.size() elements). By default nothing.
  virtual void AddNoise(const Layout& /*layout*/, const NoisePlan& /*plan*/,
                        uint32_t /*shares*/, std::span<const uint64_t> /*sums*/,
                        CellResult& /*cell*/) const {}
  // The same for the whole table's figures (after every cell's AddNoise).
  virtual void AddNoiseToTable(const Layout& /*layout*/,
                               const NoisePlan& /*plan*/, uint32_t /*shares*/,
                               Result& /*result*/) const {}
  // Figures that need several cells (all decoded) or the whole table.
  virtual void DecodeTable(const Layout& /*layout*/,
                           std::span<const uint64_t> /*sum*/,
                           Result& /*result*/) const {}

  // --- Release (query/release.cc).
  // Whether figure `f` counts people (and is rounded on release); by
  // default "count" and "n".
  virtual bool CountsPeople(const Figure& f) const;
  // Recomputes, in a released cell, the figures that must derive from
  // rounded counts (shares) from those counts.
  virtual void ShareFromRounded(std::vector<Figure>& /*figures*/) const {}
  // Figures of released cells that depend on other cells' release,
  // applied once every cell's outcome is in `released` (whose cells are
  // those of `result`, in order).
  virtual void ReleaseAcrossCells(const Layout& /*layout*/,
                                  const Result& /*result*/,
                                  ReleasedResult& /*released*/) const {}
};

// The rules of `id`. Precondition: `id` is one of Statistic's enumerators
// (every Query's statistic is).
const StatisticKind& StatisticFor(Statistic id);
// The kind named `name` ("mean"), or nullptr.
const StatisticKind* FindStatistic(std::string_view name);
// Every kind, in enum order.
std::span<const StatisticKind* const> AllStatistics();

}  // namespace kring::query::statistics

#endif  // KRING_QUERY_STATISTICS_STATISTIC_H_
