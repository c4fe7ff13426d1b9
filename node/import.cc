#include "node/import.h"

#include <csv.h>

#include <algorithm>
#include <array>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "node/xlsx.h"
#include "survey/record.h"
#include "survey/text.h"
#include "util/str_cat.h"
#include "yaml-cpp/depthguard.h"
#include "yaml-cpp/yaml.h"

namespace kring::node {

using survey::Instrument;
using survey::Item;
using survey::NormalizeLabel;
using survey::NormalizePupilNumber;
using survey::ParseAgeBand;
using survey::ParseDecimal;
using survey::ParseFinancialStrain;
using survey::ParseGender;
using survey::ParseMigrationBackground;
using survey::ParseSector;
using survey::ParseSurveyMonth;
using survey::ParseTrack;
using survey::Quote;
using survey::ResponseScale;
using survey::ValidateRecord;
using survey::ValidateWave;
namespace {

// ---------------------------------------------------------------------------
// CSV reading (libcsv)

constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr size_t kChunk = 1 << 20;  // bytes per csv_parse call

struct CsvRow {
  size_t line = 0;  // physical line the row starts on (1-based)
  std::vector<std::string> cells;
};

struct CsvReader {
  std::vector<CsvRow> rows;
  CsvRow current;
  size_t line = 1;  // physical line of the next row's start
  size_t newlines_in_row = 0;
  bool row_open = false;
  size_t width = 0;  // cells in the first row, to reserve for the next

  static void OnField(void* data, size_t len, void* self) {
    auto* r = static_cast<CsvReader*>(self);
    if (!r->row_open) {
      r->current.line = r->line;
      r->current.cells.reserve(r->width);
      r->row_open = true;
    }
    std::string cell(static_cast<const char*>(data), data ? len : 0);
    r->newlines_in_row +=
        static_cast<size_t>(std::count(cell.begin(), cell.end(), '\n'));
    r->current.cells.push_back(std::move(cell));
  }
  // With CSV_REPALL_NL every unquoted CR and LF ends a "row"; only LF (or
  // the end of the input) advances the line count, so CRLF counts once.
  static void OnRowEnd(int c, void* self) {
    auto* r = static_cast<CsvReader*>(self);
    if (r->row_open) {
      if (r->width == 0) r->width = r->current.cells.size();
      r->rows.push_back(std::move(r->current));
      r->current = CsvRow{};
      r->row_open = false;
    }
    r->line += r->newlines_in_row + (c == '\n' ? 1 : 0);
    r->newlines_in_row = 0;
  }
};

char DetectDelimiter(std::string_view text) {
  // Count candidates on the first line, outside quotes.
  std::array<std::pair<char, size_t>, 3> counts = {
      {{',', 0}, {';', 0}, {'\t', 0}}};
  bool quoted = false;
  for (char c : text) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == '\n' || c == '\r') break;
    for (auto& [d, n] : counts) n += c == d;
  }
  auto best = std::max_element(
      counts.begin(), counts.end(),
      [](const auto& a, const auto& b) { return a.second < b.second; });
  return best->second == 0 ? ',' : best->first;
}

absl::StatusOr<std::vector<CsvRow>> ReadCsv(
    std::string_view text, char delimiter,
    const std::function<void(size_t, size_t)>& progress, size_t offset,
    size_t total) {
  csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0) {
    return absl::ResourceExhaustedError("cannot start the CSV parser");
  }
  csv_set_delim(&parser, static_cast<unsigned char>(delimiter));
  CsvReader reader;
  absl::Status status;
  for (size_t at = 0; at < text.size(); at += kChunk) {
    const size_t n = std::min(kChunk, text.size() - at);
    if (csv_parse(&parser, text.data() + at, n, &CsvReader::OnField,
                  &CsvReader::OnRowEnd, &reader) != n) {
      status = absl::InvalidArgumentError(
          StrCat("the file is not valid CSV near line ", reader.line, ": ",
                 csv_strerror(csv_error(&parser)),
                 " (a quote that is not closed, or a quote inside an "
                 "unquoted cell); fix it in a spreadsheet and export again"));
      break;
    }
    if (progress) progress(offset + at + n, total);
  }
  if (status.ok() && csv_fini(&parser, &CsvReader::OnField,
                              &CsvReader::OnRowEnd, &reader) != 0) {
    status = absl::InvalidArgumentError(
        StrCat("the file is not valid CSV: a quoted cell starting on or after "
               "line ",
               reader.line, " is never closed"));
  }
  csv_free(&parser);
  if (!status.ok()) return status;
  return std::move(reader.rows);
}

// Whitespace only (including the UTF-8 no-break space).
bool IsBlank(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
        c == '\v') {
      continue;
    }
    if (c == '\xC2' && i + 1 < s.size() && s[i + 1] == '\xA0') {
      ++i;
      continue;
    }
    return false;
  }
  return true;
}

bool AllEmpty(const std::vector<std::string>& cells) {
  return std::all_of(cells.begin(), cells.end(),
                     [](const std::string& c) { return IsBlank(c); });
}

// Parse results remembered per distinct raw cell value: exports repeat the
// same few values (sector, track, answer labels) on every row. Values are
// enum numbers or codes; errors keep their message.
class CellCache {
 public:
  template <typename Parse>
  const absl::StatusOr<uint32_t>& Get(const std::string& raw, Parse parse) {
    auto it = cache_.find(raw);
    if (it == cache_.end()) it = cache_.emplace(raw, parse(raw)).first;
    return it->second;
  }

 private:
  std::unordered_map<std::string, absl::StatusOr<uint32_t>> cache_;
};

// Adapts a field parser returning StatusOr<Enum or uint32_t> to the cache.
template <typename Parser>
auto AsCode(Parser parser) {
  return [parser](const std::string& raw) -> absl::StatusOr<uint32_t> {
    auto v = parser(raw);
    if (!v.ok()) return v.status();
    return static_cast<uint32_t>(*v);
  };
}

// ---------------------------------------------------------------------------
// Columns

enum class Field {
  kPupilNumber,
  kWave,
  kSurveyMonth,
  kSector,
  kTrack,
  kGrade,
  kGender,
  kAge,
  kMigration,
  kStrain,
};
constexpr size_t kNumFields = 10;

constexpr std::array<std::string_view, kNumFields> kFieldNames = {
    "pupil_number",    "wave",  "survey_month",
    "sector",          "track", "grade",
    "gender",          "age",   "migration_background",
    "financial_strain"};

std::optional<Field> FieldByName(std::string_view name) {
  for (size_t i = 0; i < kNumFields; ++i) {
    if (kFieldNames[i] == name) return static_cast<Field>(i);
  }
  return std::nullopt;
}

bool IsSpecial(Field f) {
  return f == Field::kMigration || f == Field::kStrain;
}

