#include "query/release.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "absl/strings/str_format.h"
#include "query/privacy.h"
#include "query/statistics/statistic.h"
#include "util/str_cat.h"

namespace kring::query {
namespace {

std::vector<std::string> Labels(const Query& q, const CellResult& c) {
  std::vector<std::string> out;
  for (size_t g = 0; g < c.levels.size(); ++g) {
    out.push_back(c.levels[g] == kMargin
                      ? "all"
                      : q.groups()[g].levels[static_cast<size_t>(c.levels[g])]);
  }
  return out;
}

ReleasedResult Skeleton(const Layout& layout) {
  const Query& q = layout.query();
  ReleasedResult out;
  out.summary = q.Summary();
  for (const Grouping& g : q.groups()) {
    out.group_names.emplace_back(GroupVarName(g.var));
  }
  return out;
}

std::string Number(double v) {
  if (std::isnan(v)) return "nan";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// The group-by table of a result: rows x cols inner cells (one group
// variable: rows x 1; none: a single cell), margins from the cells the
// nodes computed (with their own exact school counts).
class GroupByTable {
 public:
  GroupByTable(const Layout& layout, const Result& result)
      : layout_(layout),
        result_(result),
        groups_(layout.query().groups().size()),
        rows_(groups_ >= 1 ? layout.query().groups()[0].levels.size() : 1),
        cols_(groups_ >= 2 ? layout.query().groups()[1].levels.size() : 1) {}

  // The table disclosure control decides.
  absl::StatusOr<Table> ToTable() const {
    std::vector<CellStats> cells;
    for (size_t r = 0; r < rows_; ++r) {
      for (size_t c = 0; c < cols_; ++c) {
        const CellResult& cell =
            groups_ == 0 ? result_.cells[0]
                         : CellOf(static_cast<int>(r), static_cast<int>(c));
        // Schools behind a cell's figures: at most its respondents.
        cells.push_back(CellStats{cell.respondents,
                                  std::min(cell.schools, cell.respondents)});
      }
    }
    Table::MarginSchools margins;
    for (size_t r = 0; r < rows_; ++r) {
      margins.rows.push_back(
          Bounded(cells, MarginCell(static_cast<int>(r), kMargin).schools,
                  [r](size_t rr, size_t) { return rr == r; }));
    }
    for (size_t c = 0; c < cols_; ++c) {
      margins.cols.push_back(
          Bounded(cells, MarginCell(kMargin, static_cast<int>(c)).schools,
                  [c](size_t, size_t cc) { return cc == c; }));
    }
    margins.total = Bounded(cells, MarginCell(kMargin, kMargin).schools,
                            [](size_t, size_t) { return true; });
    // And within what the row and column totals allow (with noisy school
    // estimates, the margins need not be consistent among themselves).
    uint64_t lo = 0, row_sum = 0, col_sum = 0;
    for (uint64_t v : margins.rows) lo = std::max(lo, v), row_sum += v;
    for (uint64_t v : margins.cols) lo = std::max(lo, v), col_sum += v;
    margins.total =
        std::clamp(margins.total, lo, std::max(lo, std::min(row_sum, col_sum)));
    return Table::Create(rows_, cols_, std::move(cells), margins);
  }

  // The outcome `decision` gives result cell `c`.
  const Outcome& OutcomeOf(const Decision& decision,
                           const CellResult& c) const {
    if (groups_ == 0) return decision.cell(0, 0);
    const int r = c.levels[0];
    if (groups_ == 1) {
      return r == kMargin ? decision.total
                          : decision.cell(static_cast<size_t>(r), 0);
    }
    const int k = c.levels[1];
    if (r == kMargin && k == kMargin) return decision.total;
    if (r == kMargin) return decision.col_totals[static_cast<size_t>(k)];
    if (k == kMargin) return decision.row_totals[static_cast<size_t>(r)];
    return decision.cell(static_cast<size_t>(r), static_cast<size_t>(k));
  }

 private:
  const CellResult& CellOf(int r, int c) const {
    std::vector<int> levels;
    if (groups_ >= 1) levels.push_back(r);
    if (groups_ >= 2) levels.push_back(c);
    return result_.cells[layout_.CellIndex(levels)];
  }
  const CellResult& MarginCell(int r, int c) const {
    if (groups_ == 0) return result_.cells[0];
    return CellOf(r, groups_ == 1 ? 0 : c);
  }
  // An exact margin school count (from the margin cell the nodes filled),
  // clamped into what Table accepts: never more than the sum of the
  // covered cells' counts, never less than the largest.
  template <typename Covers>
  uint64_t Bounded(const std::vector<CellStats>& cells, uint64_t exact,
                   Covers covers) const {
    uint64_t lo = 0, hi = 0;
    for (size_t r = 0; r < rows_; ++r) {
      for (size_t c = 0; c < cols_; ++c) {
        if (!covers(r, c)) continue;
        lo = std::max(lo, cells[r * cols_ + c].schools);
        hi += cells[r * cols_ + c].schools;
      }
    }
    return std::max(lo, std::min(exact, hi));
  }

  const Layout& layout_;
  const Result& result_;
  const size_t groups_;
  const size_t rows_;
  const size_t cols_;
};

// Result cell `c` as released under outcome `o`: suppressed with its
// reason, or its figures with counts of people rounded.
ReleasedCell ReleaseCell(const statistics::StatisticKind& stat, const Query& q,
                         const CellResult& c, const Outcome& o,
                         const Decision& decision) {
  ReleasedCell rc;
  rc.name = c.name;
  rc.labels = Labels(q, c);
  rc.is_margin = c.is_margin;
  rc.status = o.status;
  if (!o.released()) {
    rc.reason = Explain(o.status, decision.thresholds);
    return rc;
  }
  rc.shown_respondents = o.shown_respondents;
  for (Figure f : c.figures) {
    if (stat.CountsPeople(f)) {
      f.value = static_cast<double>(
          RoundToBase(static_cast<uint64_t>(f.value), decision.rounding_base));
    }
    rc.figures.push_back(std::move(f));
  }
  // Shares shown next to rounded counts come from those rounded counts, so
  // they cannot give the exact counts back.
  stat.ShareFromRounded(rc.figures);
  rc.notes = c.notes;
  return rc;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

// Reads a whole number >= 0 of a policy file into `out`.
absl::Status PolicyNumber(const nlohmann::json& v, std::string_view field,
                          uint64_t& out) {
  if (!v.is_number_unsigned()) {
    return absl::InvalidArgumentError(
        StrCat("disclosure policy: `", field, "` must be a whole number >= 0"));
  }
  out = v.get<uint64_t>();
  return absl::OkStatus();
}

// Reads the thresholds of `obj` (the top level when `where` is empty, else
// "special_category.") into `t`; unknown fields are errors.
absl::Status PolicyThresholds(const nlohmann::json& obj, std::string_view where,
                              CellThresholds& t) {
  for (const auto& [key, value] : obj.items()) {
    absl::Status s;
    if (key == "min_respondents") {
      s = PolicyNumber(value, StrCat(where, key), t.min_respondents);
    } else if (key == "min_schools") {
      s = PolicyNumber(value, StrCat(where, key), t.min_schools);
    } else if (where.empty() &&
               (key == "rounding_base" || key == "special_category")) {
      continue;
    } else {
      std::vector<std::string> known = {"min_respondents", "min_schools"};
      if (where.empty()) {
        known.push_back("rounding_base");
        known.push_back("special_category");
      }
      auto m = ClosestMatch(key, known);
      return absl::InvalidArgumentError(
          StrCat("disclosure policy: unknown field `", where, key, "`",
                 m ? StrCat(" — did you mean `", *m, "`?") : ""));
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// INVALID_ARGUMENT unless `normal` and `special` are at least as strict
// as kring's defaults.
absl::Status NotWeaker(const CellThresholds& normal,
                       const CellThresholds& special,
                       const DisclosurePolicy& defaults) {
  auto weaker = [](uint64_t v, uint64_t d, std::string_view field) {
    return absl::InvalidArgumentError(
        StrCat("disclosure policy: `", field, "` ", v,
               " is weaker than kring's safe "
               "minimum ",
               d, "; a policy can only be stricter"));
  };
  if (normal.min_respondents < defaults.normal().min_respondents) {
    return weaker(normal.min_respondents, defaults.normal().min_respondents,
                  "min_respondents");
  }
  if (normal.min_schools < defaults.normal().min_schools) {
    return weaker(normal.min_schools, defaults.normal().min_schools,
                  "min_schools");
  }
  if (special.min_respondents < defaults.special_category().min_respondents) {
    return weaker(special.min_respondents,
                  defaults.special_category().min_respondents,
                  "special_category.min_respondents");
  }
  if (special.min_schools < defaults.special_category().min_schools) {
    return weaker(special.min_schools, defaults.special_category().min_schools,
                  "special_category.min_schools");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DisclosurePolicy> ParsePolicyJson(std::string_view json) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json);
  } catch (const nlohmann::json::parse_error& e) {
    return absl::InvalidArgumentError(
        StrCat("disclosure policy: not valid JSON (byte ", e.byte, ")"));
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(
        StrCat("disclosure policy: not usable JSON: ", e.what()));
  }
  if (!j.is_object()) {
    return absl::InvalidArgumentError(
        "disclosure policy: expected a JSON object");
  }
  const DisclosurePolicy defaults = DisclosurePolicy::Default();
  CellThresholds normal = defaults.normal();
  CellThresholds special = defaults.special_category();
  uint64_t base = defaults.rounding_base();
  if (auto s = PolicyThresholds(j, "", normal); !s.ok()) return s;
  if (j.contains("rounding_base")) {
    if (auto s = PolicyNumber(j["rounding_base"], "rounding_base", base);
        !s.ok()) {
      return s;
    }
  }
  if (j.contains("special_category")) {
    if (!j["special_category"].is_object()) {
      return absl::InvalidArgumentError(
          "disclosure policy: `special_category` must be an object");
    }
    if (auto s = PolicyThresholds(j["special_category"], "special_category.",
                                  special);
        !s.ok()) {
      return s;
    }
  }
  if (auto s = NotWeaker(normal, special, defaults); !s.ok()) return s;
  if (base > UINT32_MAX || base % defaults.rounding_base() != 0) {
    return absl::InvalidArgumentError(
        StrCat("disclosure policy: `rounding_base` ", base,
               " must be a multiple of ", defaults.rounding_base()));
  }
  // Stricter normal thresholds lift the special-category ones too.
  special.min_respondents =
      std::max(special.min_respondents, normal.min_respondents);
  special.min_schools = std::max(special.min_schools, normal.min_schools);
  return DisclosurePolicy::Create(normal, special, static_cast<uint32_t>(base));
}

absl::StatusOr<ReleasedResult> ApplyDisclosure(const Layout& layout,
                                               const Result& result,
                                               const DisclosurePolicy& policy) {
  const Query& q = layout.query();
  const v1::DisclosureRequest& asked = q.spec().disclosure();
  DisclosureRequest request;
  if (asked.min_respondents() != 0) {
    request.min_respondents = asked.min_respondents();
  }
  if (asked.min_schools() != 0) request.min_schools = asked.min_schools();
  if (asked.rounding_base() != 0) request.rounding_base = asked.rounding_base();
  const bool special = q.special_category();
  auto tightened = policy.Tighten(request, special);
  if (!tightened.ok()) return tightened.status();
  const GroupByTable group_by(layout, result);
  auto table = group_by.ToTable();
  if (!table.ok()) return table.status();
  const Decision decision = Decide(*table, *tightened, special);

  const statistics::StatisticKind& stat =
      statistics::StatisticFor(q.statistic());
  ReleasedResult out = Skeleton(layout);
  out.thresholds = decision.thresholds;
  out.rounding_base = decision.rounding_base;
  bool all_inner_released = true;
  for (const CellResult& c : result.cells) {
    const Outcome& o = group_by.OutcomeOf(decision, c);
    if (!o.released() && !c.is_margin) all_inner_released = false;
    out.cells.push_back(ReleaseCell(stat, q, c, o, decision));
  }
  if (!result.table.empty()) {
    if (all_inner_released) {
      out.table = result.table;
    } else {
      out.table_note =
          "the chi-square test is withheld because cells are suppressed (with "
          "the margins it could reveal them)";
    }
  }
  stat.ReleaseAcrossCells(layout, result, out);
  return out;
}

std::string StatisticKey(const Query& query) {
  // What is computed, in canonical order; the population filter is left
  // out on purpose, so that the same statistic over two populations (all
  // sectors, and all but one) is compared by the ledger.
  std::string key =
      StrCat("kring-statistic-v1|", StatisticName(query.statistic()),
             query.is_trend() ? "|trend" : "");
  std::vector<std::string> parts;
  for (const Measure& m : query.measures()) parts.push_back(m.id);
  std::sort(parts.begin(), parts.end());
  key += "|measures:";
  for (const auto& p : parts) key += StrCat(p, ";");
  std::vector<std::string> groups;
  for (const Grouping& g : query.groups()) {
    std::string levels = StrCat(GroupVarName(g.var), "=");
    for (const std::string& l : g.levels) levels += StrCat(l, ";");
    groups.push_back(std::move(levels));
  }
  std::sort(groups.begin(), groups.end());
  key += "|groups:";
  for (const auto& g : groups) key += StrCat(g, "/");
  std::vector<std::string> predictors;
  for (const Predictor& p : query.predictors()) {
    predictors.push_back(p.measure
                             ? p.measure->id
                             : std::string(GroupVarName(p.categorical->var)));
  }
  std::sort(predictors.begin(), predictors.end());
  key += "|predictors:";
  for (const auto& p : predictors) key += StrCat(p, ";");
  if (query.cutoff()) {
    key += StrCat("|cutoff:", query.above() ? ">" : "<", *query.cutoff());
  }
  return key;
}

absl::StatusOr<Release> LedgerEntry(std::string release_id,
                                    const Layout& layout, const Result& result,
                                    const ReleasedResult& released,
                                    std::set<std::string> participants) {
  std::map<std::string, CellStats> figures;
  for (size_t i = 0; i < result.cells.size() && i < released.cells.size();
       ++i) {
    if (!released.cells[i].shown_respondents) continue;
    const CellResult& c = result.cells[i];
    figures[c.name] = {c.respondents, std::min(c.schools, c.respondents)};
  }
  return Release::Create(std::move(release_id), StatisticKey(layout.query()),
                         std::move(participants), std::move(figures));
}

ReleasedResult Unprotected(const Layout& layout, const Result& result) {
  const Query& q = layout.query();
  ReleasedResult out = Skeleton(layout);
  for (const CellResult& c : result.cells) {
    ReleasedCell rc;
    rc.name = c.name;
    rc.labels = Labels(q, c);
    rc.is_margin = c.is_margin;
    rc.shown_respondents = c.respondents;
    rc.figures = c.figures;
    rc.notes = c.notes;
    out.cells.push_back(std::move(rc));
  }
  out.table = result.table;
  return out;
}

PrivacyStatement StatementFor(const NoisePlan& plan, uint32_t schools,
                              uint64_t min_schools) {
  PrivacyStatement p;
  p.school_cap = plan.school_cap();
  p.schools_rule_error = plan.SchoolsRuleError(min_schools, schools);
  p.rho = plan.rho();
  p.epsilon = privacy::EpsilonAtDelta(p.rho, p.delta);
  p.schools = schools;
  p.min_schools = plan.min_shares();
  p.count_noise_sd = std::sqrt(plan.NoiseVariance(Layout::kRecords, schools));
  return p;
}

nlohmann::json ReleasedResult::ToJson() const {
  nlohmann::json j;
  j["summary"] = summary;
  if (privacy) {
    j["privacy"] = {{"rho", privacy->rho},
                    {"epsilon", privacy->epsilon},
                    {"delta", privacy->delta},
                    {"schools", privacy->schools},
                    {"noise_calibrated_for_schools", privacy->min_schools},
                    {"count_noise_sd", privacy->count_noise_sd},
                    {"school_cap", privacy->school_cap},
                    {"schools_rule_error", privacy->schools_rule_error}};
    if (!privacy->repeat_of.empty()) {
      j["privacy"]["repeat_of"] = privacy->repeat_of;
    }
  }
  j["group_by"] = group_names;
  j["disclosure"] = {{"min_respondents", thresholds.min_respondents},
                     {"min_schools", thresholds.min_schools},
                     {"rounding_base", rounding_base}};
  nlohmann::json cs = nlohmann::json::array();
  for (const ReleasedCell& c : cells) {
    nlohmann::json jc;
    nlohmann::json levels = nlohmann::json::object();
    for (size_t g = 0; g < group_names.size(); ++g) {
      levels[group_names[g]] = c.labels[g];
    }
    jc["cell"] = levels;
    jc["margin"] = c.is_margin;
    if (c.shown_respondents) {
      jc["respondents"] = *c.shown_respondents;
      nlohmann::json figs = nlohmann::json::object();
      for (const Figure& f : c.figures) figs[f.measure][f.stat] = f.value;
      jc["figures"] = figs;
    } else {
      jc["suppressed"] = std::string(SuppressionCode(c.status));
      jc["reason"] = c.reason;
    }
    if (!c.notes.empty()) jc["notes"] = c.notes;
    cs.push_back(jc);
  }
  j["cells"] = cs;
  if (!table.empty()) {
    for (const Figure& f : table) j["table"][f.stat] = f.value;
  }
  if (!table_note.empty()) j["table_note"] = table_note;
  return j;
}

std::string ReleasedResult::ToCsv() const {
  std::string out;
  std::vector<std::string> header = {"cell"};
  for (const auto& g : group_names) header.push_back(g);
  for (const char* h : {"measure", "statistic", "value", "status", "reason"}) {
    header.emplace_back(h);
  }
  for (size_t i = 0; i < header.size(); ++i) {
    out += StrCat(i ? "," : "", CsvField(header[i]));
  }
  out += "\n";
  auto row = [&](const ReleasedCell& c, const std::string& measure,
                 const std::string& stat, const std::string& value,
                 const std::string& status, const std::string& reason) {
    out += CsvField(c.name);
    for (const auto& l : c.labels) out += StrCat(",", CsvField(l));
    out += StrCat(",", CsvField(measure), ",", CsvField(stat), ",", value, ",",
                  status, ",", CsvField(reason), "\n");
  };
  for (const ReleasedCell& c : cells) {
    if (!c.shown_respondents) {
      row(c, "", "", "", std::string(SuppressionCode(c.status)), c.reason);
      continue;
    }
    for (const Figure& f : c.figures) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", f.value);
      row(c, f.measure, f.stat, buf, "released", "");
    }
  }
  for (const Figure& f : table) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", f.value);
    out += StrCat("table", std::string(group_names.size(), ','), ",", f.measure,
                  ",", f.stat, ",", buf, ",released,\n");
  }
  return out;
}

std::string ReleasedResult::ToText() const {
  std::string out = StrCat(summary, "\n");
  if (privacy) {
    out += absl::StrFormat(
        "Differential privacy: rho = %.3g (epsilon = %.3g at delta = %g) per "
        "pupil; noise added by each of the %u schools; a cell's count carries "
        "noise with SD %.1f.\n",
        privacy->rho, privacy->epsilon, privacy->delta, privacy->schools,
        privacy->count_noise_sd);
    out += absl::StrFormat(
        "Schools rule on noisy counts: a school counts fully in a cell with "
        "%u or more respondents; a cell with too few schools is shown with "
        "probability at most %.2g, a cell of a single school never (below "
        "2^-40).\n",
        privacy->school_cap, privacy->schools_rule_error);
    if (!privacy->repeat_of.empty()) {
      out += StrCat(
          "The same query over the same schools was released before (",
          privacy->repeat_of,
          "): these are its figures with the same noise, so that repeating "
          "a query cannot average the noise away.\n");
    }
  }
  if (thresholds.min_respondents > 0) {
    out += StrCat("Disclosure control: at least ", thresholds.min_respondents,
                  " respondents and ", thresholds.min_schools,
                  " schools per cell; counts rounded to multiples of ",
                  rounding_base, ".\n");
  }
  for (const ReleasedCell& c : cells) {
    std::string label;
    for (size_t g = 0; g < group_names.size(); ++g) {
      label += StrCat(g ? ", " : "", group_names[g], " ", c.labels[g]);
    }
    if (label.empty()) label = "all pupils";
    out += StrCat("\n", label);
    if (!c.shown_respondents) {
      out += StrCat(": suppressed (", c.reason, ")\n");
      continue;
    }
    out += StrCat(" (", *c.shown_respondents, " respondents)\n");
    // One line per measure, its statistics in order.
    std::vector<std::string> order;
    std::map<std::string, std::string> lines;
    for (const Figure& f : c.figures) {
      if (!lines.count(f.measure)) order.push_back(f.measure);
      std::string& l = lines[f.measure];
      l += StrCat(l.empty() ? "" : "  ", f.stat, " ", Number(f.value));
    }
    for (const std::string& m : order) {
      out += StrCat("  ", m == "-" ? "" : m + ": ", lines[m], "\n");
    }
    for (const std::string& n : c.notes) out += StrCat("  note: ", n, "\n");
  }
  if (!table.empty()) {
    out += "\nWhole table:";
    for (const Figure& f : table)
      out += StrCat("  ", f.stat, " ", Number(f.value));
    out += "\n";
  }
  if (!table_note.empty()) out += StrCat("\nNote: ", table_note, "\n");
  return out;
}

}  // namespace kring::query
