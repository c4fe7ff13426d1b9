#ifndef KRING_NODE_IMPORT_REPORT_H_
#define KRING_NODE_IMPORT_REPORT_H_

// The part of the import summary that says how answers were read: the
// coding assumed for answers given as numbers, the recoding a mapping file
// applied, the items not asked, and the answers per item with their labels,
// so that inverted coding is visible before it matters.

#include <string>
#include <vector>

#include "nlohmann/json_fwd.hpp"
#include "node/import.h"
#include "survey/instrument.h"

namespace kring::node {

// Text lines (no trailing newlines) describing how `parsed`'s answers were
// read under `instrument`. The per-item distribution is included when any
// answer was given as a number, or always with `always_distribution`.
// Shows counts only, never a single pupil's answers.
std::vector<std::string> AnswerReport(const ParsedExport& parsed,
                                      const survey::Instrument& instrument,
                                      bool always_distribution);

// The same for --json: {"numeric_coding": ..., "items": [{"item": id,
// "counts": {label: n}, "missing": n, "numeric": n, "labelled": n,
// "reversed": b, "value_map": b, "not_asked": b}]}.
nlohmann::json AnswerReportJson(const ParsedExport& parsed,
                                const survey::Instrument& instrument);

}  // namespace kring::node

#endif  // KRING_NODE_IMPORT_REPORT_H_