// Only letters and digits, lower-cased: "E-mail" and "email" match.
std::string Key(std::string_view header) {
  std::string out;
  for (char c : NormalizeLabel(header)) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        static_cast<unsigned char>(c) >= 0x80) {
      out.push_back(c);
    }
  }
  return out;
}

struct Synonyms {
  Field field;
  std::initializer_list<std::string_view> exact;     // Key()s
  std::initializer_list<std::string_view> contains;  // Key() substrings
};

// Headers schools use for the record fields (Dutch and English). Matched
// on Key(): exact first, then "contains" for question-style headers such
// as "Wat is je leerlingnummer?".
const std::array<Synonyms, kNumFields>& FieldSynonyms() {
  static const std::array<Synonyms, kNumFields> kTable = {{
      {Field::kPupilNumber,
       {"pupilnumber", "leerlingnummer", "leerlingnr", "llnr", "studentnumber",
        "studentnummer", "pupilid", "studentid"},
       {"leerlingnummer", "studentnumber", "pupilnumber"}},
      {Field::kWave, {"wave", "meting", "schooljaar", "schoolyear"}, {}},
      {Field::kSurveyMonth,
       {"surveymonth", "maand", "afnamemaand", "month"},
       {}},
      {Field::kSector, {"sector", "onderwijssector"}, {}},
      {Field::kTrack,
       {"track", "leerweg", "niveau", "onderwijstype", "schooltype"},
       {"leerweg", "niveau"}},
      {Field::kGrade,
       {"grade", "leerjaar", "klas", "groep", "year"},
       {"leerjaar", "inwelkegroep"}},
      {Field::kGender,
       {"gender", "geslacht", "sekse", "ikbeneen", "sex"},
       {"geslacht", "gender"}},
      {Field::kAge, {"age", "leeftijd"}, {"leeftijd", "hoeoudben"}},
      {Field::kMigration,
       {"migrationbackground", "migratieachtergrond"},
       {"migratieachtergrond", "migrationbackground"}},
      {Field::kStrain,
       {"financialstrain", "financielekrapte", "financiëlekrapte"},
       {"financielekrapte", "financiëlekrapte", "financialstrain"}},
  }};
  return kTable;
}

// Headers of columns that identify people, matched on Key().
struct IdentifyingPattern {
  std::string_view key;
  bool contains;
};
constexpr IdentifyingPattern kIdentifying[] = {
    // names
    {"naam", true},
    {"name", true},
    {"voornaam", true},
    {"achternaam", true},
    // e-mail
    {"email", true},
    {"mail", true},
    // network and location
    {"ipaddr", true},
    {"ipaddress", true},
    {"ipadres", true},
    {"ip", false},
    {"location", true},
    {"locatie", true},
    {"latitude", true},
    {"longitude", true},
    {"refurl", false},
    {"referer", true},
    {"referrer", true},
    // identifiers of the response or the respondent outside kring
    {"externalreference", false},
    {"externaldatareference", false},
    {"responseid", false},
    {"token", false},
    {"seed", false},
    // timestamps (only the month is ever kept)
    {"submitdate", false},
    {"startdate", false},
    {"enddate", false},
    {"datestamp", false},
    {"recordeddate", false},
    {"begintijd", false},
    {"starttijd", false},
    {"eindtijd", false},
    {"tijdvanvoltooien", false},
    {"voltooiingstijd", false},
    {"starttime", false},
    {"completiontime", false},
    {"lastmodifiedtime", false},
    {"tijdvanlaatstewijziging", false},
    {"datum", false},
    {"date", false},
    {"timestamp", true},
    {"tijdstempel", true},
    // free text
    {"opmerking", true},
    {"comment", true},
    {"toelichting", true},
    {"anders", true},
    {"other", true},
    {"text", true},
    {"tekst", true},
    {"feedback", true},
};

bool IsIdentifying(std::string_view header) {
  const std::string k = Key(header);
  for (const auto& p : kIdentifying) {
    if (p.contains ? k.find(p.key) != std::string::npos : k == p.key) {
      return true;
    }
  }
  return false;
}

// Timestamp columns the survey month can be read from when the export has
// no month column (in order of preference: completion before start).
constexpr std::string_view kTimestampKeys[] = {
    "submitdate",   "tijdvanvoltooien", "completiontime",
    "recordeddate", "enddate",          "datestamp",
    "begintijd",    "starttime",        "startdate"};

std::optional<size_t> TimestampRank(std::string_view header) {
  const std::string k = Key(header);
  for (size_t i = 0; i < std::size(kTimestampKeys); ++i) {
    if (k == kTimestampKeys[i]) return i;
  }
  return std::nullopt;
}

struct DateParts {
  uint32_t year, month;
};

// The year and month of a timestamp as exports write it: ISO
// ("2026-03-14 09:05:00"), Dutch day-first ("14-3-2026 9:05:00",
// "14/03/2026") or, with `month_first`, US month-first ("3/14/26").
std::optional<DateParts> ParseTimestamp(std::string_view s, bool month_first) {
  std::string norm = NormalizeLabel(s);
  std::string_view v = norm;
  if (size_t sp = v.find_first_of(" t"); sp != std::string_view::npos) {
    v = v.substr(0, sp);
  }
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= v.size(); ++i) {
    if (i == v.size() || v[i] == '-' || v[i] == '/' || v[i] == '.') {
      parts.push_back(v.substr(start, i - start));
      start = i + 1;
    }
  }
  if (parts.size() != 3) return std::nullopt;
  std::array<std::optional<uint32_t>, 3> n = {
      ParseDecimal(parts[0]), ParseDecimal(parts[1]), ParseDecimal(parts[2])};
  if (!n[0] || !n[1] || !n[2]) return std::nullopt;
  DateParts d{};
  if (parts[0].size() == 4) {
    d = {*n[0], *n[1]};
  } else if (month_first) {
    d = {*n[2], *n[0]};
  } else {
    d = {*n[2], *n[1]};
  }
  if (d.year < 100) d.year += 2000;
  if (d.month < 1 || d.month > 12 || d.year < 2000 || d.year > 2099) {
    return std::nullopt;
  }
  return d;
}

// The school year a survey date falls in (a school year starts in August).
std::string WaveOf(const DateParts& d) {
  const uint32_t first = d.month >= 8 ? d.year : d.year - 1;
  const uint32_t next = (first + 1) % 100;
  return StrCat(first, "-", next < 10 ? "0" : "", next);
}

// The item a header names: the item id itself (kring, Qualtrics tags),
// LimeSurvey's "group[ITEMID]", or the item's Dutch or English text
// (Microsoft Forms, Qualtrics' second header row); all case-insensitive.
std::optional<size_t> ItemForHeader(
    const std::unordered_map<std::string, size_t>& by_key,
    std::string_view header) {
  std::string norm = NormalizeLabel(header);
  if (auto it = by_key.find(norm); it != by_key.end()) return it->second;
  if (size_t open = norm.rfind('[');
      open != std::string::npos && !norm.empty() && norm.back() == ']') {
    std::string inner = norm.substr(open + 1, norm.size() - open - 2);
    if (auto it = by_key.find(inner); it != by_key.end()) return it->second;
  }
  return std::nullopt;
}

