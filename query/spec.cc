#include "query/spec.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "query/statistics/helpers.h"
#include "query/statistics/statistic.h"
#include "survey/record.h"
#include "util/str_cat.h"

namespace kring::query {
namespace {

constexpr size_t kMaxGroupBy = 2;
constexpr size_t kMaxMeasures = 20;
constexpr size_t kMaxLevels = 400;
// Disclosure control decides tables of at most this many cells.
constexpr size_t kMaxTableCells = 10000;

using statistics::Invalid;

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
  for (const statistics::StatisticKind* kind : statistics::AllStatistics()) {
    out.emplace_back(kind->name());
  }
  out.emplace_back("trend");
  return out;
}

// The names of the kinds for which `has` holds: "count, mean or proportion".
std::string NamesWhere(bool (statistics::StatisticKind::*has)() const) {
  std::vector<std::string> names;
  for (const statistics::StatisticKind* kind : statistics::AllStatistics()) {
    if ((kind->*has)()) names.emplace_back(kind->name());
  }
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += i == 0 ? "" : (i + 1 == names.size() ? " or " : ", ");
    out += names[i];
  }
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

// The levels of a filtered enum: the filter's, or all of first..last.
template <typename E>
std::vector<std::string> Levels(const std::vector<E>& filter, E first, E last) {
  if (filter.empty()) return EnumLevels(first, last);
  std::vector<std::string> out;
  for (E e : filter) out.emplace_back(survey::Name(e));
  return out;
}

template <typename T>
void SortUnique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
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
  for (const statistics::StatisticKind* kind : statistics::AllStatistics()) {
    if (kind->id() == s) return kind->name();
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

// Create's parser: one method per section of the spec, in the order their
// errors are reported.
class Query::Builder {
 public:
  Builder(const v1::QuerySpec& spec, const survey::Instrument& instrument) {
    q_.spec_ = spec;
    q_.instrument_ = &instrument;
  }

  absl::StatusOr<Query> Build() && {
    if (auto s = CheckInstrument(); !s.ok()) return s;
    if (auto s = ParseStatistic(); !s.ok()) return s;
    if (auto s = ParsePopulation(); !s.ok()) return s;
    if (auto s = ParseGroupBy(); !s.ok()) return s;
    if (auto s = ParseMeasures(); !s.ok()) return s;
    const statistics::StatisticKind& kind =
        statistics::StatisticFor(q_.statistic_);
    if (auto s = kind.Check(q_); !s.ok()) return s;
    if (auto s = ParseCutoff(kind); !s.ok()) return s;
    if (auto s = ParsePredictors(kind); !s.ok()) return s;
    if (auto s = ParsePrivacy(); !s.ok()) return s;
    return std::move(q_);
  }

 private:
  const v1::QuerySpec& spec() const { return q_.spec_; }

  absl::Status CheckInstrument() const {
    const std::string& id = q_.instrument_->id();
    if (!spec().instrument().empty() && spec().instrument() != id) {
      return Invalid(StrCat("the query is for instrument `",
                            spec().instrument(), "` but the data follow `", id,
                            "`"));
    }
    return absl::OkStatus();
  }

  // `statistic` and, for a trend, `trendOf`.
  absl::Status ParseStatistic() {
    std::string stat = spec().statistic();
    if (stat.empty()) {
      return Invalid(StrCat("`statistic` is missing; choose one of: ",
                            List(StatisticNames())));
    }
    if (stat == "trend") {
      q_.trend_ = true;
      stat = spec().trend_of();
      const std::string trendable =
          NamesWhere(&statistics::StatisticKind::CanTrend);
      if (stat.empty()) {
        return Invalid(
            StrCat("a trend needs `trendOf`: the statistic to follow over "
                   "waves (",
                   trendable, ")"));
      }
      const statistics::StatisticKind* kind = statistics::FindStatistic(stat);
      if (kind == nullptr || !kind->CanTrend()) {
        return Invalid(StrCat("`trendOf` `", stat,
                              "` cannot be followed over waves; use ",
                              trendable));
      }
    } else if (!spec().trend_of().empty()) {
      return Invalid("`trendOf` is only for statistic `trend`");
    }
    const statistics::StatisticKind* kind = statistics::FindStatistic(stat);
    if (kind == nullptr) {
      return Invalid(StrCat("unknown statistic `", stat, "`",
                            DidYouMean(stat, StatisticNames())));
    }
    q_.statistic_ = kind->id();
    return absl::OkStatus();
  }

  // `population`: each filter checked, sorted, without duplicates.
  absl::Status ParsePopulation() {
    const v1::Population& pop = spec().population();
    for (const std::string& w : pop.waves()) {
      if (auto s = survey::ValidateWave(w); !s.ok()) {
        return Invalid(StrCat("population.waves: ", ToStd(s.message())));
      }
      q_.waves_.push_back(w);
    }
    SortUnique(q_.waves_);
    auto sectors =
        ParseFilter<v1::Sector>(pop.sectors(), "sectors", survey::ParseSector);
    if (!sectors.ok()) return sectors.status();
    q_.sectors_ = *sectors;
    auto tracks =
        ParseFilter<v1::Track>(pop.tracks(), "tracks", survey::ParseTrack);
    if (!tracks.ok()) return tracks.status();
    q_.tracks_ = *tracks;
    auto genders =
        ParseFilter<v1::Gender>(pop.genders(), "genders", survey::ParseGender);
    if (!genders.ok()) return genders.status();
    q_.genders_ = *genders;
    for (uint32_t g : pop.grades()) {
      if (g < 1 || g > 8) {
        return Invalid(
            StrCat("population.grades: ", g, " is not a grade 1..8"));
      }
      q_.grades_.push_back(g);
    }
    SortUnique(q_.grades_);
    for (const std::string& m : pop.municipalities()) {
      if (!ValidMunicipalityCode(m)) {
        return Invalid(StrCat("population.municipalities: `", m,
                              "` is not a CBS municipality code such as "
                              "GM0363 (GM and four digits)"));
      }
      q_.municipalities_.push_back(m);
    }
    SortUnique(q_.municipalities_);
    return absl::OkStatus();
  }

  // The levels reported for a group variable: the population's filter, or
  // every level. `role` starts the error message ("grouping by").
  absl::StatusOr<Grouping> GroupingOf(GroupVar var,
                                      std::string_view role) const {
    Grouping g{var, {}};
    switch (var) {
      case GroupVar::kMunicipality:
        if (q_.municipalities_.empty()) {
          return Invalid(
              StrCat(role,
                     " municipality needs the municipalities to report in "
                     "population.municipalities, e.g. [\"GM0363\", "
                     "\"GM0599\"]"));
        }
        g.levels = q_.municipalities_;
        break;
      case GroupVar::kWave:
        if (q_.waves_.empty()) {
          return Invalid(
              StrCat(role,
                     " wave needs the waves to report in population.waves, "
                     "e.g. [\"2024-25\", \"2025-26\"]"));
        }
        g.levels = q_.waves_;
        break;
      case GroupVar::kSector:
        g.levels = Levels(q_.sectors_, v1::SECTOR_PO, v1::SECTOR_VSO);
        break;
      case GroupVar::kTrack:
        g.levels = Levels(q_.tracks_, v1::TRACK_PRO, v1::TRACK_NVT);
        break;
      case GroupVar::kGrade:
        if (q_.grades_.empty()) {
          for (int i = 1; i <= 8; ++i) g.levels.push_back(std::to_string(i));
        } else {
          for (auto x : q_.grades_) g.levels.push_back(std::to_string(x));
        }
        break;
      case GroupVar::kGender:
        g.levels =
            Levels(q_.genders_, v1::GENDER_JONGEN, v1::GENDER_WIL_NIET_ZEGGEN);
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
  }

  // `groupBy` (a trend's wave first), and the size of the table.
  absl::Status ParseGroupBy() {
    if (q_.trend_) {
      auto wave = GroupingOf(GroupVar::kWave, "a trend over");
      if (!wave.ok()) return wave.status();
      q_.groups_.push_back(*std::move(wave));
    }
    std::set<GroupVar> seen;
    for (const std::string& name : spec().group_by()) {
      std::optional<GroupVar> var = GroupVarByName(name);
      if (!var) {
        return Invalid(StrCat("unknown group-by `", name, "`",
                              DidYouMean(name, GroupVarNames())));
      }
      if (q_.trend_ && *var == GroupVar::kWave) {
        return Invalid(
            "a trend is already per wave; leave wave out of groupBy");
      }
      if (!seen.insert(*var).second) {
        return Invalid(StrCat("groupBy names `", name, "` twice"));
      }
      auto g = GroupingOf(*var, "grouping by");
      if (!g.ok()) return g.status();
      q_.groups_.push_back(*std::move(g));
    }
    if (q_.groups_.size() > kMaxGroupBy) {
      return Invalid(StrCat("at most ", kMaxGroupBy, " group variables",
                            q_.trend_ ? " (a trend counts wave as one)" : "",
                            "; got ", q_.groups_.size()));
    }
    size_t cells = 1;
    for (const Grouping& g : q_.groups_) cells *= g.levels.size();
    if (cells > kMaxTableCells) {
      return Invalid(StrCat("the table would have ", cells, " cells; at most ",
                            kMaxTableCells,
                            " (list fewer levels in the population)"));
    }
    return absl::OkStatus();
  }

  // `measures`: items or scales of the instrument, each once.
  absl::Status ParseMeasures() {
    std::set<std::string> seen;
    for (const std::string& id : spec().measures()) {
      if (!seen.insert(id).second) {
        return Invalid(StrCat("measure `", id, "` is listed twice"));
      }
      auto m = MakeMeasure(id, *q_.instrument_);
      if (!m.ok()) return m.status();
      q_.measures_.push_back(*std::move(m));
    }
    if (q_.measures_.size() > kMaxMeasures) {
      return Invalid(StrCat("at most ", kMaxMeasures, " measures"));
    }
    return absl::OkStatus();
  }

  // `cutoff` and `direction`: a kind that takes them has checked them.
  absl::Status ParseCutoff(const statistics::StatisticKind& kind) {
    if (kind.TakesCutoff()) {
      q_.cutoff_ = spec().cutoff();
      q_.above_ = spec().direction() == "above";
    } else if (spec().has_cutoff() || !spec().direction().empty()) {
      return Invalid(
          StrCat("`cutoff` and `direction` are only for ",
                 NamesWhere(&statistics::StatisticKind::TakesCutoff)));
    }
    return absl::OkStatus();
  }

  // `privacy.rho`: finite, in (0, kMaxQueryRho]; absent or 0 = default.
  absl::Status ParsePrivacy() {
    const double rho = spec().privacy().rho();
    if (rho == 0) {
      q_.rho_ = kDefaultQueryRho;
      return absl::OkStatus();
    }
    if (!std::isfinite(rho) || rho < 0 || rho > kMaxQueryRho) {
      return Invalid(
          StrCat("`privacy.rho` must be a number above 0 and at "
                 "most ",
                 kMaxQueryRho, " (kring's default is ", kDefaultQueryRho,
                 "); got ", rho));
    }
    q_.rho_ = rho;
    return absl::OkStatus();
  }

  // `predictors`: measures (numeric) or group variables (dummy-coded),
  // each once and none the outcome.
  absl::Status ParsePredictors(const statistics::StatisticKind& kind) {
    if (!kind.TakesPredictors()) {
      if (spec().predictors().empty()) return absl::OkStatus();
      return Invalid(
          StrCat("`predictors` are only for ",
                 NamesWhere(&statistics::StatisticKind::TakesPredictors)));
    }
    std::set<std::string> seen;
    for (const std::string& p : spec().predictors()) {
      if (!seen.insert(p).second || p == q_.measures_[0].id) {
        return Invalid(
            StrCat("predictor `", p, "` is listed twice or is the outcome"));
      }
      auto pred = PredictorOf(p);
      if (!pred.ok()) return pred.status();
      q_.predictors_.push_back(*std::move(pred));
    }
    if (q_.predictors_.size() > kMaxMeasures) {
      return Invalid(StrCat("at most ", kMaxMeasures, " predictors"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Predictor> PredictorOf(const std::string& p) const {
    Predictor pred;
    if (std::optional<GroupVar> var = GroupVarByName(p)) {
      auto g = GroupingOf(*var, "the predictor");
      if (!g.ok()) return g.status();
      pred.categorical = *std::move(g);
      return pred;
    }
    auto m = MakeMeasure(p, *q_.instrument_);
    if (!m.ok()) {
      const survey::Instrument& ins = *q_.instrument_;
      std::vector<std::string> known = GroupVarNames();
      for (const auto& s : ins.scales()) known.push_back(s.id);
      for (const auto& i : ins.items()) known.push_back(i.id);
      return Invalid(
          StrCat("unknown predictor `", p, "`", DidYouMean(p, known)));
    }
    pred.measure = *std::move(m);
    return pred;
  }

  Query q_;
};

absl::StatusOr<Query> Query::Create(const v1::QuerySpec& spec,
                                    const survey::Instrument& instrument) {
  return Builder(spec, instrument).Build();
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
  const statistics::StatisticKind& kind = statistics::StatisticFor(statistic_);
  std::string what = kind.Describe(*this);
  if (trend_) what += " over the waves";
  std::vector<std::string> by;
  for (size_t i = trend_ ? 1 : 0; i < groups_.size(); ++i) {
    by.emplace_back(GroupVarName(groups_[i].var));
  }
  if (!by.empty()) what += kind.GroupPhrase(by);
  std::vector<std::string> filters;
  if (!waves_.empty()) {
    filters.push_back(StrCat(waves_.size() == 1 ? "wave " : "waves ",
                             statistics::JoinAnd(waves_)));
  }
  auto names = [](const auto& v) {
    std::vector<std::string> out;
    for (auto x : v) out.emplace_back(survey::Name(x));
    return out;
  };
  if (!sectors_.empty()) {
    filters.push_back(
        StrCat("pupils in ", statistics::JoinAnd(names(sectors_))));
  }
  if (!tracks_.empty()) {
    filters.push_back(StrCat("tracks ", statistics::JoinAnd(names(tracks_))));
  }
  if (!grades_.empty()) {
    std::vector<std::string> gs;
    for (auto g : grades_) gs.push_back(std::to_string(g));
    filters.push_back(StrCat(grades_.size() == 1 ? "grade " : "grades ",
                             statistics::JoinAnd(gs)));
  }
  if (!genders_.empty())
    filters.push_back(statistics::JoinAnd(names(genders_)));
  if (!municipalities_.empty()) {
    filters.push_back(
        StrCat("schools in ", statistics::JoinAnd(municipalities_)));
  }
  for (const std::string& f : filters) what += StrCat(", ", f);
  what += absl::StrFormat(
      "; privacy cost ρ = %.3g per pupil, charged to each school's budget "
      "for every wave it touches",
      rho_);
  return what;
}

absl::StatusOr<v1::QuerySpec> ParseQuerySpecJson(std::string_view json) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json);
  } catch (const nlohmann::json::parse_error& e) {
    return Invalid(StrCat("not valid JSON (byte ", e.byte, ")"));
  } catch (const nlohmann::json::exception& e) {
    // Out of range: a number such as 1e400 that no double holds.
    return Invalid(StrCat("not usable JSON: ", e.what()));
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
  if (j.contains("privacy") && j["privacy"].is_object()) {
    if (auto s =
            check(j["privacy"], v1::PrivacyRequest::descriptor(), "privacy.");
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
