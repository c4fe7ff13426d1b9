#ifndef KRING_NODE_XLSX_H_
#define KRING_NODE_XLSX_H_

// Reading the first worksheet of an Excel workbook (.xlsx, Office Open XML)
// as rows of text cells, as Microsoft Forms, Qualtrics and LimeSurvey export
// them. Pure: bytes in, rows out; no files. The rows then go through the
// same validation as a CSV export (node/import.h).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kring::node {

// Bounds on what reading a workbook may unpack (against zip bombs).
struct XlsxLimits {
  size_t max_entries = 10000;                      // files in the archive
  uint64_t max_part_bytes = uint64_t{256} << 20;   // one part, uncompressed
  uint64_t max_total_bytes = uint64_t{512} << 20;  // all parts read
};

struct XlsxRow {
  size_t number = 0;               // the sheet's row number (1-based)
  std::vector<std::string> cells;  // column A first; an empty cell is ""
};

struct XlsxSheet {
  std::string name;                      // the worksheet read
  std::vector<std::string> sheet_names;  // every worksheet, workbook order
  // Rows with at least one cell, in sheet order, all as wide as the widest.
  std::vector<XlsxRow> rows;
};

// Whether `bytes` start like a zip archive (an .xlsx file is one).
bool LooksLikeZip(std::string_view bytes);

// The first worksheet (in the workbook's order) of the .xlsx file `bytes`,
// as text: shared and inline strings (rich-text runs joined), numbers as
// written ("13", "2.5"), booleans as TRUE/FALSE, error values as written
// (#N/A), and numbers in a date or time format as ISO text
// ("2026-03-14 09:05:00", "2026-03-14", "09:05:00"; the 1900 and 1904 date
// systems). INVALID_ARGUMENT for a file that is not a workbook or is
// damaged; RESOURCE_EXHAUSTED when it exceeds `limits`; messages say how to
// fix it and never quote cell contents.
absl::StatusOr<XlsxSheet> ReadFirstWorksheet(std::string_view bytes,
                                             const XlsxLimits& limits = {});

// The text of Excel date serial `serial` (days since the epoch of the
// workbook's date system, fraction = time of day) as ISO: a date, a date
// and time, or (`serial` < 1) a time only. In the 1900 system serial 60 is
// the day Excel takes for 29 February 1900 (Lotus's leap-year bug), given
// as "1900-02-29".
std::string ExcelDateText(double serial, bool date1904);

// The letters of column `col` (0 = "A", 26 = "AA").
std::string XlsxColumnName(size_t col);

}  // namespace kring::node

#endif  // KRING_NODE_XLSX_H_