// The item of a Qualtrics question text: the whole text, or for a matrix
// question ("Hoe sterk ben je het eens? - Ik voel me thuis op school") the
// statement after a " - ".
std::optional<size_t> QualtricsItem(
    const std::unordered_map<std::string, size_t>& by_key,
    std::string_view text) {
  if (auto item = ItemForHeader(by_key, text)) return item;
  for (size_t dash = text.find(" - "); dash != std::string_view::npos;
       dash = text.find(" - ", dash + 1)) {
    if (auto item = ItemForHeader(by_key, text.substr(dash + 3))) return item;
  }
  return std::nullopt;
}

std::unordered_map<std::string, size_t> ItemKeys(const Instrument& ins) {
  std::unordered_map<std::string, size_t> keys;
  for (size_t i = 0; i < ins.items().size(); ++i) {
    const Item& item = ins.items()[i];
    keys.emplace(NormalizeLabel(item.id), i);
    keys.emplace(NormalizeLabel(item.text_nl), i);
    keys.emplace(NormalizeLabel(item.text_en), i);
  }
  return keys;
}

std::optional<Field> FieldForHeader(std::string_view header) {
  const std::string k = Key(header);
  if (k.empty()) return std::nullopt;
  for (const Synonyms& s : FieldSynonyms()) {
    for (std::string_view e : s.exact) {
      if (k == e) return s.field;
    }
  }
  for (const Synonyms& s : FieldSynonyms()) {
    for (std::string_view c : s.contains) {
      if (k.find(c) != std::string::npos) return s.field;
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Format detection

bool HasKey(const std::vector<std::string>& headers, std::string_view key) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const std::string& h) { return Key(h) == key; });
}

bool LooksLikeQualtrics(const std::vector<CsvRow>& rows) {
  if (rows.size() < 3) return false;
  return std::any_of(rows[2].cells.begin(), rows[2].cells.end(),
                     [](const std::string& c) {
                       return c.find("\"ImportId\"") != std::string::npos ||
                              c.find("ImportId:") != std::string::npos;
                     });
}

ExportFormat Detect(const std::vector<CsvRow>& rows) {
  const auto& h = rows[0].cells;
  if (LooksLikeQualtrics(rows)) return ExportFormat::kQualtrics;
  if (HasKey(h, "submitdate") || HasKey(h, "lastpage") ||
      HasKey(h, "startlanguage")) {
    return ExportFormat::kLimeSurvey;
  }
  if (HasKey(h, "begintijd") || HasKey(h, "tijdvanvoltooien") ||
      HasKey(h, "starttime") || HasKey(h, "completiontime")) {
    return ExportFormat::kMicrosoftForms;
  }
  return ExportFormat::kKring;
}

// An answer cell: a label (Dutch or English), a code ("3"), or a
// LimeSurvey answer code ("A3", "AO03"); 0 = missing. OUT_OF_RANGE for a
// code the item does not have, INVALID_ARGUMENT for an unknown label.
absl::StatusOr<uint32_t> ParseAnswer(const Instrument& ins, size_t item,
                                     std::string_view cell) {
  std::string norm = NormalizeLabel(cell);
  if (norm.empty()) return 0u;
  const ResponseScale& scale = ins.ResponseScaleOf(item);
  if (std::optional<uint32_t> code = scale.CodeForLabel(norm)) return *code;
  std::string_view digits = norm;
  while (!digits.empty() && digits.front() >= 'a' && digits.front() <= 'z') {
    digits.remove_prefix(1);
  }
  if (std::optional<uint32_t> n = ParseDecimal(digits)) {
    if (ins.IsValidCode(item, *n) && *n != 0) return *n;
    return absl::OutOfRangeError("code");
  }
  return absl::InvalidArgumentError("label");
}

// Set in ReadAnswer's result when the answer was given as a number.
constexpr uint32_t kNumericAnswer = uint32_t{1} << 31;

// Whether an answer cell is a number or a LimeSurvey code ("3", "A3").
bool IsNumericAnswer(std::string_view cell) {
  std::string norm = NormalizeLabel(cell);
  std::string_view digits = norm;
  while (!digits.empty() && digits.front() >= 'a' && digits.front() <= 'z') {
    digits.remove_prefix(1);
  }
  return ParseDecimal(digits).has_value();
}

// An answer cell through the mapping file's recode `r` (may be null), then
// ParseAnswer: a mapped value as mapped, a number reversed when `r` says
// so. kNumericAnswer is set for numbers read as codes.
absl::StatusOr<uint32_t> ReadAnswer(const Instrument& ins, size_t item,
                                    const ValueRecode* r,
                                    const std::string& raw) {
  const std::string& value = MappedValue(r, raw);
  const bool mapped = &value != &raw;
  absl::StatusOr<uint32_t> code = ParseAnswer(ins, item, value);
  if (!code.ok() || *code == 0) return code;
  if (mapped || !IsNumericAnswer(value)) return *code;
  const uint32_t c =
      r != nullptr && r->reverse ? ReverseCode(ins, item, *code) : *code;
  return c | kNumericAnswer;
}

}  // namespace

std::string_view FormatName(ExportFormat f) {
  switch (f) {
    case ExportFormat::kAuto:
      return "auto";
    case ExportFormat::kKring:
      return "kring";
    case ExportFormat::kLimeSurvey:
      return "limesurvey";
    case ExportFormat::kMicrosoftForms:
      return "msforms";
    case ExportFormat::kQualtrics:
      return "qualtrics";
  }
  return "unknown";
}

