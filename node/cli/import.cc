// `kring-node import` and `synth`: reading a survey export into the store,
// and writing a synthetic one for demos and tests.

#include "node/import.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "cli/support.h"
#include "nlohmann/json.hpp"
#include "node/cli/commands.h"
#include "node/import_report.h"
#include "node/importer.h"
#include "node/problem_report.h"
#include "node/synth.h"
#include "survey/record.h"
#include "util/file.h"
#include "util/str_cat.h"

namespace kring::node {
namespace {

using cli::kExitFailed;
using cli::kExitOk;
using cli::OneLine;

// A progress bar on a terminal; silent otherwise.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled && isatty(2)) {}
  void Update(std::string_view what, size_t done, size_t total) {
    if (!enabled_ || total == 0) return;
    int pct = static_cast<int>(100.0 * static_cast<double>(done) /
                               static_cast<double>(total));
    if (pct == last_) return;
    last_ = pct;
    int bar = pct / 4;
    std::cerr << "\r" << what << " [" << std::string(bar, '#')
              << std::string(25 - bar, ' ') << "] " << pct << "%" << std::flush;
  }
  void Done() {
    if (enabled_ && last_ >= 0)
      std::cerr << "\r" << std::string(60, ' ') << "\r" << std::flush;
  }

 private:
  bool enabled_;
  int last_ = -1;
};

double Ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

ExportFormat ParseFormat(const std::string& f) {
  if (f == "kring") return ExportFormat::kKring;
  if (f == "limesurvey") return ExportFormat::kLimeSurvey;
  if (f == "msforms") return ExportFormat::kMicrosoftForms;
  if (f == "qualtrics") return ExportFormat::kQualtrics;
  return ExportFormat::kAuto;
}

// "a, b", or "none"; safe for a terminal (column names come from the file).
std::string List(const std::vector<std::string>& v) {
  return v.empty() ? std::string("none") : OneLine(absl::StrJoin(v, ", "));
}

// The most `kring-node import` reads: a school's export is a few MB.
constexpr size_t kMaxExportBytes = size_t{256} << 20;

struct ImportFlags {
  std::string file;
  std::string format = "auto";
  std::string mapping;
  std::string wave, month, sector;
  bool replace = false;
  bool json = false;
  bool dry_run = false;
};

absl::StatusOr<ImportOptions> ImportOptionsFor(const ImportFlags& f) {
  ImportOptions options;
  options.format = ParseFormat(f.format);
  if (!f.mapping.empty()) {
    auto text = ReadFileToString(f.mapping);
    if (!text.ok()) return text.status();
    auto mapping = ColumnMapping::Parse(*text);
    if (!mapping.ok()) return mapping.status();
    options.mapping = *std::move(mapping);
  }
  if (!f.wave.empty()) options.defaults["wave"] = f.wave;
  if (!f.month.empty()) options.defaults["survey_month"] = f.month;
  if (!f.sector.empty()) options.defaults["sector"] = f.sector;
  return options;
}

// The summary of --json, up to what was imported.
nlohmann::json ParsedJson(const ImportFlags& f, const ParsedExport& parsed) {
  nlohmann::json summary;
  summary["file"] = f.file;
  summary["format"] = std::string(FormatName(parsed.format));
  summary["delimiter"] = std::string(1, parsed.delimiter);
  summary["utf8_bom"] = parsed.had_bom;
  summary["crlf"] = parsed.crlf;
  summary["data_rows"] = parsed.data_rows;
  summary["dropped_identifying_columns"] = parsed.dropped_identifying;
  summary["ignored_columns"] = parsed.ignored;
  if (!parsed.worksheet.empty()) {
    summary["worksheet"] = parsed.worksheet;
    summary["worksheets"] = parsed.worksheets;
  }
  return summary;
}

// Which worksheet of a workbook was read; empty for CSV.
std::string WorksheetNote(const ParsedExport& parsed) {
  if (parsed.worksheet.empty()) return "";
  std::string note =
      StrCat("Read worksheet \"", OneLine(parsed.worksheet), "\"");
  if (parsed.worksheets.size() > 1) {
    note += StrCat(", the first of ", parsed.worksheets.size(), " (",
                   List(parsed.worksheets),
                   "); to import another, move it to the front or export it "
                   "as CSV");
  }
  return note + ".\n";
}

// The problems of one import on a screen: at most this many lines in all.
constexpr size_t kScreenLines = 20;

// Reports the rows that kept the export out; returns the exit code.
int ReportProblems(const ImportFlags& f, const ParsedExport& parsed,
                   nlohmann::json summary) {
  nlohmann::json problems = nlohmann::json::array();
  for (const auto& p : parsed.problems) {
    problems.push_back(
        {{"line", p.line}, {"column", p.column}, {"reason", p.reason}});
  }
  nlohmann::json groups = nlohmann::json::array();
  for (const ProblemGroup& g : GroupProblems(parsed.problems)) {
    groups.push_back({{"column", g.column},
                      {"reason", g.reason},
                      {"values", g.values},
                      {"rows", g.lines.size()},
                      {"lines", g.lines}});
  }
  summary["imported"] = 0;
  summary["problems"] = problems;
  summary["problem_groups"] = groups;
  if (f.json) {
    std::cout << summary.dump(2, ' ', false,
                              nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    const std::string note = WorksheetNote(parsed);
    std::cerr << note << "kring-node: " << parsed.problems.size()
              << " problem(s) in " << f.file << "; nothing was imported:\n";
    const size_t header_lines = note.empty() ? 1 : 2;
    for (const std::string& line :
         ProblemLines(parsed.problems, kScreenLines - header_lines,
                      parsed.worksheet.empty() ? "line" : "row")) {
      std::cerr << "  " << OneLine(line) << "\n";
    }
  }
  return kExitFailed;
}

// Writes the import to the audit log; returns the exit code.
int AuditImport(AuditLog& audit, const ImportFlags& f,
                const ParsedExport& parsed, const ImportResult& added) {
  const std::string name = std::filesystem::path(f.file).filename();
  const std::string format(FormatName(parsed.format));
  std::string line = StrCat("Imported ", Records(added.added), " from ", name,
                            " (", format, ")");
  if (added.replaced > 0) {
    line += StrCat(", replacing ", Records(added.replaced),
                   " of its earlier import");
  }
  if (added.skipped_erased > 0) {
    line += StrCat(", leaving out ", Records(added.skipped_erased),
                   " of pupils erased earlier");
  }
  line += "; dropped columns: " + List(parsed.dropped_identifying);
  return Audited(audit, "import", line,
                 {{"file", name},
                  {"format", format},
                  {"records", std::to_string(added.added)},
                  {"replaced", std::to_string(added.replaced)},
                  {"left_out_erased", std::to_string(added.skipped_erased)},
                  {"dropped_columns", List(parsed.dropped_identifying)},
                  {"unused_columns", List(parsed.ignored)}});
}

void PrintAnswers(const ParsedExport& parsed,
                  const survey::Instrument& instrument, bool always) {
  for (const std::string& line : AnswerReport(parsed, instrument, always)) {
    std::cout << OneLine(line) << "\n";
  }
}

void PrintImported(const ImportFlags& f, const ParsedExport& parsed,
                   const ImportResult& added) {
  std::cout << "Imported " << added.added << " records from " << f.file << " ("
            << FormatName(parsed.format) << " export)";
  if (added.replaced > 0) {
    std::cout << ", replacing " << added.replaced
              << " records of the earlier import";
  }
  std::cout << ".\n" << WorksheetNote(parsed);
  if (added.skipped_erased > 0) {
    std::cout << "Left out " << added.skipped_erased
              << " records of pupils erased earlier; they stay "
                 "erased (`kring-node readmit` lifts an erasure).\n";
  }
  std::cout << "Dropped, never stored (they identify people): "
            << List(parsed.dropped_identifying) << "\n";
  std::cout << "Not used: " << List(parsed.ignored) << "\n";
}

// The error of an import that stored nothing; returns the exit code.
int ImportFailed(const ImportFlags& f, const absl::Status& s) {
  if (!f.json) return Fail(s);
  nlohmann::json err = {{"file", f.file},
                        {"imported", 0},
                        {"error", std::string(ToStd(s.message()))}};
  std::cout << err.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
            << "\n";
  return kExitFailed;
}

// --dry-run: reads and checks the export as an import would, prints what
// it would store, and stores nothing; returns the exit code.
int DryRun(const ImportFlags& f, std::string_view bytes,
           const survey::Instrument& instrument, ImportOptions options,
           const Store& store) {
  options.special_categories = store.options().special_categories;
  auto parsed = ParseExport(bytes, instrument, options);
  if (!parsed.ok()) return ImportFailed(f, parsed.status());
  nlohmann::json summary = ParsedJson(f, *parsed);
  summary["answers"] = AnswerReportJson(*parsed, instrument);
  summary["dry_run"] = true;
  if (!parsed->problems.empty()) {
    if (!f.json) PrintAnswers(*parsed, instrument, /*always=*/true);
    return ReportProblems(f, *parsed, std::move(summary));
  }
  summary["would_import"] = parsed->rows.size();
  if (f.json) {
    std::cout << summary.dump(2, ' ', false,
                              nlohmann::json::error_handler_t::replace)
              << "\n";
    return kExitOk;
  }
  std::cout << "Dry run: " << parsed->rows.size() << " records from " << f.file
            << " (" << FormatName(parsed->format)
            << " export) would be imported; nothing was stored.\n";
  std::cout << "Dropped, never stored (they identify people): "
            << List(parsed->dropped_identifying) << "\n";
  std::cout << "Not used: " << List(parsed->ignored) << "\n";
  PrintAnswers(*parsed, instrument, /*always=*/true);
  return kExitOk;
}

int RunImport(const Common& c, const ImportFlags& f) {
  auto instrument = LoadInstrument(c);
  if (!instrument.ok()) return Fail(instrument.status());
  auto bytes = ReadFileToString(f.file, kMaxExportBytes);
  if (!bytes.ok()) return Fail(bytes.status());
  auto key = KeyFor(c, /*confirm=*/false);
  if (!key.ok()) return Fail(key.status());
  auto t_unlock = std::chrono::steady_clock::now();
  auto store = Store::Open(c.data_dir, *key);
  if (!store.ok()) return Fail(store.status());
  const double unlock_ms = Ms(t_unlock);
  auto audit = OpenAudit(c, *store, /*new_store=*/false);
  if (!audit.ok()) return Fail(audit.status());

  auto t_import = std::chrono::steady_clock::now();
  auto options = ImportOptionsFor(f);
  if (!options.ok()) return Fail(options.status());
  if (f.dry_run) return DryRun(f, *bytes, *instrument, *options, *store);
  Progress progress(!f.json);
  options->progress = [&](size_t done, size_t total) {
    progress.Update("Reading", done, total);
  };
  auto outcome =
      ImportExport(*store, *bytes, *instrument, *std::move(options), f.replace);
  progress.Done();
  if (!outcome.ok()) return ImportFailed(f, outcome.status());
  const ParsedExport& parsed = outcome->parsed;
  nlohmann::json summary = ParsedJson(f, parsed);
  if (!parsed.problems.empty()) {
    return ReportProblems(f, parsed, std::move(summary));
  }
  const ImportResult& added = outcome->result;
  if (int rc = AuditImport(*audit, f, parsed, added); rc != kExitOk) return rc;
  summary["answers"] = AnswerReportJson(parsed, *instrument);
  summary["imported"] = added.added;
  summary["replaced"] = added.replaced;
  summary["left_out_erased"] = added.skipped_erased;
  summary["unlock_ms"] = unlock_ms;
  summary["import_ms"] = Ms(t_import);
  if (f.json) {
    std::cout << summary.dump(2, ' ', false,
                              nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    PrintImported(f, parsed, added);
    PrintAnswers(parsed, *instrument, /*always=*/false);
  }
  return kExitOk;
}

struct SynthFlags {
  std::string out;
  std::string format = "kring";
  size_t rows = 500;
  uint64_t seed = 1;
  std::string wave = "2025-26";
  uint32_t month = 3;
  std::string delimiter = "comma";
  bool bom = false, crlf = false, special = false;
};

int RunSynth(const Common& c, const SynthFlags& f) {
  auto instrument = LoadInstrument(c);
  if (!instrument.ok()) return Fail(instrument.status());
  if (auto s = survey::ValidateWave(f.wave); !s.ok()) return Fail(s);
  SynthOptions o;
  o.format = ParseFormat(f.format);
  if (o.format == ExportFormat::kAuto) o.format = ExportFormat::kKring;
  o.rows = f.rows;
  o.seed = f.seed;
  o.wave = f.wave;
  o.survey_month = f.month;
  o.delimiter = f.delimiter == "semicolon" ? ';'
                : f.delimiter == "tab"     ? '\t'
                                           : ',';
  o.bom = f.bom;
  o.crlf = f.crlf;
  o.special_categories = f.special;
  std::string csv = SynthesizeExport(*instrument, o);
  if (f.out == "-") {
    std::cout << csv;
    return kExitOk;
  }
  std::ofstream out(f.out, std::ios::binary);
  out << csv;
  if (!out) return Fail(absl::InternalError(StrCat("cannot write ", f.out)));
  std::cerr << "Wrote " << f.rows << " synthetic " << FormatName(o.format)
            << " rows to " << f.out << "\n";
  return kExitOk;
}

}  // namespace

void AddImportCommand(CLI::App& app, cli::Command& chosen) {
  auto f = std::make_shared<ImportFlags>();
  auto* import = app.add_subcommand(
      "import",
      "Import a survey export (CSV or .xlsx from LimeSurvey, Microsoft "
      "Forms, Qualtrics or the kring template). Columns that identify pupils "
      "are "
      "dropped; a file with any invalid row imports nothing.");
  auto c =
      AddCommonOptions(*import, /*with_key=*/true, /*with_instrument=*/true);
  import->add_option("file", f->file, "The export (CSV or .xlsx)")->required();
  import->add_option("--format", f->format, "Export layout")
      ->check(CLI::IsMember(
          {"auto", "kring", "limesurvey", "msforms", "qualtrics"}));
  import->add_option("--mapping", f->mapping,
                     "Mapping file for other layouts (docs/import.md)");
  import->add_option("--wave", f->wave,
                     "School year when the export has no wave column, "
                     "e.g. 2025-26");
  import->add_option("--month", f->month,
                     "Survey month when the export has none (1-12 or a "
                     "month name)");
  import->add_option("--sector", f->sector,
                     "Sector when the export has none (po, vo, mbo, so, vso)");
  import->add_flag("--replace", f->replace,
                   "Replace the records of an earlier import of this file");
  import->add_flag("--json", f->json, "Machine-readable summary");
  import->add_flag("--dry-run", f->dry_run,
                   "Read and check the export and show what would be "
                   "imported (columns, coding, answers per item); store "
                   "nothing");
  import->callback(
      [c, f, &chosen] { chosen = [c, f] { return RunImport(*c, *f);
};
}  // namespace kring::node
);
}

void AddSynthCommand(CLI::App& app, cli::Command& chosen) {
  auto f = std::make_shared<SynthFlags>();
  auto* synth = app.add_subcommand(
      "synth",
      "Write a realistic synthetic export for demos and tests (no "
      "real pupils).");
  auto c =
      AddCommonOptions(*synth, /*with_key=*/false, /*with_instrument=*/true);
  synth->add_option("--out", f->out, "Output file, or - for stdout")
      ->required();
  synth->add_option("--format", f->format, "Export layout")
      ->check(CLI::IsMember({"kring", "limesurvey", "msforms", "qualtrics"}));
  synth->add_option("--rows", f->rows, "Number of pupils")
      ->check(CLI::Range(size_t{1}, size_t{10000000}));
  synth->add_option("--seed", f->seed, "Seed (same seed, same file)");
  synth->add_option("--wave", f->wave, "School year, e.g. 2025-26");
  synth->add_option("--month", f->month, "Survey month (1-12)")
      ->check(CLI::Range(1u, 12u));
  synth->add_option("--delimiter", f->delimiter, "comma, semicolon or tab")
      ->check(CLI::IsMember({"comma", "semicolon", "tab"}));
  synth->add_flag("--bom", f->bom, "Start with a UTF-8 byte order mark");
  synth->add_flag("--crlf", f->crlf, "Windows line endings");
  synth->add_flag("--special-categories", f->special,
                  "Include migration background and financial strain");
  synth->callback(
      [c, f, &chosen] { chosen = [c, f] { return RunSynth(*c, *f); }; });
}

}  // namespace kring::node
