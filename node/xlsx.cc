#include "node/xlsx.h"

#include <zip.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <pugixml.hpp>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/time/civil_time.h"
#include "util/str_cat.h"

namespace kring::node {
namespace {

constexpr std::string_view kFixHint =
    "; open it in a spreadsheet and save it again, or export the survey "
    "as CSV";
constexpr size_t kMaxColumns = 16384;  // Excel's last column, XFD

absl::Status Damaged(std::string_view what) {
  return absl::InvalidArgumentError(
      StrCat("the .xlsx file is damaged or not a workbook: ", what, kFixHint));
}

// ---------------------------------------------------------------------------
// The zip archive, read from memory within the limits.

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};

class ZipReader {
 public:
  static absl::StatusOr<ZipReader> Open(std::string_view bytes,
                                        const XlsxLimits& limits) {
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* src =
        zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
    if (src == nullptr) {
      zip_error_fini(&error);
      return absl::ResourceExhaustedError("cannot read the .xlsx file");
    }
    zip_t* zip = zip_open_from_source(src, ZIP_RDONLY, &error);
    if (zip == nullptr) {
      zip_source_free(src);
      std::string why = zip_error_strerror(&error);
      zip_error_fini(&error);
      return Damaged(StrCat("not a readable zip archive (", why, ")"));
    }
    zip_error_fini(&error);
    ZipReader r(zip, limits);
    const zip_int64_t entries = zip_get_num_entries(zip, 0);
    if (entries < 0 || static_cast<uint64_t>(entries) > limits.max_entries) {
      return absl::ResourceExhaustedError(
          StrCat("the .xlsx file holds ", entries,
                 " files; a survey export "
                 "holds a few dozen and at most ",
                 limits.max_entries, " are read (is it a survey export?)"));
    }
    return r;
  }

  // The uncompressed part `name` (a path inside the archive); NOT_FOUND
  // when the archive has no such part.
  absl::StatusOr<std::string> Read(const std::string& name) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat(zip_.get(), name.c_str(), ZIP_FL_NOCASE, &st) != 0) {
      return absl::NotFoundError(StrCat("no part ", name));
    }
    const uint64_t budget =
        std::min(limits_.max_part_bytes, limits_.max_total_bytes - total_);
    if ((st.valid & ZIP_STAT_SIZE) != 0 && st.size > budget) {
      return TooLarge(name);
    }
    std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> file(
        zip_fopen_index(zip_.get(), st.index, 0), &zip_fclose);
    if (!file) {
      return Damaged(
          StrCat("cannot open ", name, " (", zip_strerror(zip_.get()), ")"));
    }
    std::string out;
    char buf[1 << 16];
    for (;;) {
      const zip_int64_t n = zip_fread(file.get(), buf, sizeof buf);
      if (n < 0) {
        return Damaged(StrCat("cannot unpack ", name, " (",
                              zip_file_strerror(file.get()), ")"));
      }
      if (n == 0) break;
      if (out.size() + static_cast<uint64_t>(n) > budget) return TooLarge(name);
      out.append(buf, static_cast<size_t>(n));
    }
    total_ += out.size();
    return out;
  }

 private:
  ZipReader(zip_t* zip, const XlsxLimits& limits)
      : zip_(zip), limits_(limits) {}

  absl::Status TooLarge(const std::string& name) const {
    const uint64_t limit =
        std::min(limits_.max_part_bytes, limits_.max_total_bytes);
    return absl::ResourceExhaustedError(
        StrCat("the .xlsx file unpacks to more than ",
               limit >= (1 << 20) ? StrCat(limit >> 20, " MiB")
                                  : StrCat(limit, " bytes"),
               " (", name,
               "); a survey export is far smaller: export the survey as CSV, "
               "or split it"));
  }

  std::unique_ptr<zip_t, ZipCloser> zip_;
  XlsxLimits limits_;
  uint64_t total_ = 0;
};

// ---------------------------------------------------------------------------
// XML helpers: elements and attributes are matched on their local name,
// whatever namespace prefix the writer chose ("x:sheet", "sheet").

std::string_view LocalName(const char* name) {
  std::string_view n = name;
  if (size_t colon = n.find(':'); colon != std::string_view::npos) {
    n.remove_prefix(colon + 1);
  }
  return n;
}

pugi::xml_node Child(pugi::xml_node parent, std::string_view local) {
  for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && LocalName(c.name()) == local) {
      return c;
    }
  }
  return {};
}