absl::StatusOr<ColumnMapping> ColumnMapping::Parse(std::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::DeepRecursion& e) {
    return absl::InvalidArgumentError(
        StrCat("mapping file: nested too deeply at line ", e.mark.line + 1,
               " (more than ", e.depth(),
               " levels); a mapping file has two levels: `columns:` and "
               "`constants:`, one entry per line (see docs/import.md)"));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(StrCat(
        "mapping file: not valid YAML at line ", e.mark.line + 1, ": ", e.msg));
  }
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        "mapping file: expected a map with `columns:` and optionally "
        "`constants:` (see docs/import.md)");
  }
  ColumnMapping m;
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>("");
    if (key == "recode" || key == "not_asked") {
      absl::Status s =
          key == "recode" ? ParseRecodeSection(
                                kv.second,
                                std::vector<std::string>(
                                    kFieldNames.begin() + 1, kFieldNames.end()),
                                m.recode)
                          : ParseNotAskedSection(kv.second, m.recode);
      if (!s.ok()) return s;
      continue;
    }
    if (key != "columns" && key != "constants") {
      return absl::InvalidArgumentError(StrCat(
          "mapping file: unknown key ", Quote(key),
          "; allowed are `columns`, `constants`, `recode` and `not_asked`"));
    }
    if (!kv.second.IsMap()) {
      return absl::InvalidArgumentError(
          StrCat("mapping file: `", key, "` must be a map"));
    }
    for (const auto& e : kv.second) {
      if (!e.first.IsScalar() || !e.second.IsScalar()) {
        return absl::InvalidArgumentError(StrCat(
            "mapping file: every entry under `", key, "` must be `a: b`"));
      }
      std::string a = e.first.as<std::string>();
      std::string b = e.second.as<std::string>();
      if (key == "columns") {
        m.columns[a] = b;
      } else {
        if (a == "pupil_number") {
          return absl::InvalidArgumentError(
              "mapping file: pupil_number cannot be a constant; every row "
              "needs its own pupil number");
        }
        if (!FieldByName(a).has_value()) {
          return absl::InvalidArgumentError(StrCat(
              "mapping file: constant for unknown field ", Quote(a),
              "; fields are pupil_number, wave, survey_month, sector, track, "
              "grade, gender, age, migration_background, financial_strain"));
        }
        m.constants[a] = b;
      }
    }
  }
  return m;
}

namespace {

// Where each record field and item is read from, decided from the headers.
struct ColumnMap {
  std::array<std::optional<size_t>, kNumFields> field_col;
  std::vector<std::optional<size_t>> item_col;  // one per instrument item
  std::optional<size_t> timestamp_col;          // for the month and wave
  bool timestamp_month_first = false;
  // Columns that hold neither a field nor an item, nor are dropped, as a
  // hint when an item has no column: "Q5_1" ("question text").
  std::vector<std::string> unrecognised;
};

// Values given for the whole file (--wave, mapping constants), by Field.
using FileConstants = std::array<std::optional<std::string>, kNumFields>;

// Everything the rows are read with: columns, constants, and whether the
// month and wave come from the timestamp column.
struct ExportLayout {
  ColumnMap columns;
  FileConstants constant;
  bool month_from_timestamp = false;
  bool wave_from_timestamp = false;
  // LimeSurvey's gender question codes M (male) and F (female): M is read
  // as jongen when the column holds no Dutch J or V codes.
  bool gender_m_is_male = false;
};

// An .xlsx export: the rows of its first worksheet, numbered as the sheet
// numbers them; the worksheet's name in `out`.
absl::StatusOr<std::vector<CsvRow>> ReadWorkbookRows(std::string_view bytes,
                                                     ParsedExport& out) {
  auto sheet = ReadFirstWorksheet(bytes);
  if (!sheet.ok()) return sheet.status();
  out.worksheet = sheet->name;
  out.worksheets = sheet->sheet_names;
  std::vector<CsvRow> rows;
  rows.reserve(sheet->rows.size());
  for (XlsxRow& r : sheet->rows) {
    if (rows.empty() && AllEmpty(r.cells)) continue;
    rows.push_back({r.number, std::move(r.cells)});
  }
  if (rows.empty()) {
    return absl::InvalidArgumentError(
        StrCat("the first worksheet (", Quote(out.worksheet),
               ") is empty: no header row; put the export on the first "
               "worksheet"));
  }
  return rows;
}

// Reads the CSV rows of `bytes` and records its BOM, line ends and
// delimiter in `out` (or the rows of an .xlsx workbook's first worksheet);
// leading blank rows are dropped. At least one row.
absl::StatusOr<std::vector<CsvRow>> ReadExportRows(std::string_view bytes,
                                                   const ImportOptions& options,
                                                   ParsedExport& out) {
  if (LooksLikeZip(bytes)) return ReadWorkbookRows(bytes, out);
  std::string_view text = bytes;
  if (text.substr(0, kBom.size()) == kBom) {
    out.had_bom = true;
    text.remove_prefix(kBom.size());
  }
  if (size_t lf = text.find('\n'); lf != std::string_view::npos) {
    out.crlf = lf > 0 && text[lf - 1] == '\r';
  }
  if (text.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        "the file contains NUL bytes: it is neither a CSV text export nor an "
        ".xlsx workbook (an old Excel .xls file? save it as .xlsx or CSV)");
  }
  out.delimiter = DetectDelimiter(text);
  auto csv = ReadCsv(text, out.delimiter, options.progress,
                     bytes.size() - text.size(), bytes.size());
  if (!csv.ok()) return csv.status();
  std::vector<CsvRow>& rows = *csv;
  while (!rows.empty() && AllEmpty(rows.front().cells))
    rows.erase(rows.begin());
  if (rows.empty()) {
    return absl::InvalidArgumentError("the file is empty: no header row");
  }
  return csv;
}

// Sets `out.format` and returns the index of the first data row.
absl::StatusOr<size_t> DecideFormat(const std::vector<CsvRow>& rows,
                                    const ImportOptions& options,
                                    ParsedExport& out) {
  out.format =
      options.format == ExportFormat::kAuto ? Detect(rows) : options.format;
  if (out.format != ExportFormat::kQualtrics) return 1;
  if (!LooksLikeQualtrics(rows)) {
    return absl::InvalidArgumentError(
        "not a Qualtrics export: the third row holds no ImportIds; export "
        "the CSV with all three header rows, or use --format auto");
  }
  return 3;
}

// What one column holds according to the mapping file, or else to its
// header (or, for Qualtrics, its question text in the second header row).
struct ColumnTarget {
  bool drop = false;
  std::optional<Field> field;
  std::optional<size_t> item;
};

absl::StatusOr<ColumnTarget> TargetOf(
    const std::vector<CsvRow>& rows, size_t c,
    const std::unordered_map<std::string, size_t>& item_keys,
    const Instrument& instrument, const ImportOptions& options,
    ExportFormat format) {
  const std::string& h = rows[0].cells[c];
  ColumnTarget t;
  if (options.mapping.has_value()) {
    if (auto it = options.mapping->columns.find(h);
        it != options.mapping->columns.end()) {
      if (it->second == "drop") {
        t.drop = true;
      } else if ((t.field = FieldByName(it->second))) {
      } else if ((t.item = instrument.ItemIndex(it->second))) {
      } else {
        return absl::InvalidArgumentError(StrCat(
            "mapping file: column ", Quote(h), " maps to ", Quote(it->second),
            ", which is neither a record field nor an item of instrument ",
            instrument.id()));
      }
    }
  }
  if (!t.drop && !t.field && !t.item) {
    t.item = ItemForHeader(item_keys, h);
    // Qualtrics: the second header row holds the question texts, for a
    // matrix question "Stem - Statement".
    if (!t.item && format == ExportFormat::kQualtrics &&
        c < rows[1].cells.size()) {
      t.item = QualtricsItem(item_keys, rows[1].cells[c]);
    }
    if (!t.item) t.field = FieldForHeader(h);
  }
  return t;
}

