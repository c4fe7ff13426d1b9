#include "query/layout.h"

#include <algorithm>

#include "query/statistics/statistic.h"
#include "util/str_cat.h"

namespace kring::query {

Layout::Layout(const Query& query) : query_(&query) {
  for (const Grouping& g : query.groups()) {
    radix_.push_back(g.levels.size() + 1);
    cells_ *= g.levels.size() + 1;
  }
  statistics::CellBlock block;
  block.Add("records", 1);
  block.Add("schools", 0);
  statistics::StatisticFor(query.statistic()).AddElements(query, block);
  names_ = std::move(block.names);
  per_record_max_ = std::move(block.per_record_max);
  dist_offset_ = std::move(block.distribution_offsets);
  columns_ = block.columns;
  design_names_ = std::move(block.design_names);
  width_ = names_.size();
}

size_t Layout::ProductOffset(size_t i, size_t j) const {
  if (i > j) std::swap(i, j);
  // Rows 0..i-1 hold columns_ - r entries each.
  const size_t before = i * columns_ - i * (i - 1) / 2;
  return kStats + 1 + columns_ + before + (j - i);
}

size_t Layout::CellIndex(std::span<const int> levels) const {
  size_t index = 0;
  for (size_t g = 0; g < radix_.size(); ++g) {
    const size_t digit =
        levels[g] == kMargin ? radix_[g] - 1 : static_cast<size_t>(levels[g]);
    index = index * radix_[g] + digit;
  }
  return index;
}

std::vector<int> Layout::CellLevels(size_t cell) const {
  std::vector<int> levels(radix_.size());
  for (size_t g = radix_.size(); g-- > 0;) {
    const size_t digit = cell % radix_[g];
    cell /= radix_[g];
    levels[g] = digit == radix_[g] - 1 ? kMargin : static_cast<int>(digit);
  }
  return levels;
}

std::string Layout::CellName(size_t cell) const {
  if (radix_.empty()) return "all";
  const std::vector<int> levels = CellLevels(cell);
  std::string out;
  for (size_t g = 0; g < levels.size(); ++g) {
    const Grouping& grouping = query_->groups()[g];
    out += StrCat(g == 0 ? "" : ",", GroupVarName(grouping.var), "=",
                  levels[g] == kMargin
                      ? std::string("*")
                      : grouping.levels[static_cast<size_t>(levels[g])]);
  }
  return out;
}

std::string Layout::Describe(size_t i) const {
  return StrCat(CellName(i / width_), " | ", names_[i % width_]);
}

std::vector<uint64_t> Layout::NodeBounds() const {
  std::vector<uint64_t> bounds(size());
  for (size_t c = 0; c < cells_; ++c) {
    for (size_t e = 0; e < width_; ++e) {
      bounds[c * width_ + e] =
          e == kSchools ? 1 : per_record_max_[e] * kMaxRecordsPerNode;
    }
  }
  return bounds;
}

absl::StatusOr<std::vector<uint64_t>> Contribution(
    const Layout& layout, std::span<const v1::PupilRecord> records,
    std::string_view municipality, uint64_t school_cap) {
  const Query& q = layout.query();
  const statistics::StatisticKind& stat =
      statistics::StatisticFor(q.statistic());
  const size_t groups = q.groups().size();
  const size_t width = layout.cell_width();
  std::vector<uint64_t> out(layout.size(), 0);
  std::vector<uint64_t> delta(width);
  std::vector<int> levels(groups), cell_levels(groups);
  uint64_t in_population = 0;
  for (const v1::PupilRecord& r : records) {
    if (!q.InPopulation(r, municipality)) continue;
    if (++in_population > Layout::kMaxRecordsPerNode) {
      return absl::FailedPreconditionError(
          StrCat("more than ", Layout::kMaxRecordsPerNode,
                 " records are in this query's population; kring supports "
                 "at most that many per school"));
    }
    bool placed = true;
    for (size_t g = 0; g < groups && placed; ++g) {
      std::optional<size_t> level = q.LevelOf(q.groups()[g], r, municipality);
      placed = level.has_value();
      if (placed) levels[g] = static_cast<int>(*level);
    }
    if (!placed) continue;  // e.g. migration background not collected

    std::fill(delta.begin(), delta.end(), 0);
    delta[Layout::kRecords] = 1;
    stat.AddRecord(layout, r, municipality, delta);
    // Add to every cell the record is in: each variable at its level or
    // at the margin.
    for (size_t mask = 0; mask < (size_t{1} << groups); ++mask) {
      for (size_t g = 0; g < groups; ++g) {
        cell_levels[g] = (mask >> g) & 1 ? kMargin : levels[g];
      }
      uint64_t* block = &out[layout.CellIndex(cell_levels) * width];
      for (size_t e = 0; e < width; ++e) block[e] += delta[e];
    }
  }
  // The school counts for a cell only as far as it stands behind every
  // figure of it (a mean resting on one school's pupils must not pass as
  // three schools because two others have pupils who skipped that
  // measure), and fully only with school_cap respondents.
  for (size_t c = 0; c < layout.cell_count(); ++c) {
    uint64_t* block = &out[c * width];
    block[Layout::kSchools] =
        std::min(CellRespondents(layout, block), school_cap);
  }
  return out;
}

uint64_t CellRespondents(const Layout& layout, const uint64_t* block) {
  return statistics::StatisticFor(layout.query().statistic())
      .Respondents(layout, block);
}

}  // namespace kring::query