// The attribute `local` (any prefix); with `prefixed`, only one that has a
// prefix (r:id, not id).
const char* Attr(pugi::xml_node node, std::string_view local,
                 bool prefixed = false) {
  for (pugi::xml_attribute a = node.first_attribute(); a;
       a = a.next_attribute()) {
    const std::string_view name = a.name();
    if (LocalName(a.name()) == local &&
        (!prefixed || name.find(':') != std::string_view::npos)) {
      return a.value();
    }
  }
  return nullptr;
}

template <typename F>
void ForEachChild(pugi::xml_node parent, std::string_view local, F f) {
  for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && LocalName(c.name()) == local) f(c);
  }
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Undoes Office's escaping of characters XML cannot hold: "_x000D_" is a
// carriage return.
std::string Unescape(std::string_view s) {
  if (s.find("_x") == std::string_view::npos) return std::string(s);
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_' && i + 6 < s.size() && s[i + 1] == 'x' && s[i + 6] == '_') {
      uint32_t cp = 0;
      bool hex = true;
      for (size_t k = 2; k < 6; ++k) {
        const int d = HexDigit(s[i + k]);
        hex = hex && d >= 0;
        cp = cp * 16 + static_cast<uint32_t>(std::max(d, 0));
      }
      if (hex) {
        AppendUtf8(out, cp);
        i += 6;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// The text of a string item (<si> or <is>): its <t>, or its rich-text runs'
// <t>s joined; phonetic hints (<rPh>) are not part of the text.
std::string StringItemText(pugi::xml_node item) {
  std::string text;
  for (pugi::xml_node c = item.first_child(); c; c = c.next_sibling()) {
    const std::string_view name = LocalName(c.name());
    if (name == "t") {
      text += c.text().get();
    } else if (name == "r") {
      text += Child(c, "t").text().get();
    }
  }
  return Unescape(text);
}

absl::StatusOr<pugi::xml_document> ParseXml(std::string& text,
                                            const std::string& part) {
  pugi::xml_document doc;
  pugi::xml_parse_result r = doc.load_buffer_inplace(
      text.data(), text.size(),
      pugi::parse_default | pugi::parse_ws_pcdata_single);
  if (!r) {
    return Damaged(StrCat(part, " is not valid XML (", r.description(),
                          " at byte ", r.offset, ")"));
  }
  return doc;
}

// "xl/" + "worksheets/sheet1.xml", with "../" and absolute targets.
std::string ResolvePart(std::string_view base_dir, std::string_view target) {
  std::string path;
  if (!target.empty() && target.front() == '/') {
    target.remove_prefix(1);
  } else {
    path = std::string(base_dir);
  }
  std::vector<std::string> parts;
  std::string joined = path + std::string(target);
  size_t start = 0;
  for (size_t i = 0; i <= joined.size(); ++i) {
    if (i < joined.size() && joined[i] != '/') continue;
    std::string seg = joined.substr(start, i - start);
    start = i + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(std::move(seg));
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

std::string DirOf(std::string_view part) {
  const size_t slash = part.rfind('/');
  return slash == std::string_view::npos
             ? std::string()
             : std::string(part.substr(0, slash + 1));
}

struct Relationship {
  std::string type;    // the last segment: "worksheet", "sharedStrings", ...
  std::string target;  // a part path inside the archive
};

// The relationships of `part` (from its _rels/ file), by id; none when the
// file is absent.
absl::StatusOr<std::map<std::string, Relationship>> ReadRels(
    ZipReader& zip, const std::string& part) {
  const std::string dir = DirOf(part);
  const std::string rels_part =
      StrCat(dir, "_rels/", part.substr(dir.size()), ".rels");
  std::map<std::string, Relationship> rels;
  auto text = zip.Read(rels_part);
  if (absl::IsNotFound(text.status())) return rels;
  if (!text.ok()) return text.status();
  auto doc = ParseXml(*text, rels_part);
  if (!doc.ok()) return doc.status();
  ForEachChild(Child(*doc, "Relationships"), "Relationship",
               [&](pugi::xml_node r) {
                 const char* id = Attr(r, "Id");
                 const char* type = Attr(r, "Type");
                 const char* target = Attr(r, "Target");
                 const char* mode = Attr(r, "TargetMode");
                 if (!id || !type || !target ||
                     (mode && std::string_view(mode) == "External")) {
                   return;
                 }
                 std::string_view t = type;
                 t.remove_prefix(std::min(t.size(), t.rfind('/') + 1));
                 rels[id] = {std::string(t), ResolvePart(dir, target)};
               });
  return rels;
}

std::optional<std::string> TargetOfType(
    const std::map<std::string, Relationship>& rels, std::string_view type) {
  for (const auto& [id, r] : rels) {
    if (r.type == type) return r.target;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Number formats: which cell styles show a number as a date or time.

bool IsBuiltinDateFormat(uint32_t id) {
  return (id >= 14 && id <= 22) || (id >= 27 && id <= 36) ||
         (id >= 45 && id <= 47) || (id >= 50 && id <= 58);
}

// Whether a format code shows a date or time: it has d, m, y, h or s
// outside quoted text, escapes and [colour]/[$currency] sections ([h],
// [mm] and [ss] are elapsed times).
bool IsDateFormatCode(std::string_view code) {
  for (size_t i = 0; i < code.size(); ++i) {
    const char c = absl::ascii_tolower(static_cast<unsigned char>(code[i]));
    if (c == '"') {
      const size_t close = code.find('"', i + 1);
      if (close == std::string_view::npos) return false;
      i = close;
    } else if (c == '\\' || c == '_' || c == '*') {
      ++i;
    } else if (c == '[') {
      const size_t close = code.find(']', i + 1);
      if (close == std::string_view::npos) return false;
      std::string inner =
          absl::AsciiStrToLower(std::string(code.substr(i + 1, close - i - 1)));
      if (!inner.empty() &&
          inner.find_first_not_of("hms") == std::string::npos) {
        return true;
      }
      i = close;
    } else if (c == 'd' || c == 'm' || c == 'y' || c == 'h' || c == 's') {
      return true;
    }
  }
  return false;
}

// For each cell style (the <c s="N"> index): whether it shows a date.
absl::StatusOr<std::vector<bool>> ReadDateStyles(ZipReader& zip,
                                                 const std::string& part) {
  std::vector<bool> is_date;
  auto text = zip.Read(part);
  if (absl::IsNotFound(text.status())) return is_date;
  if (!text.ok()) return text.status();
  auto doc = ParseXml(*text, part);
  if (!doc.ok()) return doc.status();
  const pugi::xml_node sheet = Child(*doc, "styleSheet");
  std::map<uint32_t, bool> custom;
  ForEachChild(Child(sheet, "numFmts"), "numFmt", [&](pugi::xml_node f) {
    uint32_t id = 0;
    const char* code = Attr(f, "formatCode");
    if (Attr(f, "numFmtId") && absl::SimpleAtoi(Attr(f, "numFmtId"), &id) &&
        code) {
      custom[id] = IsDateFormatCode(code);
    }
  });
  ForEachChild(Child(sheet, "cellXfs"), "xf", [&](pugi::xml_node xf) {
    uint32_t id = 0;
    if (const char* a = Attr(xf, "numFmtId"); a) {
      if (!absl::SimpleAtoi(a, &id)) id = 0;
    }
    auto it = custom.find(id);
    is_date.push_back(it != custom.end() ? it->second
                                         : IsBuiltinDateFormat(id));
  });
  return is_date;
}

absl::StatusOr<std::vector<std::string>> ReadSharedStrings(
    ZipReader& zip, const std::string& part) {
  std::vector<std::string> strings;
  auto text = zip.Read(part);
  if (absl::IsNotFound(text.status())) return strings;
  if (!text.ok()) return text.status();
  auto doc = ParseXml(*text, part);
  if (!doc.ok()) return doc.status();
  ForEachChild(Child(*doc, "sst"), "si", [&](pugi::xml_node si) {
    strings.push_back(StringItemText(si));
  });
  return strings;
}

// ---------------------------------------------------------------------------
// The workbook: its sheets, date system and the parts they need.

struct Workbook {
  std::vector<std::string> sheet_names;  // worksheets, workbook order
  std::string first_sheet_part;
  bool date1904 = false;
  std::vector<std::string> shared_strings;
  std::vector<bool> date_styles;
};

absl::StatusOr<std::string> WorkbookPart(ZipReader& zip) {
  auto root = ReadRels(zip, "");
  if (!root.ok()) return root.status();
  if (auto t = TargetOfType(*root, "officeDocument")) return *t;
  return std::string("xl/workbook.xml");
}

absl::StatusOr<Workbook> ReadWorkbook(ZipReader& zip) {
  auto part = WorkbookPart(zip);
  if (!part.ok()) return part.status();
  auto text = zip.Read(*part);
  if (absl::IsNotFound(text.status())) {
    return Damaged(StrCat("it has no workbook (", *part, ")"));
  }
  if (!text.ok()) return text.status();
  auto doc = ParseXml(*text, *part);
  if (!doc.ok()) return doc.status();
  auto rels = ReadRels(zip, *part);
  if (!rels.ok()) return rels.status();
  const pugi::xml_node wb = Child(*doc, "workbook");
  Workbook w;
  if (const char* d = Attr(Child(wb, "workbookPr"), "date1904")) {
    const std::string_view v = d;
    w.date1904 = v == "1" || v == "true";
  }
  ForEachChild(Child(wb, "sheets"), "sheet", [&](pugi::xml_node s) {
    const char* id = Attr(s, "id", /*prefixed=*/true);
    const char* name = Attr(s, "name");
    if (!id || !name) return;
    auto it = rels->find(id);
    if (it == rels->end() || it->second.type != "worksheet") return;
    if (w.first_sheet_part.empty()) w.first_sheet_part = it->second.target;
    w.sheet_names.push_back(name);
  });
  if (w.first_sheet_part.empty()) {
    return Damaged("it has no worksheet");
  }
  auto strings = ReadSharedStrings(
      zip, TargetOfType(*rels, "sharedStrings")
               .value_or(ResolvePart(DirOf(*part), "sharedStrings.xml")));
  if (!strings.ok()) return strings.status();
  w.shared_strings = *std::move(strings);
  auto styles = ReadDateStyles(
      zip, TargetOfType(*rels, "styles")
               .value_or(ResolvePart(DirOf(*part), "styles.xml")));
  if (!styles.ok()) return styles.status();
  w.date_styles = *std::move(styles);
  return w;
}

// ---------------------------------------------------------------------------
// Cells

// "C12" -> column index 2 (A = 0); nullopt for a malformed reference.
std::optional<size_t> ColumnOf(std::string_view ref) {
  size_t col = 0, i = 0;
  for (; i < ref.size() &&
         absl::ascii_isalpha(static_cast<unsigned char>(ref[i]));
       ++i) {
    col =
        col * 26 +
        static_cast<size_t>(
            absl::ascii_toupper(static_cast<unsigned char>(ref[i])) - 'A' + 1);
    if (col > kMaxColumns) return std::nullopt;
  }
  if (i == 0) return std::nullopt;
  return col - 1;
}

// A number as written, "13" for "13.0" or "1.3E1".
std::string NumberText(std::string_view v) {
  double d = 0;
  if (absl::SimpleAtod(absl::string_view(v.data(), v.size()), &d) &&
      std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
    return StrCat(static_cast<int64_t>(d));
  }
  return std::string(v);
}

class SheetReader {
 public:
  explicit SheetReader(const Workbook& w) : w_(w) {}

  absl::StatusOr<std::vector<XlsxRow>> Read(pugi::xml_node sheet_data) {
    std::vector<XlsxRow> rows;
    size_t width = 0;
    for (pugi::xml_node row = sheet_data.first_child(); row;
         row = row.next_sibling()) {
      if (LocalName(row.name()) != "row") continue;
      XlsxRow r;
      r.number = rows.empty() ? 1 : rows.back().number + 1;
      if (const char* n = Attr(row, "r")) {
        if (!absl::SimpleAtoi(n, &r.number) || r.number == 0) {
          return Damaged(StrCat("row number \"", n, "\" is not a number"));
        }
      }
      if (!rows.empty() && r.number <= rows.back().number) {
        return Damaged(
            StrCat("row ", r.number, " comes after row ", rows.back().number));
      }
      if (auto s = ReadCells(row, r); !s.ok()) return s;
      if (r.cells.empty()) continue;
      width = std::max(width, r.cells.size());
      rows.push_back(std::move(r));
    }
    for (XlsxRow& r : rows) r.cells.resize(width);
    return rows;
  }

 private:
  absl::Status ReadCells(pugi::xml_node row, XlsxRow& r) {
    for (pugi::xml_node c = row.first_child(); c; c = c.next_sibling()) {
      if (LocalName(c.name()) != "c") continue;
      size_t col = r.cells.size();
      if (const char* ref = Attr(c, "r")) {
        std::optional<size_t> parsed = ColumnOf(ref);
        if (!parsed) {
          return Damaged(StrCat("row ", r.number,
                                " has a cell with a malformed reference"));
        }
        col = *parsed;
      }
      if (col >= kMaxColumns || col < r.cells.size()) {
        return Damaged(StrCat("cell ", XlsxColumnName(col), r.number,
                              " is out of order or beyond column XFD"));
      }
      auto text = CellText(c, col, r.number);
      if (!text.ok()) return text.status();
      r.cells.resize(col);
      r.cells.push_back(*std::move(text));
    }
    // Trailing empty cells (styled but blank) do not widen the sheet.
    while (!r.cells.empty() && r.cells.back().empty()) r.cells.pop_back();
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> CellText(pugi::xml_node c, size_t col,
                                       size_t row) const {
    const std::string_view type = Attr(c, "t") ? Attr(c, "t") : "n";
    if (type == "inlineStr") return StringItemText(Child(c, "is"));
    const std::string_view v = Child(c, "v").text().get();
    if (type == "s") {
      size_t index = 0;
      if (!absl::SimpleAtoi(absl::string_view(v.data(), v.size()), &index) ||
          index >= w_.shared_strings.size()) {
        return Damaged(StrCat("cell ", XlsxColumnName(col), row,
                              " refers to a shared string that is missing"));
      }
      return w_.shared_strings[index];
    }
    if (type == "b") return std::string(v == "1" ? "TRUE" : "FALSE");
    if (type == "str" || type == "e" || type == "d") return Unescape(v);
    if (v.empty()) return std::string();
    size_t style = 0;
    double serial = 0;
    if (const char* s = Attr(c, "s");
        s && absl::SimpleAtoi(s, &style) && style < w_.date_styles.size() &&
        w_.date_styles[style] &&
        absl::SimpleAtod(absl::string_view(v.data(), v.size()), &serial)) {
      return ExcelDateText(serial, w_.date1904);
    }
    return NumberText(v);
  }

  const Workbook& w_;
};

}  // namespace

std::string XlsxColumnName(size_t col) {
  std::string s;
  for (size_t n = col + 1; n > 0; n = (n - 1) / 26) {
    s.insert(s.begin(), static_cast<char>('A' + (n - 1) % 26));
  }
  return s;
}

bool LooksLikeZip(std::string_view bytes) {
  return bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4) ||
         bytes.substr(0, 4) == std::string_view("PK\x05\x06", 4);
}

std::string ExcelDateText(double serial, bool date1904) {
  constexpr double kLastDay = 2958465;  // 9999-12-31 in the 1900 system
  if (!std::isfinite(serial) || serial < 0 || serial >= kLastDay + 1) {
    return StrCat(serial);
  }
  const int64_t seconds = std::llround(serial * 86400.0);
  const int64_t days = seconds / 86400;
  const int64_t second_of_day = seconds % 86400;
  char time[16];
  std::snprintf(time, sizeof time, "%02d:%02d:%02d",
                static_cast<int>(second_of_day / 3600),
                static_cast<int>(second_of_day / 60 % 60),
                static_cast<int>(second_of_day % 60));
  if (days == 0) return time;
  std::string date;
  if (!date1904 && days == 60) {
    date = "1900-02-29";
  } else {
    absl::CivilDay day = date1904      ? absl::CivilDay(1904, 1, 1) + days
                         : (days < 60) ? absl::CivilDay(1899, 12, 31) + days
                                       : absl::CivilDay(1899, 12, 30) + days;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d",
                  static_cast<int>(day.year()), day.month(), day.day());
    date = buf;
  }
  return second_of_day == 0 ? date : StrCat(date, " ", time);
}

absl::StatusOr<XlsxSheet> ReadFirstWorksheet(std::string_view bytes,
                                             const XlsxLimits& limits) {
  auto zip = ZipReader::Open(bytes, limits);
  if (!zip.ok()) return zip.status();
  auto workbook = ReadWorkbook(*zip);
  if (!workbook.ok()) return workbook.status();
  auto text = zip->Read(workbook->first_sheet_part);
  if (absl::IsNotFound(text.status())) {
    return Damaged(StrCat("its first worksheet (", workbook->first_sheet_part,
                          ") is missing"));
  }
  if (!text.ok()) return text.status();
  auto doc = ParseXml(*text, workbook->first_sheet_part);
  if (!doc.ok()) return doc.status();
  auto rows =
      SheetReader(*workbook).Read(Child(Child(*doc, "worksheet"), "sheetData"));
  if (!rows.ok()) return rows.status();
  XlsxSheet sheet;
  sheet.sheet_names = std::move(workbook->sheet_names);
  sheet.name = sheet.sheet_names.front();
  sheet.rows = *std::move(rows);
  return sheet;
}

}  // namespace kring::node
