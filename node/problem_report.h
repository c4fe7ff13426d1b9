#ifndef KRING_NODE_PROBLEM_REPORT_H_
#define KRING_NODE_PROBLEM_REPORT_H_

// The problems of an import as a person reads them: the same problem in
// many rows is one line with the count and the row ranges, and the whole
// report fits a screen. Pure: problems in, lines out.

#include <cstddef>
#include <string>
#include <vector>

#include "node/import.h"

namespace kring::node {

// One kind of problem: the same reason in the same column, up to the value
// it quotes (or the line a duplicate repeats), and every line it occurs on.
struct ProblemGroup {
  std::string column;
  std::string reason;               // of the first row
  std::vector<std::string> values;  // distinct, as quoted, first seen first
  std::vector<size_t> lines;        // ascending
};

// `problems` grouped by kind; the groups with the most lines first, then
// by their first line.
std::vector<ProblemGroup> GroupProblems(
    const std::vector<ImportProblem>& problems);

// "2–359" or "3, 5–7, 12" for ascending `lines`; after `max_ranges` ranges
// ", …".
std::string LineRanges(const std::vector<size_t>& lines, size_t max_ranges = 6);

// At most `max_lines` lines (no newlines) that report `problems`: one per
// group, "line 8, column "X": reason" for a single line or
// "column "X": reason: 358 rows (2–359); rest of the reason" for many
// (with up to three of the values and how many more);
// when there are more groups than fit, the last line says how many kinds
// were left out. `unit` is "line" (CSV) or "row" (a worksheet).
std::vector<std::string> ProblemLines(
    const std::vector<ImportProblem>& problems, size_t max_lines,
    std::string_view unit = "line");

}  // namespace kring::node

#endif  // KRING_NODE_PROBLEM_REPORT_H_
