#include "bench/import_bench.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_split.h"
#include "bench/bench_util.h"
#include "node/importer.h"
#include "node/store.h"
#include "node/synth.h"
#include "node/xlsx_writer.h"
#include "survey/instrument.h"
#include "util/str_cat.h"

namespace kring::bench {
namespace {

// `sqlite3 DB` with the .import of `csv` into a new plain table.
bool SqliteImport(const std::filesystem::path& db,
                  const std::filesystem::path& csv) {
  std::string cmd = StrCat("sqlite3 '", db.string(), "'");
  FILE* p = popen(cmd.c_str(), "w");
  if (p == nullptr) return false;
  std::string script =
      StrCat(".bail on\n.mode csv\n.import '", csv.string(), "' t\n");
  std::fwrite(script.data(), 1, script.size(), p);
  return pclose(p) == 0;
}

// The same export as an .xlsx workbook (the kring template has no quoted
// cells, so splitting on ',' and '\n' reads it).
absl::StatusOr<std::string> AsXlsx(const std::string& csv) {
  std::vector<std::vector<std::string>> rows;
  for (absl::string_view line : absl::StrSplit(csv, '\n', absl::SkipEmpty())) {
    rows.push_back(absl::StrSplit(line, ','));
  }
  return node::WriteXlsx(rows);
}

// Milliseconds to import `bytes` into a new store in `dir` (unlock
// excluded); the outcome in `outcome`.
double TimeImport(const std::filesystem::path& dir, std::string_view bytes,
                  absl::StatusOr<node::ImportOutcome>& outcome) {
  auto pass = [] {
    return node::KeySource::Passphrase(
        crypto::SecretBytes::CopyFrom(std::string_view("bench passphrase")));
  };
  absl::Status status = node::Store::Init(dir, pass(), {}).status();
  absl::StatusOr<node::Store> store = node::Store::Open(dir, pass());
  if (!status.ok() || !store.ok()) {
    outcome = status.ok() ? store.status() : status;
    return 0;
  }
  return 1e3 * TimeOnce([&] {
           outcome = node::ImportExport(
               *store, bytes, survey::Instrument::BelongingV1(), {}, false);
         });
}

}  // namespace

nlohmann::json RunImportBench(const ImportBenchOptions& o) {
  nlohmann::json out;
  out["benchmark"] = "import";
  out["rows"] = o.rows;
  out["repetitions"] = o.repetitions;
  char tmpl[] = "/tmp/kring-import-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return {{"error", "cannot create temp dir"}};
  const std::filesystem::path dir = tmpl;

  const survey::Instrument& instrument = survey::Instrument::BelongingV1();
  node::SynthOptions synth;
  synth.rows = o.rows;
  synth.seed = o.seed;
  const std::string csv = node::SynthesizeExport(instrument, synth);
  const auto csv_path = dir / "export.csv";
  std::ofstream(csv_path, std::ios::binary) << csv;
  out["file_bytes"] = csv.size();

  const absl::StatusOr<std::string> xlsx = AsXlsx(csv);
  if (xlsx.ok()) out["xlsx_file_bytes"] = xlsx->size();
  std::vector<double> sqlite_ms, kring_ms, unlock_ms, init_ms, xlsx_ms;
  size_t imported = 0;
  for (int r = 0; r < o.repetitions; ++r) {
    const auto plain_db = dir / StrCat("plain-", r, ".db");
    bool ok = true;
    sqlite_ms.push_back(
        1e3 * TimeOnce([&] { ok = SqliteImport(plain_db, csv_path); }));
    if (!ok) {
      out["error"] =
          "sqlite3 .import failed (is the sqlite3 command installed?)";
      std::filesystem::remove_all(dir);
      return out;
    }
    const auto store_dir = dir / StrCat("store-", r);
    auto pass = [] {
      return node::KeySource::Passphrase(
          crypto::SecretBytes::CopyFrom(std::string_view("bench passphrase")));
    };
    absl::Status status;
    init_ms.push_back(1e3 * TimeOnce([&] {
                        status =
                            node::Store::Init(store_dir, pass(), {}).status();
                      }));
    absl::StatusOr<node::Store> store = absl::UnknownError("not opened");
    unlock_ms.push_back(
        1e3 * TimeOnce([&] { store = node::Store::Open(store_dir, pass()); }));
    if (!status.ok() || !store.ok()) {
      out["error"] =
          std::string(ToStd((status.ok() ? store.status() : status).message()));
      std::filesystem::remove_all(dir);
      return out;
    }
    absl::StatusOr<node::ImportOutcome> outcome = absl::UnknownError("not run");
    kring_ms.push_back(1e3 * TimeOnce([&] {
                         outcome = node::ImportExport(*store, csv, instrument,
                                                      {}, false);
                       }));
    if (!outcome.ok() || !outcome->parsed.problems.empty()) {
      out["error"] = outcome.ok()
                         ? "the synthetic export had problems"
                         : std::string(ToStd(outcome.status().message()));
      std::filesystem::remove_all(dir);
      return out;
    }
    imported = outcome->result.added;
    if (!xlsx.ok()) continue;
    xlsx_ms.push_back(
        TimeImport(dir / StrCat("xlsx-store-", r), *xlsx, outcome));
    if (!outcome.ok() || outcome->result.added != imported) {
      out["error"] = "the .xlsx export did not import as the CSV did";
      std::filesystem::remove_all(dir);
      return out;
    }
  }
  std::filesystem::remove_all(dir);
  out["imported"] = imported;
  out["sqlite3_import_ms"] = Median(sqlite_ms);
  out["kring_import_ms"] = Median(kring_ms);
  out["ratio"] = Median(kring_ms) / Median(sqlite_ms);
  if (!xlsx_ms.empty()) out["kring_xlsx_import_ms"] = Median(xlsx_ms);
  out["unlock_ms"] = Median(unlock_ms);
  out["init_ms"] = Median(init_ms);
  out["note"] =
      "medians; kring_import_ms = parse, validate, pseudonymise, seal and "
      "insert (unlock excluded), kring_xlsx_import_ms the same for the "
      "export as .xlsx; sqlite3_import_ms = `sqlite3 .import` into "
      "a plain table, including starting the sqlite3 process";
  return out;
}

}  // namespace kring::bench
