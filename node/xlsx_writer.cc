#include "node/xlsx_writer.h"

#include <zip.h>

#include <cstdio>
#include <map>
#include <memory>

#include "node/xlsx.h"
#include "util/str_cat.h"

namespace kring::node {
namespace {

constexpr std::string_view kMainNs =
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
constexpr std::string_view kRelNs =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
constexpr std::string_view kPackageRelNs =
    "http://schemas.openxmlformats.org/package/2006/relationships";
constexpr std::string_view kXmlDecl =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";

// Whether `s` is a number Excel would store as one, and reading it back
// gives the same text: no leading zeros (pupil numbers such as "0123" stay
// text), at most 15 digits.
bool IsPlainNumber(std::string_view s) {
  std::string_view v = s;
  if (!v.empty() && v.front() == '-') v.remove_prefix(1);
  const size_t dot = v.find('.');
  const std::string_view whole = v.substr(0, dot);
  const std::string_view frac =
      dot == std::string_view::npos ? std::string_view() : v.substr(dot + 1);
  auto digits = [](std::string_view d) {
    return !d.empty() && d.find_first_not_of("0123456789") == d.npos;
  };
  if (!digits(whole) || (whole.size() > 1 && whole.front() == '0')) {
    return false;
  }
  if (dot != std::string_view::npos && (!digits(frac) || frac.back() == '0')) {
    return false;
  }
  return whole.size() + frac.size() <= 15 && s != "-0";
}

std::string SheetXml(const std::vector<std::vector<std::string>>& rows,
                     std::map<std::string, size_t>& strings,
                     std::vector<const std::string*>& order) {
  std::string xml = StrCat(kXmlDecl, "<worksheet xmlns=\"", kMainNs,
                           "\" xmlns:r=\"", kRelNs, "\"><sheetData>");
  for (size_t r = 0; r < rows.size(); ++r) {
    xml += StrCat("<row r=\"", r + 1, "\">");
    for (size_t c = 0; c < rows[r].size(); ++c) {
      const std::string& v = rows[r][c];
      if (v.empty()) continue;
      const std::string ref = StrCat(XlsxColumnName(c), r + 1);
      if (IsPlainNumber(v)) {
        xml += StrCat("<c r=\"", ref, "\"><v>", v, "</v></c>");
        continue;
      }
      auto [it, fresh] = strings.emplace(v, strings.size());
      if (fresh) order.push_back(&it->first);
      xml += StrCat("<c r=\"", ref, "\" t=\"s\"><v>", it->second, "</v></c>");
    }
    xml += "</row>";
  }
  return xml + "</sheetData></worksheet>";
}

}  // namespace

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\r':
        out += "_x000D_";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

absl::StatusOr<std::string> ZipParts(
    const std::vector<std::pair<std::string, std::string>>& parts) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  if (buffer == nullptr) return absl::ResourceExhaustedError("zip buffer");
  std::unique_ptr<zip_source_t, void (*)(zip_source_t*)> keep(buffer,
                                                              &zip_source_free);
  zip_source_keep(buffer);
  zip_t* zip = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  if (zip == nullptr) {
    zip_source_free(buffer);  // the reference zip_open_from_source did not take
    return absl::InternalError(
        StrCat("cannot start a zip archive: ", zip_error_strerror(&error)));
  }
  for (const auto& [name, content] : parts) {
    zip_source_t* s = zip_source_buffer(zip, content.data(), content.size(), 0);
    if (s == nullptr ||
        zip_file_add(zip, name.c_str(), s, ZIP_FL_ENC_UTF_8) < 0) {
      if (s != nullptr) zip_source_free(s);
      std::string why = zip_strerror(zip);
      zip_discard(zip);
      return absl::InternalError(StrCat("cannot add ", name, ": ", why));
    }
  }
  if (zip_close(zip) != 0) {
    std::string why = zip_strerror(zip);
    zip_discard(zip);
    return absl::InternalError(StrCat("cannot write the zip archive: ", why));
  }
  std::string out;
  if (zip_source_open(buffer) != 0) {
    return absl::InternalError("cannot read the zip archive back");
  }
  char chunk[1 << 16];
  for (zip_int64_t n; (n = zip_source_read(buffer, chunk, sizeof chunk)) > 0;) {
    out.append(chunk, static_cast<size_t>(n));
  }
  zip_source_close(buffer);
  return out;
}

