#include "query/spec.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "nlohmann/json.hpp"
#include "survey/record.h"
#include "util/str_cat.h"

namespace kring::query {
namespace {

constexpr size_t kMaxGroupBy = 2;
constexpr size_t kMaxMeasures = 20;
constexpr size_t kMaxLevels = 400;
// Disclosure control decides tables of at most this many cells.
constexpr size_t kMaxTableCells = 10000;

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(StrCat("query spec: ", what));
}

std::string List(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += StrCat(out.empty() ? "" : ", ", s);
  return out;
}

std::string DidYouMean(std::string_view word,
                       const std::vector<std::string>& candidates) {
  if (auto m = ClosestMatch(word, candidates)) {
    return StrCat(" — did you mean `", *m, "`?");
  }
  return StrCat("; known: ", List(candidates));
}

constexpr Statistic kStatistics[] = {
    Statistic::kCount,       Statistic::kMean,       Statistic::kDistribution,
    Statistic::kProportion,  Statistic::kCrosstab,   Statistic::kCorrelation,
    Statistic::kReliability, Statistic::kRegression,
};

constexpr GroupVar kGroupVars[] = {
    GroupVar::kMunicipality,
    GroupVar::kSector,
    GroupVar::kTrack,
    GroupVar::kGrade,
    GroupVar::kGender,
    GroupVar::kWave,
    GroupVar::kMigrationBackground,
    GroupVar::kFinancialStrain,
};

std::vector<std::string> StatisticNames() {
  std::vector<std::string> out;
  for (Statistic s : kStatistics) out.emplace_back(StatisticName(s));
  out.emplace_back("trend");
  return out;
}

std::vector<std::string> GroupVarNames() {
  std::vector<std::string> out;
  for (GroupVar g : kGroupVars) out.emplace_back(GroupVarName(g));
  return out;
}

std::optional<GroupVar> GroupVarByName(std::string_view name) {
  for (GroupVar g : kGroupVars) {
    if (GroupVarName(g) == name) return g;
  }
  return std::nullopt;
}

template <typename E>
std::vector<std::string> EnumLevels(E first, E last) {
  std::vector<std::string> out;
  for (int v = first; v <= last; ++v) {
    out.emplace_back(survey::Name(static_cast<E>(v)));
  }
  return out;
}

// Parses a list of filter values with a node parser; the values are
// returned in canonical (enum) order without duplicates.
template <typename E, typename Parse>
absl::StatusOr<std::vector<E>> ParseFilter(
    const google::protobuf::RepeatedPtrField<std::string>& values,
    std::string_view what, Parse parse) {
  std::set<E> out;
  for (const std::string& v : values) {
    absl::StatusOr<E> e = parse(v);
    if (!e.ok()) {
      return Invalid(
          StrCat("population.", what, ": ", ToStd(e.status().message())));
    }
    out.insert(*e);
  }
  return std::vector<E>(out.begin(), out.end());
}

bool ValidMunicipalityCode(std::string_view c) {
  return c.size() == 6 && c.substr(0, 2) == "GM" &&
         std::all_of(c.begin() + 2, c.end(),
                     [](char ch) { return ch >= '0' && ch <= '9'; });
}

uint64_t Lcm(uint64_t a, uint64_t b) { return a / std::gcd(a, b) * b; }

absl::StatusOr<Measure> MakeMeasure(const std::string& id,
                                    const survey::Instrument& ins) {
  Measure m;
  m.id = id;
  if (std::optional<size_t> item = ins.ItemIndex(id)) {
    m.item = *item;
    const survey::ResponseScale& rs = ins.ResponseScaleOf(*item);
    m.min_scaled = rs.min_code();
    m.max_scaled = rs.max_code();
    return m;
  }
  if (const survey::Scale* scale = ins.FindScale(id)) {
    m.is_scale = true;
    m.scale = scale;
    uint32_t lo = UINT32_MAX, hi = 0;
    for (const std::string& item_id : scale->items) {
      size_t i = *ins.ItemIndex(item_id);
      m.scale_items.push_back(i);
      lo = std::min(lo, ins.ResponseScaleOf(i).min_code());
      hi = std::max(hi, ins.ResponseScaleOf(i).max_code());
    }
    for (uint64_t k = scale->min_answered; k <= scale->items.size(); ++k) {
      m.scale_factor = Lcm(m.scale_factor, k);
    }
    m.min_scaled = lo * m.scale_factor;
    m.max_scaled = hi * m.scale_factor;
    return m;
  }
  std::vector<std::string> known;
  for (const auto& s : ins.scales()) known.push_back(s.id);
  for (const auto& i : ins.items()) known.push_back(i.id);
  return Invalid(StrCat("unknown measure `", id, "` in instrument ", ins.id(),
                        DidYouMean(id, known)));
}

}  // namespace

