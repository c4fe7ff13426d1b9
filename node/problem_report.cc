#include "node/problem_report.h"

#include <algorithm>
#include <map>
#include <utility>

#include "util/str_cat.h"

namespace kring::node {
namespace {

constexpr std::string_view kEnDash = "\xE2\x80\x93";    // "–"
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // "…"
constexpr size_t kValuesShown = 3;

// A reason split around the part that varies from row to row: the first
// quoted value (`gender: "onbekend" is ...`, with a "..." that marks a
// shortened one), or else the number after "line " (duplicates).
struct SplitReason {
  std::string_view prefix, value, suffix;
};

SplitReason Split(std::string_view reason) {
  size_t begin = reason.find('"');
  size_t end = begin == std::string_view::npos ? std::string_view::npos
                                               : reason.find('"', begin + 1);
  if (end != std::string_view::npos) {
    ++end;
    if (reason.substr(end, 3) == "...") end += 3;
  } else if (begin = reason.find("line "); begin != std::string_view::npos) {
    begin += 5;
    end = reason.find_first_not_of("0123456789", begin);
    if (end == std::string_view::npos) end = reason.size();
    if (end == begin) return {reason, {}, {}};
  } else {
    return {reason, {}, {}};
  }
  return {reason.substr(0, begin), reason.substr(begin, end - begin),
          reason.substr(end)};
}

std::string GroupLine(const ProblemGroup& g, std::string_view unit) {
  const std::string column =
      g.column.empty() ? std::string() : StrCat("column \"", g.column, "\"");
  const SplitReason split = Split(g.reason);
  if (g.lines.size() == 1) {
    return StrCat(unit, " ", g.lines.front(), column.empty() ? "" : ", ",
                  column, ": ", g.reason);
  }
  std::string values;
  for (size_t i = 0; i < g.values.size() && i < kValuesShown; ++i) {
    values += StrCat(i == 0 ? "" : ", ", g.values[i]);
  }
  if (g.values.size() > kValuesShown) {
    values += StrCat(" and ", g.values.size() - kValuesShown, " more");
  }
  // The count goes after the problem itself, before what to do about it:
  // `gender: "onbekend" is not recognised: 358 rows (2–359); accepted ...`.
  const size_t semi = split.suffix.find("; ");
  const std::string_view before = split.suffix.substr(0, semi);
  const std::string_view after = semi == std::string_view::npos
                                     ? std::string_view()
                                     : split.suffix.substr(semi);
  std::string text = StrCat(split.prefix, values, before, ": ", g.lines.size(),
                            " rows (", LineRanges(g.lines), ")", after);
  return column.empty() ? text : StrCat(column, ": ", text);
}

}  // namespace

std::vector<ProblemGroup> GroupProblems(
    const std::vector<ImportProblem>& problems) {
  std::map<std::pair<std::string, std::string>, size_t> index;
  std::vector<ProblemGroup> groups;
  for (const ImportProblem& p : problems) {
    const SplitReason split = Split(p.reason);
    auto [it, fresh] = index.emplace(
        std::pair(p.column, StrCat(split.prefix, "\x01", split.suffix)), 0);
    if (fresh) {
      it->second = groups.size();
      groups.push_back({p.column, p.reason, {}, {}});
    }
    ProblemGroup& g = groups[it->second];
    g.lines.push_back(p.line);
    if (std::find(g.values.begin(), g.values.end(), split.value) ==
        g.values.end()) {
      g.values.emplace_back(split.value);
    }
  }
  for (ProblemGroup& g : groups) std::sort(g.lines.begin(), g.lines.end());
  std::stable_sort(groups.begin(), groups.end(),
                   [](const ProblemGroup& a, const ProblemGroup& b) {
                     if (a.lines.size() != b.lines.size()) {
                       return a.lines.size() > b.lines.size();
                     }
                     return a.lines.front() < b.lines.front();
                   });
  return groups;
}

std::string LineRanges(const std::vector<size_t>& lines, size_t max_ranges) {
  std::string out;
  size_t ranges = 0;
  for (size_t i = 0; i < lines.size();) {
    size_t j = i;
    while (j + 1 < lines.size() && lines[j + 1] <= lines[j] + 1) ++j;
    if (ranges == max_ranges) return StrCat(out, ", ", kEllipsis);
    out += StrCat(out.empty() ? "" : ", ", lines[i]);
    if (lines[j] != lines[i]) out += StrCat(kEnDash, lines[j]);
    ++ranges;
    i = j + 1;
  }
  return out;
}

std::vector<std::string> ProblemLines(
    const std::vector<ImportProblem>& problems, size_t max_lines,
    std::string_view unit) {
  const std::vector<ProblemGroup> groups = GroupProblems(problems);
  std::vector<std::string> out;
  if (max_lines == 0) return out;
  const size_t shown =
      groups.size() <= max_lines ? groups.size() : max_lines - 1;
  for (size_t i = 0; i < shown; ++i) out.push_back(GroupLine(groups[i], unit));
  if (shown < groups.size()) {
    size_t rows = 0;
    for (size_t i = shown; i < groups.size(); ++i) {
      rows += groups[i].lines.size();
    }
    out.push_back(StrCat(kEllipsis, " and ", groups.size() - shown,
                         " more kinds of problem in ", rows,
                         " places (--json lists every one)"));
  }
  return out;
}

}  // namespace kring::node
