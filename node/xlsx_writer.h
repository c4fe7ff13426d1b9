#ifndef KRING_NODE_XLSX_WRITER_H_
#define KRING_NODE_XLSX_WRITER_H_

// Writing small .xlsx workbooks: for synthetic exports (benchmarks, tests,
// fixtures) in the shape survey tools write them. Pure: parts or rows in,
// bytes out.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace kring::node {

// A zip archive (deflated) holding `parts` as (path, content), in order.
absl::StatusOr<std::string> ZipParts(
    const std::vector<std::pair<std::string, std::string>>& parts);

// A workbook with one worksheet `sheet_name` holding `rows`: cells that
// are plain decimal numbers ("13", "2.5") as numbers, all others as shared
// strings; an empty cell is left out.
absl::StatusOr<std::string> WriteXlsx(
    const std::vector<std::vector<std::string>>& rows,
    const std::string& sheet_name = "Sheet1");

// The parts every workbook needs around its worksheets: [Content_Types].xml,
// _rels/.rels, xl/workbook.xml and xl/_rels/workbook.xml.rels, for sheets
// xl/worksheets/sheet1.xml, sheet2.xml, ... named `sheet_names`, with
// xl/sharedStrings.xml and xl/styles.xml (which the caller adds).
std::vector<std::pair<std::string, std::string>> WorkbookParts(
    const std::vector<std::string>& sheet_names, bool date1904 = false);

// `text` escaped for XML content and attributes.
std::string XmlEscape(std::string_view text);

}  // namespace kring::node

#endif  // KRING_NODE_XLSX_WRITER_H_