// Records column `c` as the column of `t`'s field or item; an error when
// another column holds it already.
absl::Status Claim(const std::vector<std::string>& headers, size_t c,
                   const ColumnTarget& t, const Instrument& instrument,
                   ColumnMap& m) {
  const std::string& h = headers[c];
  if (t.field) {
    std::optional<size_t>& col = m.field_col[static_cast<size_t>(*t.field)];
    if (col.has_value()) {
      return absl::InvalidArgumentError(StrCat(
          "two columns hold the ", kFieldNames[static_cast<size_t>(*t.field)],
          ": ", Quote(headers[*col]), " and ", Quote(h),
          "; drop one of them with a mapping file"));
    }
    col = c;
    return absl::OkStatus();
  }
  std::optional<size_t>& col = m.item_col[*t.item];
  if (col.has_value()) {
    return absl::InvalidArgumentError(
        StrCat("two columns hold item ", instrument.items()[*t.item].id, ": ",
               Quote(headers[*col]), " and ", Quote(h)));
  }
  col = c;
  return absl::OkStatus();
}

// Every header the mapping file names must be in the file.
absl::Status CheckMappingHeaders(const ImportOptions& options,
                                 const std::set<std::string>& seen_headers) {
  if (!options.mapping.has_value()) return absl::OkStatus();
  for (const auto& [header, target] : options.mapping->columns) {
    if (seen_headers.count(header) == 0) {
      return absl::InvalidArgumentError(
          StrCat("mapping file: the file has no column ", Quote(header),
                 " (mapped to ", Quote(target),
                 "); headers must match exactly, including case and spaces"));
    }
  }
  return absl::OkStatus();
}

// Column `c` as a hint names it: its header, and for Qualtrics its
// question text (of a matrix question, the statement).
std::string UnrecognisedHint(const std::vector<CsvRow>& rows, size_t c,
                             ExportFormat format) {
  std::string hint = Quote(rows[0].cells[c]);
  if (format != ExportFormat::kQualtrics || c >= rows[1].cells.size() ||
      IsBlank(rows[1].cells[c])) {
    return hint;
  }
  const std::string& text = rows[1].cells[c];
  if (const size_t dash = text.rfind(" - "); dash != std::string::npos) {
    return StrCat(hint, " (statement ", Quote(text.substr(dash + 3)), ")");
  }
  return StrCat(hint, " (", Quote(text), ")");
}

// Decides what every column holds. Columns that are not read are listed
// in `out` as dropped (identifying) or ignored.
absl::StatusOr<ColumnMap> MapColumns(const std::vector<CsvRow>& rows,
                                     const Instrument& instrument,
                                     const ImportOptions& options,
                                     ParsedExport& out) {
  const std::vector<std::string>& headers = rows[0].cells;
  const auto item_keys = ItemKeys(instrument);
  ColumnMap m;
  m.item_col.resize(instrument.items().size());
  size_t timestamp_rank = std::size(kTimestampKeys);
  std::set<std::string> seen_headers;
  for (size_t c = 0; c < headers.size(); ++c) {
    const std::string& h = headers[c];
    if (!seen_headers.insert(h).second && !NormalizeLabel(h).empty()) {
      return absl::InvalidArgumentError(
          StrCat("the header ", Quote(h),
                 " occurs twice; give every column its own name"));
    }
    auto t = TargetOf(rows, c, item_keys, instrument, options, out.format);
    if (!t.ok()) return t.status();
    if (t->field && IsSpecial(*t->field) && !options.special_categories) {
      out.ignored.push_back(
          StrCat(h, " (special-category data; not enabled on this node)"));
      continue;
    }
    if (t->field || t->item) {
      if (auto s = Claim(headers, c, *t, instrument, m); !s.ok()) return s;
      continue;
    }
    if (!t->drop) {
      if (auto rank = TimestampRank(h); rank && *rank < timestamp_rank) {
        timestamp_rank = *rank;
        m.timestamp_col = c;
        const std::string k = Key(h);
        m.timestamp_month_first = k == "completiontime" || k == "starttime";
      }
    }
    if (t->drop || IsIdentifying(h)) {
      out.dropped_identifying.push_back(h);
    } else if (!NormalizeLabel(h).empty()) {
      out.ignored.push_back(h);
      m.unrecognised.push_back(UnrecognisedHint(rows, c, out.format));
    }
  }
  if (auto s = CheckMappingHeaders(options, seen_headers); !s.ok()) return s;
  return m;
}

// " Columns not recognised: ..." for an error about missing items; empty
// when every column was recognised.
std::string UnrecognisedColumns(const ColumnMap& m) {
  if (m.unrecognised.empty()) return "";
  constexpr size_t kShown = 8;
  std::string list;
  for (size_t i = 0; i < m.unrecognised.size() && i < kShown; ++i) {
    list += (list.empty() ? "" : ", ") + m.unrecognised[i];
  }
  if (m.unrecognised.size() > kShown) {
    list += StrCat(" and ", m.unrecognised.size() - kShown, " more");
  }
  return StrCat(
      ". Columns not recognised: ", list,
      " (an item's header must be its id or its exact question text; a "
      "Qualtrics matrix statement is read after \" - \")");
}

// Items of `component` that have a column.
size_t AskedIn(const ColumnMap& m, const Instrument& instrument,
               survey::Component component) {
  size_t asked = 0;
  for (size_t i = 0; i < m.item_col.size(); ++i) {
    asked += instrument.items()[i].component == component && m.item_col[i];
  }
  return asked;
}

// The pupil number must have a column, and so must every item the
// questionnaire asked. Items without a column are not asked when their
// whole component is absent or the mapping file lists them under
// `not_asked`; any other missing item is an error (most likely a header
// that does not match), as is a file without any item.
absl::Status CheckRequiredColumns(const ColumnMap& m,
                                  const Instrument& instrument,
                                  const ImportOptions& options) {
  if (!m.field_col[static_cast<size_t>(Field::kPupilNumber)]) {
    return absl::InvalidArgumentError(
        "no column holds the pupil number (looked for headers such as "
        "pupil_number, leerlingnummer, \"Wat is je leerlingnummer?\"); name "
        "the column in a mapping file (docs/import.md)");
  }
  std::set<std::string> listed;
  if (options.mapping) {
    listed.insert(options.mapping->recode.not_asked.begin(),
                  options.mapping->recode.not_asked.end());
  }
  std::vector<std::string> missing_items;
  size_t asked = 0;
  for (size_t i = 0; i < m.item_col.size(); ++i) {
    const survey::Item& item = instrument.items()[i];
    if (m.item_col[i]) {
      ++asked;
      if (listed.contains(item.id)) {
        return absl::InvalidArgumentError(
            StrCat("mapping file: item ", item.id,
                   " is listed under not_asked, but the file has a column "
                   "for it; remove it from not_asked"));
      }
    } else if (!listed.contains(item.id) &&
               AskedIn(m, instrument, item.component) > 0) {
      missing_items.push_back(item.id);
    }
  }
  if (asked > 0 && missing_items.empty()) return absl::OkStatus();
  if (asked == 0) {
    missing_items.clear();
    for (const survey::Item& item : instrument.items()) {
      missing_items.push_back(item.id);
    }
  }
  std::string list;
  for (const auto& id : missing_items) list += (list.empty() ? "" : ", ") + id;
  return absl::InvalidArgumentError(StrCat(
      "no column found for ", missing_items.size(), " item(s) of instrument ",
      instrument.id(), ": ", list,
      ". Headers must be the item id, the LimeSurvey code ending in "
      "[item id], or the item's exact question text; otherwise map them in "
      "a mapping file (docs/import.md). A component that was not asked at "
      "all may be left out; single items that were not asked are listed "
      "under not_asked: in a mapping file",
      UnrecognisedColumns(m)));
}

