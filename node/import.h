#ifndef KRING_NODE_IMPORT_H_
#define KRING_NODE_IMPORT_H_

// Reading survey exports (CSV, or the first worksheet of an .xlsx workbook)
// into records: format and dialect detection,
// column mapping, dropping identifying columns, and validation of every row.
// Pure: bytes in, parsed rows and problems out; no files, no store.

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"
#include "kring/v1/record.pb.h"
#include "node/recode.h"
#include "survey/instrument.h"

namespace kring::node {

enum class ExportFormat {
  kAuto,            // detect from the headers
  kKring,           // the documented kring template (docs/import.md)
  kLimeSurvey,      // question codes as headers, answer codes as values
  kMicrosoftForms,  // question texts as headers, answer labels as values
  kQualtrics,       // three header rows (tags, texts, ImportIds)
};
std::string_view FormatName(ExportFormat f);  // "kring", "limesurvey", ...

// A mapping file (YAML, docs/import.md) for layouts kring does not know:
// which column holds which field, and constant values for fields the
// export lacks.
struct ColumnMapping {
  // Column header (exactly as in the file) -> field: "pupil_number",
  // "wave", "survey_month", "sector", "track", "grade", "gender", "age",
  // "migration_background", "financial_strain", an instrument item id, or
  // "drop" to drop the column explicitly.
  std::map<std::string, std::string> columns;
  // Field -> value used for every row, e.g. {"wave": "2025-26"}.
  std::map<std::string, std::string> constants;
  // `recode:` and `not_asked:` (docs/import.md, "Recoding").
  Recoding recode;

  static absl::StatusOr<ColumnMapping> Parse(std::string_view yaml);
};

struct ImportOptions {
  ExportFormat format = ExportFormat::kAuto;
  std::optional<ColumnMapping> mapping;
  // Values for fields the export has no column for (e.g. from --wave);
  // a column in the file takes precedence.
  std::map<std::string, std::string> defaults;
  // Whether special-category columns may be read (the node's setting);
  // otherwise they are never read and are listed in `ignored`, marked as
  // special-category data.
  bool special_categories = false;
  // Called now and then with (bytes parsed, total bytes).
  std::function<void(size_t, size_t)> progress;
};

// One problem with one cell or row. `line` is the physical line number in
// the file (1-based); `column` the header of the offending column (empty
// for whole-row problems).
struct ImportProblem {
  size_t line = 0;
  std::string column;
  std::string reason;
};

// A valid row: everything but the pseudonym, which the store derives from
// the pupil number (kept apart, in a SecretBytes, and never stored).
struct ImportRow {
  size_t line = 0;
  crypto::SecretBytes pupil_number;
  v1::PupilRecord record;  // pseudonym empty
};

// How one item's answers were read, for the import summary: the answers
// per code after recoding, so that inverted coding shows before it
// matters.
struct ItemAnswers {
  std::string item_id;
  // counts[code] rows with that code after recoding; counts[0] missing.
  std::vector<size_t> counts;
  size_t numeric = 0;         // answers given as numbers (or LimeSurvey codes)
  size_t labelled = 0;        // answers given as labels
  bool reversed = false;      // reverse coded by the mapping file
  bool value_mapped = false;  // a value map of the mapping file applied
  bool not_asked = false;     // no column: recorded as not asked
};

struct ParsedExport {
  ExportFormat format = ExportFormat::kAuto;
  char delimiter = ',';
  bool had_bom = false;
  bool crlf = false;
  // For an .xlsx workbook: the worksheet read (the first) and the names of
  // all its worksheets; both empty for CSV. Lines are then sheet rows.
  std::string worksheet;
  std::vector<std::string> worksheets;
  size_t data_rows = 0;
  // Column headers dropped because they identify people (names, e-mail,
  // IP address, location, free text, timestamps beyond the month).
  std::vector<std::string> dropped_identifying;
  // Other columns that are not used (e.g. "lastpage"), also never stored.
  std::vector<std::string> ignored;
  // One entry per instrument item, in instrument order.
  std::vector<ItemAnswers> answers;
  std::vector<ImportRow> rows;  // empty when there are problems
  std::vector<ImportProblem> problems;
};

// Parses a whole export, CSV or .xlsx (node/xlsx.h; recognised by its zip
// signature). Structural failures (not CSV, no pupil-number
// column, an item of the instrument missing, ambiguous format) are errors;
// row-level problems are collected in `problems` — all of them, not just
// the first — and then `rows` is empty (all-or-nothing). Duplicate pupils
// within a wave of the same file are problems too.
absl::StatusOr<ParsedExport> ParseExport(std::string_view bytes,
                                         const survey::Instrument& instrument,
                                         const ImportOptions& options);

}  // namespace kring::node

#endif  // KRING_NODE_IMPORT_H_