std::string_view StatisticName(Statistic s) {
  switch (s) {
    case Statistic::kCount:
      return "count";
    case Statistic::kMean:
      return "mean";
    case Statistic::kDistribution:
      return "distribution";
    case Statistic::kProportion:
      return "proportion";
    case Statistic::kCrosstab:
      return "crosstab";
    case Statistic::kCorrelation:
      return "correlation";
    case Statistic::kReliability:
      return "reliability";
    case Statistic::kRegression:
      return "regression";
  }
  return "unknown";
}

std::string_view GroupVarName(GroupVar v) {
  switch (v) {
    case GroupVar::kMunicipality:
      return "municipality";
    case GroupVar::kSector:
      return "sector";
    case GroupVar::kTrack:
      return "track";
    case GroupVar::kGrade:
      return "grade";
    case GroupVar::kGender:
      return "gender";
    case GroupVar::kWave:
      return "wave";
    case GroupVar::kMigrationBackground:
      return "migration_background";
    case GroupVar::kFinancialStrain:
      return "financial_strain";
  }
  return "unknown";
}

bool IsSpecialCategory(GroupVar v) {
  return v == GroupVar::kMigrationBackground || v == GroupVar::kFinancialStrain;
}

std::optional<std::string> ClosestMatch(
    std::string_view word, const std::vector<std::string>& candidates) {
  // Levenshtein distance, two rows.
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    std::iota(prev.begin(), prev.end(), 0);
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1,
                           prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      }
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  std::optional<std::string> best;
  size_t best_d = std::max<size_t>(1, word.size() / 3) + 1;
  for (const std::string& c : candidates) {
    size_t d = distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

absl::StatusOr<Query> Query::Create(const v1::QuerySpec& spec,
                                    const survey::Instrument& instrument) {
  Query q;
  q.spec_ = spec;
  q.instrument_ = &instrument;
  if (!spec.instrument().empty() && spec.instrument() != instrument.id()) {
    return Invalid(StrCat("the query is for instrument `", spec.instrument(),
                          "` but the data follow `", instrument.id(), "`"));
  }

  // Statistic.
  std::string stat = spec.statistic();
  if (stat.empty()) {
    return Invalid(StrCat("`statistic` is missing; choose one of: ",
                          List(StatisticNames())));
  }
  if (stat == "trend") {
    q.trend_ = true;
    stat = spec.trend_of();
    if (stat.empty()) {
      return Invalid(
          "a trend needs `trendOf`: the statistic to follow over waves "
          "(count, mean, distribution or proportion)");
    }
    if (stat != "count" && stat != "mean" && stat != "distribution" &&
        stat != "proportion") {
      return Invalid(StrCat("`trendOf` `", stat,
                            "` cannot be followed over waves; use count, "
                            "mean, distribution or proportion"));
    }
  } else if (!spec.trend_of().empty()) {
    return Invalid("`trendOf` is only for statistic `trend`");
  }
  bool found = false;
  for (Statistic s : kStatistics) {
    if (StatisticName(s) == stat) {
      q.statistic_ = s;
      found = true;
    }
  }
  if (!found) {
    return Invalid(StrCat("unknown statistic `", stat, "`",
                          DidYouMean(stat, StatisticNames())));
  }

  // Population.
  const v1::Population& pop = spec.population();
  for (const std::string& w : pop.waves()) {
    if (auto s = survey::ValidateWave(w); !s.ok()) {
      return Invalid(StrCat("population.waves: ", ToStd(s.message())));
    }
    q.waves_.push_back(w);
  }
  std::sort(q.waves_.begin(), q.waves_.end());
  q.waves_.erase(std::unique(q.waves_.begin(), q.waves_.end()), q.waves_.end());
  {
    auto sectors =
        ParseFilter<v1::Sector>(pop.sectors(), "sectors", survey::ParseSector);
    if (!sectors.ok()) return sectors.status();
    q.sectors_ = *sectors;
    auto tracks =
        ParseFilter<v1::Track>(pop.tracks(), "tracks", survey::ParseTrack);
    if (!tracks.ok()) return tracks.status();
    q.tracks_ = *tracks;
    auto genders =
        ParseFilter<v1::Gender>(pop.genders(), "genders", survey::ParseGender);
    if (!genders.ok()) return genders.status();
    q.genders_ = *genders;
  }
  for (uint32_t g : pop.grades()) {
    if (g < 1 || g > 8) {
      return Invalid(StrCat("population.grades: ", g, " is not a grade 1..8"));
    }
    q.grades_.push_back(g);
  }
  std::sort(q.grades_.begin(), q.grades_.end());
  q.grades_.erase(std::unique(q.grades_.begin(), q.grades_.end()),
                  q.grades_.end());
  for (const std::string& m : pop.municipalities()) {
    if (!ValidMunicipalityCode(m)) {
      return Invalid(StrCat("population.municipalities: `", m,
                            "` is not a CBS municipality code such as "
                            "GM0363 (GM and four digits)"));
    }
    q.municipalities_.push_back(m);
  }
  std::sort(q.municipalities_.begin(), q.municipalities_.end());
  q.municipalities_.erase(
      std::unique(q.municipalities_.begin(), q.municipalities_.end()),
      q.municipalities_.end());

  // The levels reported for a group variable.
  auto grouping = [&](GroupVar var,
                      std::string_view role) -> absl::StatusOr<Grouping> {
    Grouping g{var, {}};
    switch (var) {
      case GroupVar::kMunicipality:
        if (q.municipalities_.empty()) {
          return Invalid(
              StrCat(role,
                     " municipality needs the municipalities to report in "
                     "population.municipalities, e.g. [\"GM0363\", "
                     "\"GM0599\"]"));
        }
        g.levels = q.municipalities_;
        break;
      case GroupVar::kWave:
        if (q.waves_.empty()) {
          return Invalid(
              StrCat(role,
                     " wave needs the waves to report in population.waves, "
                     "e.g. [\"2024-25\", \"2025-26\"]"));
        }
        g.levels = q.waves_;
        break;
      case GroupVar::kSector:
        if (q.sectors_.empty()) {
          g.levels = EnumLevels(v1::SECTOR_PO, v1::SECTOR_VSO);
        } else {
          for (auto s : q.sectors_) g.levels.emplace_back(survey::Name(s));
        }
        break;
      case GroupVar::kTrack:
        if (q.tracks_.empty()) {
          g.levels = EnumLevels(v1::TRACK_PRO, v1::TRACK_NVT);
        } else {
          for (auto t : q.tracks_) g.levels.emplace_back(survey::Name(t));
        }
        break;
      case GroupVar::kGrade:
        if (q.grades_.empty()) {
          for (int i = 1; i <= 8; ++i) g.levels.push_back(std::to_string(i));
        } else {
          for (auto x : q.grades_) g.levels.push_back(std::to_string(x));
        }
        break;
      case GroupVar::kGender:
        if (q.genders_.empty()) {
          g.levels = EnumLevels(v1::GENDER_JONGEN, v1::GENDER_WIL_NIET_ZEGGEN);
        } else {
          for (auto x : q.genders_) g.levels.emplace_back(survey::Name(x));
        }
        break;
      case GroupVar::kMigrationBackground:
        g.levels = EnumLevels(v1::MIGRATION_BACKGROUND_NONE,
                              v1::MIGRATION_BACKGROUND_UNKNOWN);
        break;
      case GroupVar::kFinancialStrain:
        g.levels =
            EnumLevels(v1::FINANCIAL_STRAIN_NONE, v1::FINANCIAL_STRAIN_UNKNOWN);
        break;
    }
    if (g.levels.size() > kMaxLevels) {
      return Invalid(StrCat(role, " ", GroupVarName(var), " has ",
                            g.levels.size(), " levels; at most ", kMaxLevels));
    }
    return g;
  };

  // Group-by.
  if (q.trend_) {
    auto wave = grouping(GroupVar::kWave, "a trend over");
    if (!wave.ok()) return wave.status();
    q.groups_.push_back(*std::move(wave));
  }
  std::set<GroupVar> seen;
  for (const std::string& name : spec.group_by()) {
    std::optional<GroupVar> var = GroupVarByName(name);
    if (!var) {
      return Invalid(StrCat("unknown group-by `", name, "`",
                            DidYouMean(name, GroupVarNames())));
    }
    if (q.trend_ && *var == GroupVar::kWave) {
      return Invalid("a trend is already per wave; leave wave out of groupBy");
    }
    if (!seen.insert(*var).second) {
      return Invalid(StrCat("groupBy names `", name, "` twice"));
    }
    auto g = grouping(*var, "grouping by");
    if (!g.ok()) return g.status();
    q.groups_.push_back(*std::move(g));
  }
  if (q.groups_.size() > kMaxGroupBy) {
    return Invalid(StrCat("at most ", kMaxGroupBy, " group variables",
                          q.trend_ ? " (a trend counts wave as one)" : "",
                          "; got ", q.groups_.size()));
  }

  {
    size_t cells = 1;
    for (const Grouping& g : q.groups_) cells *= g.levels.size();
    if (cells > kMaxTableCells) {
      return Invalid(StrCat("the table would have ", cells, " cells; at most ",
                            kMaxTableCells,
                            " (list fewer levels in the population)"));
    }
  }

  // Measures.
  std::set<std::string> seen_measures;
  for (const std::string& id : spec.measures()) {
    if (!seen_measures.insert(id).second) {
      return Invalid(StrCat("measure `", id, "` is listed twice"));
    }
    auto m = MakeMeasure(id, instrument);
    if (!m.ok()) return m.status();
    q.measures_.push_back(*std::move(m));
  }
  if (q.measures_.size() > kMaxMeasures) {
    return Invalid(StrCat("at most ", kMaxMeasures, " measures"));
  }

  // Shape per statistic.
  const size_t nm = q.measures_.size();
  const std::string_view sname = StatisticName(q.statistic_);
  switch (q.statistic_) {
    case Statistic::kCount:
    case Statistic::kCrosstab:
      if (nm != 0) {
        return Invalid(StrCat(sname, " counts pupils and takes no measures"));
      }
      if (q.statistic_ == Statistic::kCrosstab && q.groups_.size() != 2) {
        return Invalid(
            "a crosstab needs exactly two groupBy variables (rows and "
            "columns)");
      }
      break;
    case Statistic::kMean:
    case Statistic::kProportion:
      if (nm == 0) return Invalid(StrCat(sname, " needs at least one measure"));
      break;
    case Statistic::kDistribution:
      if (nm == 0) return Invalid("distribution needs at least one item");
      for (const Measure& m : q.measures_) {
        if (m.is_scale) {
          return Invalid(StrCat(
              "distribution is per answer category, so it needs items; `", m.id,
              "` is a scale (use proportion or mean for scales)"));
        }
      }
      break;
    case Statistic::kCorrelation:
      if (nm < 2) return Invalid("correlation needs at least two measures");
      break;
    case Statistic::kReliability:
      if (nm != 1 || !q.measures_[0].is_scale) {
        return Invalid("reliability needs exactly one measure, a scale");
      }
      if (q.measures_[0].scale_items.size() < 2) {
        return Invalid(
            StrCat("reliability needs a scale of at least two "
                   "items; `",
                   q.measures_[0].id, "` has one"));
      }
      break;
    case Statistic::kRegression:
      if (nm != 1) {
        return Invalid(
            "regression needs exactly one measure, the outcome; list the "
            "explanatory variables under `predictors`");
      }
      if (spec.predictors().empty()) {
        return Invalid("regression needs at least one predictor");
      }
      break;
  }
  if (q.statistic_ == Statistic::kProportion) {
    if (!spec.has_cutoff()) {
      return Invalid(
          "proportion needs a `cutoff` (e.g. 2.5) and a `direction` "
          "(below or above)");
    }
    if (spec.direction() != "below" && spec.direction() != "above") {
      return Invalid(StrCat("`direction` must be below or above, not `",
                            spec.direction(), "`"));
    }
    q.cutoff_ = spec.cutoff();
    q.above_ = spec.direction() == "above";
  } else if (spec.has_cutoff() || !spec.direction().empty()) {
    return Invalid("`cutoff` and `direction` are only for proportion");
  }
  if (q.statistic_ == Statistic::kRegression) {
    std::set<std::string> seen_pred;
    for (const std::string& p : spec.predictors()) {
      if (!seen_pred.insert(p).second || p == q.measures_[0].id) {
        return Invalid(
            StrCat("predictor `", p, "` is listed twice or is the outcome"));
      }
      Predictor pred;
      if (std::optional<GroupVar> var = GroupVarByName(p)) {
        auto g = grouping(*var, "the predictor");
        if (!g.ok()) return g.status();
        pred.categorical = *std::move(g);
      } else {
        auto m = MakeMeasure(p, instrument);
        if (!m.ok()) {
          std::vector<std::string> known = GroupVarNames();
          for (const auto& s : instrument.scales()) known.push_back(s.id);
          for (const auto& i : instrument.items()) known.push_back(i.id);
          return Invalid(
              StrCat("unknown predictor `", p, "`", DidYouMean(p, known)));
        }
        pred.measure = *std::move(m);
      }
      q.predictors_.push_back(std::move(pred));
    }
    if (q.predictors_.size() > kMaxMeasures) {
      return Invalid(StrCat("at most ", kMaxMeasures, " predictors"));
    }
  } else if (!spec.predictors().empty()) {
    return Invalid("`predictors` are only for regression");
  }
  return q;
}

bool Query::special_category() const {
  for (const Grouping& g : groups_) {
    if (IsSpecialCategory(g.var)) return true;
  }
  for (const Predictor& p : predictors_) {
    if (p.categorical && IsSpecialCategory(p.categorical->var)) return true;
  }
  return false;
}

bool Query::InPopulation(const v1::PupilRecord& r,
                         std::string_view municipality) const {
  auto in = [](const auto& list, const auto& v) {
    return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
  };
  if (!r.instrument_id().empty() && r.instrument_id() != instrument_->id()) {
    return false;  // answers to another questionnaire
  }
  return in(waves_, r.wave()) && in(sectors_, r.sector()) &&
         in(tracks_, r.track()) && in(grades_, r.grade()) &&
         in(genders_, r.gender()) &&
         in(municipalities_, std::string(municipality));
}

std::optional<size_t> Query::LevelOf(const Grouping& g,
                                     const v1::PupilRecord& r,
                                     std::string_view municipality) const {
  std::string value;
  switch (g.var) {
    case GroupVar::kMunicipality:
      value = std::string(municipality);
      break;
    case GroupVar::kSector:
      value = std::string(survey::Name(r.sector()));
      break;
    case GroupVar::kTrack:
      value = std::string(survey::Name(r.track()));
      break;
    case GroupVar::kGrade:
      value = std::to_string(r.grade());
      break;
    case GroupVar::kGender:
      value = std::string(survey::Name(r.gender()));
      break;
    case GroupVar::kWave:
      value = r.wave();
      break;
    case GroupVar::kMigrationBackground:
      value = std::string(survey::Name(r.migration_background()));
      break;
    case GroupVar::kFinancialStrain:
      value = std::string(survey::Name(r.financial_strain()));
      break;
  }
  auto it = std::find(g.levels.begin(), g.levels.end(), value);
  if (it == g.levels.end()) return std::nullopt;
  return static_cast<size_t>(it - g.levels.begin());
}

std::optional<uint64_t> Query::ValueOf(const Measure& m,
                                       const v1::PupilRecord& r) const {
  const survey::Instrument& ins = *instrument_;
  // The recoded answer to item i, clamped to the item's declared range;
  // 0 when missing.
  auto answer = [&](size_t i) -> uint32_t {
    if (static_cast<int>(i) >= r.responses_size()) return 0;
    uint32_t code = r.responses(static_cast<int>(i));
    if (code == 0) return 0;
    const survey::ResponseScale& rs = ins.ResponseScaleOf(i);
    code = std::clamp(code, rs.min_code(), rs.max_code());
    return ins.Recode(i, code);
  };
  if (!m.is_scale) {
    uint32_t a = answer(m.item);
    if (a == 0) return std::nullopt;
    return a;
  }
  uint64_t sum = 0, answered = 0;
  for (size_t i : m.scale_items) {
    if (uint32_t a = answer(i); a != 0) {
      sum += a;
      ++answered;
    }
  }
  if (answered == 0 || answered < m.scale->min_answered) return std::nullopt;
  return sum * (m.scale_factor / answered);
}

std::string Query::Summary() const {
  const survey::Instrument& ins = *instrument_;
  auto measure_name = [&](const Measure& m) {
    if (m.is_scale) return StrCat(m.scale->name_en, " [", m.id, "]");
    return StrCat("item ", m.id, " (\"", ins.items()[m.item].text_en, "\")");
  };
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
      out += i == 0 ? "" : (i + 1 == v.size() ? " and " : ", ");
      out += v[i];
    }
    return out;
  };
  std::vector<std::string> ms;
  for (const Measure& m : measures_) ms.push_back(measure_name(m));
  std::string what;
  switch (statistic_) {
    case Statistic::kCount:
      what = "Number of pupils";
      break;
    case Statistic::kMean:
      what = StrCat("Mean (with SD and 95% CI) of ", join(ms));
      break;
    case Statistic::kDistribution:
      what = StrCat("Distribution of the answers to ", join(ms));
      break;
    case Statistic::kProportion:
      what = StrCat("Share of pupils ", above_ ? "above " : "below ", *cutoff_,
                    " on ", join(ms));
      break;
    case Statistic::kCrosstab:
      what = "Cross-table of pupil counts";
      break;
    case Statistic::kCorrelation:
      what = StrCat("Pearson correlations between ", join(ms));
      break;
    case Statistic::kReliability:
      what = StrCat("Reliability (Cronbach's alpha) of ", join(ms));
      break;
    case Statistic::kRegression: {
      std::vector<std::string> ps;
      for (const Predictor& p : predictors_) {
        ps.push_back(p.measure ? p.measure->id
                               : std::string(GroupVarName(p.categorical->var)));
      }
      what = StrCat("Linear regression of ", join(ms), " on ", join(ps));
      break;
    }
  }
  if (trend_) what += " over the waves";
  std::vector<std::string> by;
  for (size_t i = trend_ ? 1 : 0; i < groups_.size(); ++i) {
    by.emplace_back(GroupVarName(groups_[i].var));
  }
  if (!by.empty()) {
    what +=
        StrCat(statistic_ == Statistic::kCrosstab ? " of " : " per ",
               statistic_ == Statistic::kCrosstab ? StrCat(by[0], " by ", by[1])
                                                  : join(by));
  }
  std::vector<std::string> filters;
  if (!waves_.empty()) {
    filters.push_back(
        StrCat(waves_.size() == 1 ? "wave " : "waves ", join(waves_)));
  }
  auto names = [](const auto& v) {
    std::vector<std::string> out;
    for (auto x : v) out.emplace_back(survey::Name(x));
    return out;
  };
  if (!sectors_.empty()) {
    filters.push_back(StrCat("pupils in ", join(names(sectors_))));
  }
  if (!tracks_.empty()) {
    filters.push_back(StrCat("tracks ", join(names(tracks_))));
  }
  if (!grades_.empty()) {
    std::vector<std::string> gs;
    for (auto g : grades_) gs.push_back(std::to_string(g));
    filters.push_back(
        StrCat(grades_.size() == 1 ? "grade " : "grades ", join(gs)));
  }
  if (!genders_.empty()) filters.push_back(join(names(genders_)));
  if (!municipalities_.empty()) {
    filters.push_back(StrCat("schools in ", join(municipalities_)));
  }
  for (const std::string& f : filters) what += StrCat(", ", f);
  return what;
}