absl::StatusOr<uint32_t> WaveFirstYear(const std::string& raw);
absl::StatusOr<uint32_t> ParseGrade(std::string_view s);

// Whether `value` is valid for field `f`, checked once for the whole file.
absl::Status ValidateConstant(Field f, const std::string& value) {
  switch (f) {
    case Field::kWave:
      return ValidateWave(value);
    case Field::kSurveyMonth:
      return ParseSurveyMonth(value).status();
    case Field::kSector:
      return ParseSector(value).status();
    case Field::kTrack:
      return ParseTrack(value).status();
    case Field::kGender:
      return ParseGender(value).status();
    case Field::kAge:
      return ParseAgeBand(value).status();
    default:
      return absl::OkStatus();
  }
}

// Whether `value` is accepted for the field named `name` (a recode target).
absl::Status CheckFieldValue(std::string_view name, std::string_view value) {
  std::optional<Field> f = FieldByName(name);
  if (!f) return absl::InvalidArgumentError("unknown field");
  const std::string v(value);
  switch (*f) {
    case Field::kGrade:
      return ParseGrade(v).status();
    case Field::kMigration:
      return ParseMigrationBackground(v).status();
    case Field::kStrain:
      return ParseFinancialStrain(v).status();
    case Field::kWave:
      return WaveFirstYear(v).status();
    default:
      return ValidateConstant(*f, v);
  }
}

// The values given for the whole file: options.defaults first, then the
// mapping file's constants; each one validated.
absl::StatusOr<FileConstants> ReadConstants(const ImportOptions& options) {
  FileConstants constant;
  for (size_t f = 0; f < kNumFields; ++f) {
    const std::string name(kFieldNames[f]);
    if (auto it = options.defaults.find(name); it != options.defaults.end()) {
      constant[f] = it->second;
    } else if (options.mapping.has_value()) {
      if (auto m = options.mapping->constants.find(name);
          m != options.mapping->constants.end()) {
        constant[f] = m->second;
      }
    }
  }
  for (size_t f = 0; f < kNumFields; ++f) {
    if (!constant[f]) continue;
    if (absl::Status s = ValidateConstant(static_cast<Field>(f), *constant[f]);
        !s.ok()) {
      return absl::InvalidArgumentError(
          StrCat("the value given for every row's ", kFieldNames[f],
                 " is not valid: ", ToStd(s.message())));
    }
  }
  return constant;
}

// Combines columns and constants; every field but the special categories
// needs a column, a constant, or (wave and month) a timestamp column.
absl::StatusOr<ExportLayout> LayoutOf(ColumnMap columns,
                                      FileConstants constant) {
  ExportLayout l{std::move(columns), std::move(constant)};
  auto available = [&](Field f) {
    const size_t i = static_cast<size_t>(f);
    return l.columns.field_col[i].has_value() || l.constant[i].has_value();
  };
  const bool has_stamp = l.columns.timestamp_col.has_value();
  l.month_from_timestamp = !available(Field::kSurveyMonth) && has_stamp;
  l.wave_from_timestamp = !available(Field::kWave) && has_stamp;
  std::vector<std::string> missing_fields;
  for (Field f : {Field::kWave, Field::kSurveyMonth, Field::kSector,
                  Field::kTrack, Field::kGrade, Field::kGender, Field::kAge}) {
    if (available(f)) continue;
    if (f == Field::kWave && l.wave_from_timestamp) continue;
    if (f == Field::kSurveyMonth && l.month_from_timestamp) continue;
    missing_fields.push_back(std::string(kFieldNames[static_cast<size_t>(f)]));
  }
  if (missing_fields.empty()) return l;
  std::string list;
  for (const auto& m : missing_fields) list += (list.empty() ? "" : ", ") + m;
  return absl::InvalidArgumentError(
      StrCat("the export has no column for: ", list,
             ". Give the value for the whole file (--wave, --month, --sector) "
             "or name the column in a mapping file (docs/import.md)"));
}

// Whether the gender column uses LimeSurvey's gender codes: M and F, and
// no Dutch J or V that would make M mean meisje.
bool GenderCodesAreMF(const std::vector<CsvRow>& rows, size_t first_data,
                      const ColumnMap& columns) {
  const std::optional<size_t> col =
      columns.field_col[static_cast<size_t>(Field::kGender)];
  if (!col) return false;
  bool m = false;
  for (size_t r = first_data; r < rows.size(); ++r) {
    if (*col >= rows[r].cells.size()) continue;
    const std::string v = NormalizeLabel(rows[r].cells[*col]);
    if (v == "j" || v == "v" || v == "jongen" || v == "meisje") return false;
    m = m || v == "m";
  }
  return m;
}

// The wave cell's first year: "2025/26" and "2025-2026" are common
// spellings of "2025-26".
absl::StatusOr<uint32_t> WaveFirstYear(const std::string& raw) {
  std::string w = NormalizeLabel(raw);
  std::replace(w.begin(), w.end(), '/', '-');
  if (w.size() == 9 && w[4] == '-') {
    w = w.substr(0, 5) + w.substr(7);
  }
  if (auto s = ValidateWave(w); !s.ok()) return s;
  return *ParseDecimal(w.substr(0, 4));
}

absl::StatusOr<uint32_t> ParseGrade(std::string_view s) {
  std::string n = NormalizeLabel(s);
  std::optional<uint32_t> g = ParseDecimal(n);
  if (!g || *g < 1 || *g > 8) {
    return absl::InvalidArgumentError(
        StrCat("grade ", Quote(s), " is not a whole number 1..8"));
  }
  return *g;
}

