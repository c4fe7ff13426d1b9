#include "query/layout.h"

#include <algorithm>

#include "util/str_cat.h"

namespace kring::query {
namespace {

std::string CutoffText(const Query& q) {
  return StrCat(q.above() ? "above " : "below ", *q.cutoff());
}

// The values of the cross-product columns for one record, or false when
// the record is not complete on them (listwise deletion).
bool CrossValues(const Query& q, const v1::PupilRecord& r,
                 std::string_view municipality, std::vector<uint64_t>& out) {
  out.clear();
  switch (q.statistic()) {
    case Statistic::kCorrelation:
      for (const Measure& m : q.measures()) {
        std::optional<uint64_t> v = q.ValueOf(m, r);
        if (!v) return false;
        out.push_back(*v);
      }
      return true;
    case Statistic::kReliability:
      for (size_t i : q.measures()[0].scale_items) {
        Measure item;
        item.item = i;
        std::optional<uint64_t> v = q.ValueOf(item, r);
        if (!v) return false;
        out.push_back(*v);
      }
      return true;
    case Statistic::kRegression: {
      for (const Predictor& p : q.predictors()) {
        if (!p.measure) continue;
        std::optional<uint64_t> v = q.ValueOf(*p.measure, r);
        if (!v) return false;
        out.push_back(*v);
      }
      for (const Predictor& p : q.predictors()) {
        if (!p.categorical) continue;
        std::optional<size_t> level =
            q.LevelOf(*p.categorical, r, municipality);
        if (!level) return false;
        for (size_t l = 0; l < p.categorical->levels.size(); ++l) {
          out.push_back(l == *level ? 1 : 0);
        }
      }
      std::optional<uint64_t> y = q.ValueOf(q.measures()[0], r);
      if (!y) return false;
      out.push_back(*y);
      return true;
    }
    default:
      return false;
  }
}

}  // namespace

Layout::Layout(const Query& query) : query_(&query) {
  for (const Grouping& g : query.groups()) {
    radix_.push_back(g.levels.size() + 1);
    cells_ *= g.levels.size() + 1;
  }
  names_ = {"records", "schools"};
  per_record_max_ = {1, 0};
  auto add = [&](std::string name, uint64_t max) {
    names_.push_back(std::move(name));
    per_record_max_.push_back(max);
  };
  const survey::Instrument& ins = query.instrument();
  switch (query.statistic()) {
    case Statistic::kCount:
    case Statistic::kCrosstab:
      break;
    case Statistic::kMean:
      for (const Measure& m : query.measures()) {
        add(StrCat(m.id, " n"), 1);
        add(StrCat(m.id, " sum"), m.max_scaled);
        add(StrCat(m.id, " sum of squares"), m.max_scaled * m.max_scaled);
      }
      break;
    case Statistic::kProportion:
      for (const Measure& m : query.measures()) {
        add(StrCat(m.id, " n"), 1);
        add(StrCat(m.id, " ", CutoffText(query)), 1);
      }
      break;
    case Statistic::kDistribution:
      for (const Measure& m : query.measures()) {
        dist_offset_.push_back(names_.size());
        for (const auto& o : ins.ResponseScaleOf(m.item).options) {
          add(StrCat(m.id, " answer ", o.code), 1);
        }
      }
      break;
    case Statistic::kCorrelation:
    case Statistic::kReliability:
    case Statistic::kRegression: {
      std::vector<std::string> cols;
      std::vector<uint64_t> max;
      if (query.statistic() == Statistic::kCorrelation) {
        for (const Measure& m : query.measures()) {
          cols.push_back(m.id);
          max.push_back(m.max_scaled);
        }
      } else if (query.statistic() == Statistic::kReliability) {
        for (size_t i : query.measures()[0].scale_items) {
          cols.push_back(ins.items()[i].id);
          max.push_back(ins.ResponseScaleOf(i).max_code());
        }
      } else {
        for (const Predictor& p : query.predictors()) {
          if (!p.measure) continue;
          cols.push_back(p.measure->id);
          max.push_back(p.measure->max_scaled);
        }
        for (const Predictor& p : query.predictors()) {
          if (!p.categorical) continue;
          for (const std::string& level : p.categorical->levels) {
            cols.push_back(
                StrCat(GroupVarName(p.categorical->var), "=", level));
            max.push_back(1);
          }
        }
        design_names_ = cols;
        cols.push_back(query.measures()[0].id);
        max.push_back(query.measures()[0].max_scaled);
      }
      columns_ = cols.size();
      add("n", 1);
      for (size_t i = 0; i < columns_; ++i)
        add(StrCat("sum ", cols[i]), max[i]);
      for (size_t i = 0; i < columns_; ++i) {
        for (size_t j = i; j < columns_; ++j) {
          add(StrCat("sum ", cols[i], "*", cols[j]), max[i] * max[j]);
        }
      }
      break;
    }
  }
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
    std::string_view municipality) {
  const Query& q = layout.query();
  const survey::Instrument& ins = q.instrument();
  const size_t groups = q.groups().size();
  const size_t width = layout.cell_width();
  std::vector<uint64_t> out(layout.size(), 0);
  std::vector<uint64_t> delta(width);
  std::vector<uint64_t> cross;
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
    size_t at = Layout::kStats;
    switch (q.statistic()) {
      case Statistic::kCount:
      case Statistic::kCrosstab:
        break;
      case Statistic::kMean:
        for (const Measure& m : q.measures()) {
          if (std::optional<uint64_t> v = q.ValueOf(m, r)) {
            delta[at] = 1;
            delta[at + 1] = *v;
            delta[at + 2] = *v * *v;
          }
          at += 3;
        }
        break;
      case Statistic::kProportion:
        for (const Measure& m : q.measures()) {
          if (std::optional<uint64_t> v = q.ValueOf(m, r)) {
            // The unscaled value, rounded exactly as a mean of answers.
            const double value =
                static_cast<double>(*v) / static_cast<double>(m.scale_factor);
            delta[at] = 1;
            delta[at + 1] =
                q.above() ? value > *q.cutoff() : value < *q.cutoff();
          }
          at += 2;
        }
        break;
      case Statistic::kDistribution:
        for (size_t mi = 0; mi < q.measures().size(); ++mi) {
          const Measure& m = q.measures()[mi];
          if (static_cast<int>(m.item) >= r.responses_size()) continue;
          const uint32_t code = r.responses(static_cast<int>(m.item));
          const auto& options = ins.ResponseScaleOf(m.item).options;
          for (size_t o = 0; o < options.size(); ++o) {
            if (options[o].code == code) {
              delta[layout.DistributionOffset(mi) + o] = 1;
            }
          }
        }
        break;
      case Statistic::kCorrelation:
      case Statistic::kReliability:
      case Statistic::kRegression:
        if (CrossValues(q, r, municipality, cross)) {
          delta[at] = 1;
          for (size_t i = 0; i < cross.size(); ++i) {
            delta[layout.SumOffset(i)] = cross[i];
            for (size_t j = i; j < cross.size(); ++j) {
              delta[layout.ProductOffset(i, j)] = cross[i] * cross[j];
            }
          }
        }
        break;
    }
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
  // The school counts for a cell only if it stands behind every figure of
  // it (a mean resting on one school's pupils must not pass as three
  // schools because two others have pupils who skipped that measure).
  for (size_t c = 0; c < layout.cell_count(); ++c) {
    uint64_t* block = &out[c * width];
    block[Layout::kSchools] = CellRespondents(layout, block) > 0 ? 1 : 0;
  }
  return out;
}

uint64_t CellRespondents(const Layout& layout, const uint64_t* block) {
  const Query& q = layout.query();
  uint64_t n = block[Layout::kRecords];
  switch (q.statistic()) {
    case Statistic::kCount:
    case Statistic::kCrosstab:
      break;
    case Statistic::kMean:
    case Statistic::kProportion: {
      const size_t stride = q.statistic() == Statistic::kMean ? 3 : 2;
      for (size_t m = 0; m < q.measures().size(); ++m) {
        n = std::min(n, block[Layout::kStats + stride * m]);
      }
      break;
    }
    case Statistic::kDistribution:
      for (size_t m = 0; m < q.measures().size(); ++m) {
        const size_t options =
            q.instrument().ResponseScaleOf(q.measures()[m].item).options.size();
        uint64_t sum = 0;
        for (size_t o = 0; o < options; ++o) {
          sum += block[layout.DistributionOffset(m) + o];
        }
        n = std::min(n, sum);
      }
      break;
    case Statistic::kCorrelation:
    case Statistic::kReliability:
    case Statistic::kRegression:
      n = std::min(n, block[Layout::kStats]);
      break;
  }
  return n;
}

}  // namespace kring::query