std::vector<std::pair<std::string, std::string>> WorkbookParts(
    const std::vector<std::string>& sheet_names, bool date1904) {
  std::string types = StrCat(
      kXmlDecl,
      "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/"
      "content-types\"><Default Extension=\"rels\" "
      "ContentType=\"application/vnd.openxmlformats-package.relationships+"
      "xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/>"
      "<Override PartName=\"/xl/workbook.xml\" "
      "ContentType=\"application/vnd.openxmlformats-officedocument."
      "spreadsheetml.sheet.main+xml\"/>");
  std::string sheets,
      rels = StrCat(kXmlDecl, "<Relationships xmlns=\"", kPackageRelNs, "\">");
  for (size_t i = 0; i < sheet_names.size(); ++i) {
    types += StrCat("<Override PartName=\"/xl/worksheets/sheet", i + 1,
                    ".xml\" ContentType=\"application/"
                    "vnd.openxmlformats-officedocument.spreadsheetml."
                    "worksheet+xml\"/>");
    sheets += StrCat("<sheet name=\"", XmlEscape(sheet_names[i]),
                     "\" sheetId=\"", i + 1, "\" r:id=\"rId", i + 1, "\"/>");
    rels += StrCat("<Relationship Id=\"rId", i + 1, "\" Type=\"", kRelNs,
                   "/worksheet\" Target=\"worksheets/sheet", i + 1, ".xml\"/>");
  }
  const size_t n = sheet_names.size();
  rels += StrCat("<Relationship Id=\"rId", n + 1, "\" Type=\"", kRelNs,
                 "/sharedStrings\" Target=\"sharedStrings.xml\"/>",
                 "<Relationship Id=\"rId", n + 2, "\" Type=\"", kRelNs,
                 "/styles\" Target=\"styles.xml\"/></Relationships>");
  types += "</Types>";
  return {
      {"[Content_Types].xml", types},
      {"_rels/.rels", StrCat(kXmlDecl, "<Relationships xmlns=\"", kPackageRelNs,
                             "\"><Relationship Id=\"rId1\" Type=\"", kRelNs,
                             "/officeDocument\" Target=\"xl/workbook.xml\"/>"
                             "</Relationships>")},
      {"xl/workbook.xml",
       StrCat(kXmlDecl, "<workbook xmlns=\"", kMainNs, "\" xmlns:r=\"", kRelNs,
              "\"><workbookPr", date1904 ? " date1904=\"1\"" : "", "/><sheets>",
              sheets, "</sheets></workbook>")},
      {"xl/_rels/workbook.xml.rels", rels},
  };
}

absl::StatusOr<std::string> WriteXlsx(
    const std::vector<std::vector<std::string>>& rows,
    const std::string& sheet_name) {
  std::map<std::string, size_t> strings;
  std::vector<const std::string*> order;
  std::string sheet = SheetXml(rows, strings, order);
  std::string sst =
      StrCat(kXmlDecl, "<sst xmlns=\"", kMainNs, "\" count=\"", order.size(),
             "\" uniqueCount=\"", order.size(), "\">");
  for (const std::string* s : order) {
    sst += StrCat("<si><t xml:space=\"preserve\">", XmlEscape(*s), "</t></si>");
  }
  sst += "</sst>";
  auto parts = WorkbookParts({sheet_name});
  parts.emplace_back("xl/worksheets/sheet1.xml", std::move(sheet));
  parts.emplace_back("xl/sharedStrings.xml", std::move(sst));
  parts.emplace_back(
      "xl/styles.xml",
      StrCat(kXmlDecl, "<styleSheet xmlns=\"", kMainNs,
             "\"><cellXfs count=\"1\"><xf numFmtId=\"0\"/></cellXfs>"
             "</styleSheet>"));
  return ZipParts(parts);
}

}  // namespace kring::node