// Turns data rows into records or problems, one row at a time, with the
// parse of each distinct cell value cached across rows.
class RowParser {
 public:
  RowParser(const ExportLayout& layout, const std::vector<std::string>& headers,
            const Instrument& instrument, const ImportOptions& options,
            size_t expected_rows, ParsedExport& out)
      : l_(layout),
        cols_(layout.columns),
        headers_(headers),
        instrument_(instrument),
        special_categories_(options.special_categories),
        out_(out),
        answer_cache_(layout.columns.item_col.size()) {
    first_line_.reserve(expected_rows);
    const Recoding* recode =
        options.mapping ? &options.mapping->recode : nullptr;
    for (size_t f = 0; f < kNumFields; ++f) {
      field_recode_[f] = recode ? recode->ForField(kFieldNames[f]) : nullptr;
    }
    for (size_t i = 0; i < instrument.items().size(); ++i) {
      const ValueRecode* r =
          recode ? recode->ForItem(instrument.items()[i].id) : nullptr;
      item_recode_.push_back(r);
      ItemAnswers a;
      a.item_id = instrument.items()[i].id;
      a.counts.assign(instrument.ResponseScaleOf(i).max_code() + 1, 0);
      a.reversed = r != nullptr && r->reverse;
      a.value_mapped = r != nullptr && !r->values.empty();
      a.not_asked = !layout.columns.item_col[i].has_value();
      out.answers.push_back(std::move(a));
    }
  }

  // Parses one non-blank data row: appends a record to `out.rows`, or its
  // problems to `out.problems`.
  void Parse(const CsvRow& row) {
    row_ = &row;
    const size_t problems_before = out_.problems.size();
    if (row.cells.size() != headers_.size()) {
      Problem("", StrCat("the row has ", row.cells.size(),
                         " cells but the header has ", headers_.size(),
                         "; a cell with the delimiter or a line break in it "
                         "must be quoted"));
      return;
    }
    ImportRow out_row;
    out_row.line = row.line;
    v1::PupilRecord& rec = out_row.record;
    rec.set_instrument_id(instrument_.id());
    const std::string pupil = *Value(Field::kPupilNumber);
    const std::string pupil_key = NormalizePupilNumber(pupil);
    if (pupil_key.empty()) {
      Problem(HeaderOf(Field::kPupilNumber), "the pupil number is missing");
    }
    ParseWaveAndMonth(rec);
    ParseDemographics(rec);
    ParseItems(rec);
    CheckDuplicate(pupil_key, rec);
    if (out_.problems.size() == problems_before) CheckRecord(rec);
    if (out_.problems.size() == problems_before) {
      out_row.pupil_number =
          crypto::SecretBytes::CopyFrom(std::string_view(pupil));
      out_.rows.push_back(std::move(out_row));
    }
  }

 private:
  void Problem(std::string_view column, std::string reason) {
    out_.problems.push_back(
        {row_->line, std::string(column), std::move(reason)});
  }

  // The cell of field `f`, or the value for the whole file when the cell
  // is blank or there is no column; nullptr when there is neither.
  const std::string* Value(Field f) const {
    const size_t i = static_cast<size_t>(f);
    if (cols_.field_col[i]) {
      const std::string& v = row_->cells[*cols_.field_col[i]];
      if (!IsBlank(v) || !l_.constant[i]) return &v;
    }
    return l_.constant[i] ? &*l_.constant[i] : nullptr;
  }

  std::string HeaderOf(Field f) const {
    const size_t i = static_cast<size_t>(f);
    return cols_.field_col[i] ? headers_[*cols_.field_col[i]]
                              : StrCat("(", kFieldNames[i], ")");
  }

  void ParseWaveAndMonth(v1::PupilRecord& rec);
  void ParseDemographics(v1::PupilRecord& rec);
  void ParseItems(v1::PupilRecord& rec);
  void CheckDuplicate(const std::string& pupil_key, const v1::PupilRecord& rec);
  void CheckRecord(v1::PupilRecord& rec);

  // Parses field `f` with `parser` (through the cache) and passes the
  // code to `setter`; a problem when it is missing or not valid.
  template <typename Parser, typename Setter>
  void ParseField(Field f, Parser parser, Setter setter) {
    const std::string* v = Value(f);
    if (!v || IsBlank(*v)) {
      Problem(HeaderOf(f), StrCat("the ", kFieldNames[static_cast<size_t>(f)],
                                  " is missing"));
      return;
    }
    const ValueRecode* recode = field_recode_[static_cast<size_t>(f)];
    const absl::StatusOr<uint32_t>& parsed =
        field_cache_[static_cast<size_t>(f)].Get(
            *v, [&](const std::string& raw) {
              return AsCode(parser)(MappedValue(recode, raw));
            });
    if (!parsed.ok()) {
      Problem(HeaderOf(f), std::string(ToStd(parsed.status().message())));
    } else {
      setter(*parsed);
    }
  }

  const ExportLayout& l_;
  const ColumnMap& cols_;
  const std::vector<std::string>& headers_;
  const Instrument& instrument_;
  const bool special_categories_;
  ParsedExport& out_;
  const CsvRow* row_ = nullptr;  // the row being parsed
  std::array<CellCache, kNumFields> field_cache_;
  std::array<const ValueRecode*, kNumFields> field_recode_{};
  std::vector<const ValueRecode*> item_recode_;  // per item, or nullptr
  std::vector<CellCache> answer_cache_;
  std::unordered_map<std::string, size_t> first_line_;  // wave+pupil -> line
};

void RowParser::ParseWaveAndMonth(v1::PupilRecord& rec) {
  std::optional<DateParts> stamp;
  if (cols_.timestamp_col &&
      (l_.month_from_timestamp || l_.wave_from_timestamp)) {
    stamp = ParseTimestamp(row_->cells[*cols_.timestamp_col],
                           cols_.timestamp_month_first);
    if (!stamp) {
      Problem(headers_[*cols_.timestamp_col],
              "the survey date is not a date this import understands "
              "(e.g. 2026-03-14 or 14-3-2026); give --month and --wave");
    }
  }
  if (l_.wave_from_timestamp) {
    if (stamp) rec.set_wave(WaveOf(*stamp));
  } else {
    // The cache holds the first year.
    const absl::StatusOr<uint32_t>& first_year =
        field_cache_[static_cast<size_t>(Field::kWave)].Get(
            *Value(Field::kWave), [&](const std::string& raw) {
              return WaveFirstYear(MappedValue(
                  field_recode_[static_cast<size_t>(Field::kWave)], raw));
            });
    if (!first_year.ok()) {
      Problem(HeaderOf(Field::kWave),
              std::string(ToStd(first_year.status().message())));
    } else {
      rec.set_wave(WaveOf({*first_year, 8}));
    }
  }
  if (l_.month_from_timestamp) {
    if (stamp) rec.set_survey_month(stamp->month);
  } else if (const absl::StatusOr<uint32_t>& m =
                 field_cache_[static_cast<size_t>(Field::kSurveyMonth)].Get(
                     *Value(Field::kSurveyMonth),
                     [&](const std::string& raw) {
                       return AsCode(ParseSurveyMonth)(
                           MappedValue(field_recode_[static_cast<size_t>(
                                           Field::kSurveyMonth)],
                                       raw));
                     });
             m.ok()) {
    rec.set_survey_month(*m);
  } else {
    Problem(HeaderOf(Field::kSurveyMonth),
            std::string(ToStd(m.status().message())));
  }
}