absl::StatusOr<v1::QuerySpec> ParseQuerySpecJson(std::string_view json) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json);
  } catch (const nlohmann::json::parse_error& e) {
    return Invalid(StrCat("not valid JSON (byte ", e.byte, ")"));
  }
  if (!j.is_object()) return Invalid("expected a JSON object");
  // Known field names (JSON and proto names) per message.
  auto names = [](const google::protobuf::Descriptor* d) {
    std::vector<std::string> out;
    for (int i = 0; i < d->field_count(); ++i) {
      out.push_back(d->field(i)->json_name());
      if (d->field(i)->name() != d->field(i)->json_name()) {
        out.push_back(d->field(i)->name());
      }
    }
    return out;
  };
  auto check = [&](const nlohmann::json& obj,
                   const google::protobuf::Descriptor* d,
                   std::string_view where) -> absl::Status {
    const std::vector<std::string> known = names(d);
    for (const auto& [key, value] : obj.items()) {
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        return Invalid(
            StrCat("unknown field `", where, key, "`", DidYouMean(key, known)));
      }
    }
    return absl::OkStatus();
  };
  if (auto s = check(j, v1::QuerySpec::descriptor(), ""); !s.ok()) return s;
  if (j.contains("population") && j["population"].is_object()) {
    if (auto s =
            check(j["population"], v1::Population::descriptor(), "population.");
        !s.ok()) {
      return s;
    }
  }
  if (j.contains("disclosure") && j["disclosure"].is_object()) {
    if (auto s = check(j["disclosure"], v1::DisclosureRequest::descriptor(),
                       "disclosure.");
        !s.ok()) {
      return s;
    }
  }
  v1::QuerySpec spec;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(std::string(json),
                                                            &spec, options);
  if (!status.ok()) {
    return Invalid(
        StrCat("a field has the wrong type: ", std::string(status.message())));
  }
  return spec;
}

absl::StatusOr<Query> Query::Create(
    const v1::QuerySpec& spec, const survey::InstrumentRegistry& instruments) {
  absl::StatusOr<const survey::Instrument*> instrument =
      instruments.Find(spec.instrument());
  if (!instrument.ok()) {
    return absl::InvalidArgumentError(instrument.status().message());
  }
  return Create(spec, **instrument);
}

}  // namespace kring::query