void RowParser::ParseDemographics(v1::PupilRecord& rec) {
  ParseField(Field::kSector, ParseSector,
             [&](uint32_t v) { rec.set_sector(static_cast<v1::Sector>(v)); });
  ParseField(Field::kTrack, ParseTrack,
             [&](uint32_t v) { rec.set_track(static_cast<v1::Track>(v)); });
  const bool m_is_male = l_.gender_m_is_male;
  ParseField(
      Field::kGender,
      [m_is_male](std::string_view v) -> absl::StatusOr<v1::Gender> {
        if (m_is_male && NormalizeLabel(v) == "m") return v1::GENDER_JONGEN;
        return ParseGender(v);
      },
      [&](uint32_t v) { rec.set_gender(static_cast<v1::Gender>(v)); });
  ParseField(Field::kAge, ParseAgeBand, [&](uint32_t v) {
    rec.set_age_band(static_cast<v1::AgeBand>(v));
  });
  ParseField(Field::kGrade, ParseGrade, [&](uint32_t g) { rec.set_grade(g); });
  if (!special_categories_) return;
  auto present = [&](Field f) {
    const size_t i = static_cast<size_t>(f);
    return cols_.field_col[i].has_value() || l_.constant[i].has_value();
  };
  if (present(Field::kMigration)) {
    ParseField(Field::kMigration, ParseMigrationBackground, [&](uint32_t v) {
      rec.set_migration_background(static_cast<v1::MigrationBackground>(v));
    });
  }
  if (present(Field::kStrain)) {
    ParseField(Field::kStrain, ParseFinancialStrain, [&](uint32_t v) {
      rec.set_financial_strain(static_cast<v1::FinancialStrain>(v));
    });
  }
}

void RowParser::ParseItems(v1::PupilRecord& rec) {
  for (size_t i = 0; i < cols_.item_col.size(); ++i) {
    ItemAnswers& tally = out_.answers[i];
    if (!cols_.item_col[i]) {  // not asked: no column
      rec.add_responses(0);
      rec.add_not_asked(static_cast<uint32_t>(i));
      continue;
    }
    const std::string& cell = row_->cells[*cols_.item_col[i]];
    // Fast path for the common single-digit code.
    if (item_recode_[i] == nullptr && cell.size() == 1 && cell[0] >= '1' &&
        cell[0] <= '9' &&
        instrument_.IsValidCode(i, static_cast<uint32_t>(cell[0] - '0'))) {
      const auto code = static_cast<uint32_t>(cell[0] - '0');
      rec.add_responses(code);
      ++tally.numeric;
      ++tally.counts[code];
      continue;
    }
    const absl::StatusOr<uint32_t>& a =
        answer_cache_[i].Get(cell, [&](const std::string& raw) {
          return ReadAnswer(instrument_, i, item_recode_[i], raw);
        });
    const ResponseScale& scale = instrument_.ResponseScaleOf(i);
    const std::string& header = headers_[*cols_.item_col[i]];
    if (a.status().code() == absl::StatusCode::kOutOfRange) {
      Problem(header, StrCat("answer ", Quote(cell), " is out of range: item ",
                             instrument_.items()[i].id, " takes codes ",
                             scale.min_code(), "..", scale.max_code()));
    } else if (!a.ok()) {
      std::string labels;
      for (const auto& o : scale.options) {
        labels += StrCat(labels.empty() ? "" : ", ", "\"", o.label_nl, "\"");
      }
      Problem(header,
              StrCat("unknown answer label ", Quote(cell), " for item ",
                     instrument_.items()[i].id, "; expected one of: ", labels,
                     " or a code ", scale.min_code(), "..", scale.max_code()));
    }
    const uint32_t code = a.ok() ? (*a & ~kNumericAnswer) : 0;
    if (code != 0)
      ++((*a & kNumericAnswer) != 0 ? tally.numeric : tally.labelled);
    if (code < tally.counts.size()) ++tally.counts[code];
    rec.add_responses(code);
  }
}

void RowParser::CheckDuplicate(const std::string& pupil_key,
                               const v1::PupilRecord& rec) {
  if (pupil_key.empty() || rec.wave().empty()) return;
  std::string k = StrCat(rec.wave(), std::string_view("\0", 1), pupil_key);
  if (auto [it, fresh] = first_line_.emplace(k, row_->line); !fresh) {
    Problem(HeaderOf(Field::kPupilNumber),
            StrCat("duplicate pupil in wave ", rec.wave(),
                   ": the same pupil number is on line ", it->second));
  }
}

// Whole-record checks (track fits sector, grade in vo, ...). The pseudonym
// is derived later by the store; a placeholder of the right length stands
// in for the check.
void RowParser::CheckRecord(v1::PupilRecord& rec) {
  rec.set_pseudonym(std::string(32, '\0'));
  if (auto s = ValidateRecord(rec, instrument_, special_categories_); !s.ok()) {
    Problem("", std::string(ToStd(s.message())));
  }
  rec.clear_pseudonym();
}

}  // namespace

absl::StatusOr<ParsedExport> ParseExport(std::string_view bytes,
                                         const Instrument& instrument,
                                         const ImportOptions& options) {
  ParsedExport out;
  auto rows = ReadExportRows(bytes, options, out);
  if (!rows.ok()) return rows.status();
  auto first_data = DecideFormat(*rows, options, out);
  if (!first_data.ok()) return first_data.status();
  if (options.mapping.has_value()) {
    if (auto s =
            CheckRecoding(options.mapping->recode, instrument, CheckFieldValue);
        !s.ok()) {
      return s;
    }
  }
  auto columns = MapColumns(*rows, instrument, options, out);
  if (!columns.ok()) return columns.status();
  if (auto s = CheckRequiredColumns(*columns, instrument, options); !s.ok()) {
    return s;
  }
  auto constant = ReadConstants(options);
  if (!constant.ok()) return constant.status();
  auto layout = LayoutOf(*std::move(columns), *std::move(constant));
  if (!layout.ok()) return layout.status();
  layout->gender_m_is_male =
      out.format == ExportFormat::kLimeSurvey &&
      GenderCodesAreMF(*rows, *first_data, layout->columns);

  RowParser parser(*layout, (*rows)[0].cells, instrument, options, rows->size(),
                   out);
  for (size_t r = *first_data; r < rows->size(); ++r) {
    const CsvRow& row = (*rows)[r];
    if (AllEmpty(row.cells)) continue;
    ++out.data_rows;
    parser.Parse(row);
  }
  if (out.data_rows == 0) {
    return absl::InvalidArgumentError("the file has a header but no data rows");
  }
  if (!out.problems.empty()) out.rows.clear();
  return out;
}

}  // namespace kring::node
