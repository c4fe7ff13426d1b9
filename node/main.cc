// kring-node: the school's side of kring. Keeps the school's survey data
// encrypted on the school's own server and imports the exports school IT
// already has. See `kring-node --help`.

#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "CLI/CLI.hpp"
#include "api/auth.h"
#include "api/channel.h"
#include "api/status.h"
#include "crypto/secret_bytes.h"
#include "grpcpp/grpcpp.h"
#include "kring/v1/service.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "node/agent.h"
#include "node/audit.h"
#include "node/import.h"
#include "node/importer.h"
#include "node/store.h"
#include "node/synth.h"
#include "query/decode.h"
#include "query/layout.h"
#include "query/release.h"
#include "query/spec.h"
#include "survey/instrument.h"
#include "survey/record.h"
#include "util/file.h"
#include "util/str_cat.h"

namespace kring::node {

using survey::Instrument;
using survey::Name;
using survey::ValidateWave;
namespace {

using crypto::SecretBytes;

constexpr int kExitOk = 0;
constexpr int kExitProblem = 1;  // the command ran into a problem
constexpr int kExitUsage = 2;

int Fail(const absl::Status& s) {
  std::cerr << "kring-node: " << ToStd(s.message()) << "\n";
  return kExitProblem;
}

// Reads a passphrase from the terminal without echo.
absl::StatusOr<SecretBytes> Prompt(const char* question) {
  FILE* tty = std::fopen("/dev/tty", "r+");
  if (tty == nullptr) {
    return absl::FailedPreconditionError(
        "no passphrase: set KRING_NODE_PASSPHRASE, run on a terminal, or "
        "use --key-file");
  }
  std::fputs(question, tty);
  std::fflush(tty);
  termios old{};
  const int fd = fileno(tty);
  const bool have_termios = tcgetattr(fd, &old) == 0;
  if (have_termios) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  SecretBytes buf(1024);
  char* line = std::fgets(reinterpret_cast<char*>(buf.data()),
                          static_cast<int>(buf.size()), tty);
  if (have_termios) tcsetattr(fd, TCSAFLUSH, &old);
  std::fputs("\n", tty);
  std::fclose(tty);
  if (line == nullptr) return absl::CancelledError("no passphrase entered");
  size_t n = std::strlen(line);
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) --n;
  return SecretBytes::CopyFrom(buf.span().first(n));
}

// A passphrase from `env` or the terminal. A new passphrase (`is_new`) must
// have at least 8 characters and, typed, is asked twice.
absl::StatusOr<SecretBytes> Passphrase(const char* env, bool is_new,
                                       const char* question) {
  auto check = [&](SecretBytes p) -> absl::StatusOr<SecretBytes> {
    if (is_new && p.size() < 8) {
      return absl::InvalidArgumentError(
          StrCat("the new passphrase must be at least 8 characters (", env,
                 " or the prompt)"));
    }
    return p;
  };
  if (const char* v = std::getenv(env); v != nullptr && *v != '\0') {
    return check(SecretBytes::CopyFrom(std::string_view(v)));
  }
  auto first = Prompt(question);
  if (!first.ok()) return first.status();
  if (is_new) {
    auto again = Prompt("Type it again: ");
    if (!again.ok()) return again.status();
    if (!(*first == *again)) {
      return absl::InvalidArgumentError("the passphrases do not match");
    }
  }
  return check(*std::move(first));
}

struct Common {
  std::string data_dir;
  std::string key_file;
  std::string instrument_file;
};

absl::StatusOr<KeySource> KeyFor(const Common& c, bool confirm) {
  if (!c.key_file.empty()) return KeySource::KeyFile(c.key_file);
  auto pass = Passphrase("KRING_NODE_PASSPHRASE", confirm,
                         "Passphrase for the school's data: ");
  if (!pass.ok()) return pass.status();
  return KeySource::Passphrase(*std::move(pass));
}

// Unlocks the node's store with the passphrase or key file.
absl::StatusOr<Store> OpenStore(const Common& c) {
  auto key = KeyFor(c, /*confirm=*/false);
  if (!key.ok()) return key.status();
  return Store::Open(c.data_dir, *key);
}

// The audit log (audit.db) sits next to the store, under a key derived from
// the store's data key.
constexpr std::string_view kAuditPurpose = "audit-log-v1";
using AuditFields = std::vector<std::pair<std::string, std::string>>;

std::filesystem::path AuditPath(const Common& c) {
  return std::filesystem::path(c.data_dir) / AuditLog::kFileName;
}

// Opens the audit log for a command that changes data, before the change,
// so that a log that cannot be opened stops the command first. A log
// started for an existing store (from an older kring-node, or after
// audit.db was removed) begins with an entry that says so.
absl::StatusOr<AuditLog> OpenAudit(const Common& c, const Store& store,
                                   bool new_store) {
  const bool existed = std::filesystem::exists(AuditPath(c));
  auto log = AuditLog::Open(c.data_dir, store.DeriveSubkey(kAuditPurpose));
  if (!log.ok()) return log.status();
  if (!existed && !new_store) {
    if (auto s = log->Append(
            "started",
            "Started this audit log for an existing store: changes made "
            "before now are not in it (the store was made by an older "
            "kring-node, or its earlier audit log was removed)");
        !s.ok()) {
      return s;
    }
  }
  return log;
}

// Text that AuditLog accepts and a terminal prints as one line: control
// characters become '?'.
std::string OneLine(std::string_view text) {
  std::string out(text);
  for (char& ch : out) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f) ch = '?';
  }
  return out;
}

// "1 record", "2 records".
std::string Records(size_t n) {
  return StrCat(n, n == 1 ? " record" : " records");
}

// Writes what a command changed to the audit log; returns the exit code.
// Entries never hold pupil numbers or other pupil data.
int Audited(AuditLog& log, std::string_view kind, std::string_view summary,
            AuditFields fields = {}) {
  for (auto& [name, value] : fields) value = OneLine(value);
  if (auto s = log.Append(kind, OneLine(summary), std::move(fields)); !s.ok()) {
    std::cerr << "kring-node: the change was made, but writing it to the "
                 "audit log failed: "
              << ToStd(s.message()) << "\n";
    return kExitProblem;
  }
  return kExitOk;
}

absl::StatusOr<Instrument> LoadInstrument(const Common& c) {
  if (c.instrument_file.empty()) return Instrument::BelongingV1();
  return Instrument::LoadFile(c.instrument_file);
}

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

int RunInit(const Common& c, bool special) {
  auto key = KeyFor(c, /*confirm=*/true);
  if (!key.ok()) return Fail(key.status());
  StoreOptions options;
  options.special_categories = special;
  auto store = Store::Init(c.data_dir, *key, options);
  if (!store.ok()) return Fail(store.status());
  auto audit = OpenAudit(c, *store, /*new_store=*/true);
  if (!audit.ok()) return Fail(audit.status());
  const std::string protection = c.key_file.empty() ? "passphrase" : "key file";
  if (int rc =
          Audited(*audit, "init",
                  StrCat("Created the store; the data key is protected by a ",
                         protection, "; special-category attributes ",
                         special ? "enabled" : "disabled"),
                  {{"key_protection", protection},
                   {"special_categories", special ? "enabled" : "disabled"}});
      rc != kExitOk) {
    return rc;
  }
  std::cout << "Created the kring node store in " << c.data_dir << "\n";
  if (!c.key_file.empty()) {
    std::cout << "The data key is protected by the key file " << c.key_file
              << ". Keep a backup of it in a safe place: without it the "
                 "data cannot be read.\n";
  } else {
    std::cout << "The data key is protected by your passphrase. Without it "
                 "the data cannot be read; nobody can recover it.\n";
  }
  std::cout << "Special-category attributes (migration background, "
               "financial strain): "
            << (special ? "enabled" : "disabled (not stored)") << "\n";
  return kExitOk;
}

struct ImportFlags {
  std::string file;
  std::string format = "auto";
  std::string mapping;
  std::string wave, month, sector;
  bool replace = false;
  bool json = false;
};

ExportFormat ParseFormat(const std::string& f) {
  if (f == "kring") return ExportFormat::kKring;
  if (f == "limesurvey") return ExportFormat::kLimeSurvey;
  if (f == "msforms") return ExportFormat::kMicrosoftForms;
  if (f == "qualtrics") return ExportFormat::kQualtrics;
  return ExportFormat::kAuto;
}

int RunImport(const Common& c, const ImportFlags& f) {
  auto instrument = LoadInstrument(c);
  if (!instrument.ok()) return Fail(instrument.status());
  auto bytes = ReadFileToString(f.file);
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
  ImportOptions options;
  options.format = ParseFormat(f.format);
  if (!f.mapping.empty()) {
    auto text = ReadFileToString(f.mapping);
    if (!text.ok()) return Fail(text.status());
    auto mapping = ColumnMapping::Parse(*text);
    if (!mapping.ok()) return Fail(mapping.status());
    options.mapping = *std::move(mapping);
  }
  if (!f.wave.empty()) options.defaults["wave"] = f.wave;
  if (!f.month.empty()) options.defaults["survey_month"] = f.month;
  if (!f.sector.empty()) options.defaults["sector"] = f.sector;
  Progress progress(!f.json);
  options.progress = [&](size_t done, size_t total) {
    progress.Update("Reading", done, total);
  };
  auto outcome =
      ImportExport(*store, *bytes, *instrument, std::move(options), f.replace);
  progress.Done();
  if (!outcome.ok()) {
    if (f.json) {
      nlohmann::json err = {
          {"file", f.file},
          {"imported", 0},
          {"error", std::string(ToStd(outcome.status().message()))}};
      std::cout << err.dump(2) << "\n";
      return kExitProblem;
    }
    return Fail(outcome.status());
  }
  const ParsedExport& parsed = outcome->parsed;
  nlohmann::json summary;
  summary["file"] = f.file;
  summary["format"] = std::string(FormatName(parsed.format));
  summary["delimiter"] = std::string(1, parsed.delimiter);
  summary["utf8_bom"] = parsed.had_bom;
  summary["crlf"] = parsed.crlf;
  summary["data_rows"] = parsed.data_rows;
  summary["dropped_identifying_columns"] = parsed.dropped_identifying;
  summary["ignored_columns"] = parsed.ignored;
  if (!parsed.problems.empty()) {
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& p : parsed.problems) {
      problems.push_back(
          {{"line", p.line}, {"column", p.column}, {"reason", p.reason}});
    }
    summary["imported"] = 0;
    summary["problems"] = problems;
    if (f.json) {
      std::cout << summary.dump(2) << "\n";
    } else {
      std::cerr << "kring-node: " << parsed.problems.size() << " problem(s) in "
                << f.file << "; nothing was imported:\n";
      for (const auto& p : parsed.problems) {
        std::cerr << "  line " << p.line;
        if (!p.column.empty()) std::cerr << ", column \"" << p.column << "\"";
        std::cerr << ": " << p.reason << "\n";
      }
    }
    return kExitProblem;
  }
  const ImportResult* added = &outcome->result;
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s.empty() ? std::string("none") : s;
  };
  {
    const std::string name = std::filesystem::path(f.file).filename();
    const std::string format(FormatName(parsed.format));
    std::string line = StrCat("Imported ", Records(added->added), " from ",
                              name, " (", format, ")");
    if (added->replaced > 0) {
      line += StrCat(", replacing ", Records(added->replaced),
                     " of its earlier import");
    }
    if (added->skipped_erased > 0) {
      line += StrCat(", leaving out ", Records(added->skipped_erased),
                     " of pupils erased earlier");
    }
    line += "; dropped columns: " + list(parsed.dropped_identifying);
    if (int rc =
            Audited(*audit, "import", line,
                    {{"file", name},
                     {"format", format},
                     {"records", std::to_string(added->added)},
                     {"replaced", std::to_string(added->replaced)},
                     {"left_out_erased", std::to_string(added->skipped_erased)},
                     {"dropped_columns", list(parsed.dropped_identifying)},
                     {"unused_columns", list(parsed.ignored)}});
        rc != kExitOk) {
      return rc;
    }
  }
  summary["imported"] = added->added;
  summary["replaced"] = added->replaced;
  summary["left_out_erased"] = added->skipped_erased;
  summary["unlock_ms"] = unlock_ms;
  summary["import_ms"] = Ms(t_import);
  if (f.json) {
    std::cout << summary.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "Imported " << added->added << " records from " << f.file << " ("
            << FormatName(parsed.format) << " export)";
  if (added->replaced > 0) {
    std::cout << ", replacing " << added->replaced
              << " records of the earlier import";
  }
  std::cout << ".\n";
  if (added->skipped_erased > 0) {
    std::cout << "Left out " << added->skipped_erased
              << " records of pupils erased earlier; they stay "
                 "erased (`kring-node readmit` lifts an erasure).\n";
  }
  std::cout << "Dropped, never stored (they identify people): "
            << list(parsed.dropped_identifying) << "\n";
  std::cout << "Not used: " << list(parsed.ignored) << "\n";
  return kExitOk;
}

int RunStatus(const Common& c, bool json) {
  auto store = OpenStore(c);
  if (!store.ok()) return Fail(store.status());
  // wave -> (total, per grade, per track)
  struct Counts {
    size_t total = 0;
    std::map<uint32_t, size_t> grade;
    std::map<std::string, size_t> track;
  };
  std::map<std::string, Counts> waves;
  auto s = store->ForEach([&](const v1::PupilRecord& r) {
    Counts& w = waves[r.wave()];
    ++w.total;
    ++w.grade[r.grade()];
    ++w.track[std::string(Name(r.track()))];
  });
  if (!s.ok()) return Fail(s);
  auto erased = store->ErasedPupils();
  if (!erased.ok()) return Fail(erased.status());
  if (json) {
    nlohmann::json out;
    out["data_dir"] = c.data_dir;
    out["special_categories"] = store->options().special_categories;
    out["erased_pupils"] = *erased;
    nlohmann::json jw = nlohmann::json::object();
    for (const auto& [wave, w] : waves) {
      nlohmann::json g = nlohmann::json::object(), t = nlohmann::json::object();
      for (const auto& [k, v] : w.grade) g[std::to_string(k)] = v;
      for (const auto& [k, v] : w.track) t[k] = v;
      jw[wave] = {{"records", w.total}, {"by_grade", g}, {"by_track", t}};
    }
    out["waves"] = jw;
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "kring node store: " << c.data_dir << "\n";
  if (waves.empty()) std::cout << "No records yet. Use `kring-node import`.\n";
  for (const auto& [wave, w] : waves) {
    std::cout << "\nWave " << wave << ": " << w.total << " records\n";
    std::cout << "  by grade:";
    for (const auto& [k, v] : w.grade) std::cout << "  " << k << ": " << v;
    std::cout << "\n  by track:";
    for (const auto& [k, v] : w.track) std::cout << "  " << k << ": " << v;
    std::cout << "\n";
  }
  if (*erased > 0) {
    std::cout << "\n"
              << *erased
              << " erased pupil(s) are kept out of imports (see `kring-node "
                 "readmit`).\n";
  }
  return kExitOk;
}

int RunErase(const Common& c, const std::string& pupil, const std::string& wave,
             bool yes) {
  if (pupil.empty() == wave.empty()) {
    std::cerr << "kring-node erase: give exactly one of --pupil or --wave\n";
    return kExitUsage;
  }
  if (!wave.empty()) {
    if (auto s = ValidateWave(wave); !s.ok()) return Fail(s);
  }
  if (!yes) {
    if (!isatty(0)) {
      std::cerr << "kring-node erase: add --yes to erase without asking\n";
      return kExitUsage;
    }
    std::cout << "Erase every record of "
              << (pupil.empty() ? "wave " + wave : std::string("this pupil"))
              << "? This cannot be undone. Type yes: " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "yes") {
      std::cout << "Nothing erased.\n";
      return kExitOk;
    }
  }
  auto store = OpenStore(c);
  if (!store.ok()) return Fail(store.status());
  auto audit = OpenAudit(c, *store, /*new_store=*/false);
  if (!audit.ok()) return Fail(audit.status());
  auto n = pupil.empty() ? store->EraseWave(wave) : store->ErasePupil(pupil);
  if (!n.ok()) return Fail(n.status());
  // Never the pupil number: the log says only that one pupil was erased.
  AuditFields fields = {{"records", std::to_string(*n)},
                        {"scope", pupil.empty() ? "wave" : "pupil"}};
  if (!wave.empty()) fields.emplace_back("wave", wave);
  if (int rc =
          Audited(*audit, "erase",
                  pupil.empty() ? StrCat("Erased ", Records(*n), " of wave ",
                                         wave, " (retention)")
                                : StrCat("Erased ", Records(*n),
                                         " of one pupil (right to erasure)"),
                  std::move(fields));
      rc != kExitOk) {
    return rc;
  }
  std::cout << "Erased " << *n << " record(s); they cannot be recovered "
            << "from the data directory.";
  if (!pupil.empty()) {
    std::cout << " Later imports leave this pupil out until `kring-node "
                 "readmit`.";
  }
  std::cout << "\n";
  return kExitOk;
}

int RunReadmit(const Common& c, const std::string& pupil) {
  auto store = OpenStore(c);
  if (!store.ok()) return Fail(store.status());
  auto audit = OpenAudit(c, *store, /*new_store=*/false);
  if (!audit.ok()) return Fail(audit.status());
  auto lifted = store->ReadmitPupil(pupil);
  if (!lifted.ok()) return Fail(lifted.status());
  if (!*lifted) {
    std::cout << "This pupil was not erased; nothing changed.\n";
    return kExitOk;
  }
  // Never the pupil number, as with erase.
  if (int rc =
          Audited(*audit, "readmit", "One erased pupil may be imported again",
                  {{"scope", "pupil"}});
      rc != kExitOk) {
    return rc;
  }
  std::cout << "Lifted the erasure: later imports take this pupil in again. "
               "Nothing erased was restored.\n";
  return kExitOk;
}

int RunRotate(const Common& c, const std::string& new_key_file) {
  auto store = OpenStore(c);
  if (!store.ok()) return Fail(store.status());
  KeySource next;
  if (!new_key_file.empty()) {
    next = KeySource::KeyFile(new_key_file);
  } else {
    auto pass = Passphrase("KRING_NODE_NEW_PASSPHRASE", /*is_new=*/true,
                           "New passphrase for the school's data: ");
    if (!pass.ok()) return Fail(pass.status());
    next = KeySource::Passphrase(*std::move(pass));
  }
  auto audit = OpenAudit(c, *store, /*new_store=*/false);
  if (!audit.ok()) return Fail(audit.status());
  if (auto s = store->RotateKey(next); !s.ok()) return Fail(s);
  AuditFields fields = {
      {"key_protection", new_key_file.empty() ? "passphrase" : "key file"}};
  if (!new_key_file.empty()) fields.emplace_back("key_file", new_key_file);
  if (int rc = Audited(
          *audit, "rotate-key",
          new_key_file.empty()
              ? "Protected the data key with a new passphrase"
              : "Protected the data key with a new key file, " + new_key_file,
          std::move(fields));
      rc != kExitOk) {
    return rc;
  }
  std::cout << "The data key is now protected by "
            << (new_key_file.empty() ? std::string("the new passphrase")
                                     : "the key file " + new_key_file)
            << "; the old one no longer opens the store.\n";
  return kExitOk;
}

// Local time in ISO 8601, e.g. 2026-03-02T14:05:09+01:00.
std::string LocalTime(int64_t unix_time) {
  const auto t = static_cast<std::time_t>(unix_time);
  std::tm local{};
  char buf[64];
  if (localtime_r(&t, &local) == nullptr ||
      std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &local) == 0) {
    return StrCat("@", unix_time);
  }
  std::string s = buf;
  s.insert(s.size() - 2, ":");
  return s;
}

constexpr const char* kTamperAdvice =
    "Keep audit.db as it is (it is evidence), compare it with a backup, and "
    "find out who could write to the data directory.\n";

// `kring-node audit` (show the log) and `kring-node audit verify`. Both
// fail (exit 1) when the log does not verify.
int RunAudit(const Common& c, bool json, bool verify_only) {
  auto store = OpenStore(c);
  if (!store.ok()) return Fail(store.status());
  if (!std::filesystem::exists(AuditPath(c))) {
    return Fail(absl::NotFoundError(
        StrCat("there is no audit log in ", c.data_dir,
               " (audit.db): it was removed, or nothing has changed since "
               "this store was made by an older kring-node")));
  }
  auto log = AuditLog::Open(c.data_dir, store->DeriveSubkey(kAuditPurpose));
  if (!log.ok()) return Fail(log.status());
  auto entries = log->Entries();
  if (!entries.ok()) return Fail(entries.status());
  const absl::Status verified = log->Verify();
  auto intact_line = [&] {
    if (entries->empty())
      return std::string("The audit log is intact: no entries yet.");
    return StrCat("The audit log is intact: ", entries->size(),
                  entries->size() == 1 ? " entry" : " entries",
                  ", the last on ", LocalTime(entries->back().unix_time), ".");
  };
  const std::string problem =
      StrCat("the audit log is NOT intact: ", ToStd(verified.message()));
  if (verify_only) {
    if (!verified.ok()) {
      std::cerr << "kring-node: " << problem << "\n" << kTamperAdvice;
      return kExitProblem;
    }
    std::cout << intact_line() << "\n";
    return kExitOk;
  }
  if (json) {
    nlohmann::ordered_json out;
    out["audit_log"] = log->path().string();
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const AuditEntry& e : *entries) {
      nlohmann::ordered_json fields = nlohmann::ordered_json::object();
      for (const auto& [name, value] : e.fields) fields[name] = value;
      list.push_back({{"seq", e.seq},
                      {"time", LocalTime(e.unix_time)},
                      {"unix_time", e.unix_time},
                      {"kind", e.kind},
                      {"summary", e.summary},
                      {"fields", fields}});
    }
    out["entries"] = list;
    out["intact"] = verified.ok();
    if (!verified.ok()) out["problem"] = std::string(ToStd(verified.message()));
    std::cout << out.dump(2, ' ', false,
                          nlohmann::ordered_json::error_handler_t::replace)
              << "\n";
    return verified.ok() ? kExitOk : kExitProblem;
  }
  std::cout << "Audit log of the kring node store in " << c.data_dir
            << " (times are local):\n";
  for (const AuditEntry& e : *entries) {
    std::cout << "\n#" << e.seq << "  " << LocalTime(e.unix_time) << "  "
              << OneLine(e.summary) << "\n";
    for (const auto& [name, value] : e.fields) {
      std::cout << "      " << OneLine(name) << ": " << OneLine(value) << "\n";
    }
  }
  std::cout << "\n";
  if (!verified.ok()) {
    std::cerr << "kring-node: " << problem << "\n" << kTamperAdvice;
    return kExitProblem;
  }
  std::cout << intact_line() << "\n";
  return kExitOk;
}

struct PreviewFlags {
  std::string spec_file;
  std::string municipality;
  bool json = false;
  bool all = false;
};

// Shows school IT what would leave the school for a query, and this
// school's own figures (which stay here).
int RunPreview(const Common& c, const PreviewFlags& f) {
  auto instrument = LoadInstrument(c);
  if (!instrument.ok()) return Fail(instrument.status());
  auto text = ReadFileToString(f.spec_file);
  if (!text.ok()) return Fail(text.status());
  auto spec = query::ParseQuerySpecJson(*text);
  if (!spec.ok()) return Fail(spec.status());
  auto q = query::Query::Create(*spec, *instrument);
  if (!q.ok()) return Fail(q.status());
  bool needs_municipality = !spec->population().municipalities().empty();
  for (const query::Grouping& g : q->groups()) {
    needs_municipality |= g.var == query::GroupVar::kMunicipality;
  }
  for (const query::Predictor& p : q->predictors()) {
    needs_municipality |=
        p.categorical && p.categorical->var == query::GroupVar::kMunicipality;
  }
  if (needs_municipality && f.municipality.empty()) {
    return Fail(absl::InvalidArgumentError(
        "this query selects or groups by municipality: give your school's "
        "municipality code with --municipality (e.g. GM0363)"));
  }
  auto store = OpenStore(c);
  if (!store.ok()) return Fail(store.status());
  std::vector<v1::PupilRecord> records;
  if (auto s = store->ForEach(
          [&](const v1::PupilRecord& r) { records.push_back(r); });
      !s.ok()) {
    return Fail(s);
  }
  query::Layout layout(*q);
  auto vector = query::Contribution(layout, records, f.municipality);
  if (!vector.ok()) return Fail(vector.status());
  auto own = query::Decode(layout, *vector);
  if (!own.ok()) return Fail(own.status());
  const query::ReleasedResult mine = query::Unprotected(layout, *own);
  size_t zeros = 0;
  for (uint64_t v : *vector) zeros += v == 0;
  if (f.json) {
    nlohmann::json out;
    out["summary"] = q->Summary();
    out["vector_length"] = vector->size();
    nlohmann::json elems = nlohmann::json::array();
    for (size_t i = 0; i < vector->size(); ++i) {
      elems.push_back(
          {{"element", layout.Describe(i)}, {"value", (*vector)[i]}});
    }
    out["vector"] = elems;
    out["own_figures"] = mine.ToJson();
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "Query: " << q->Summary() << "\n";
  if (!spec->purpose().empty()) {
    std::cout << "Purpose: " << spec->purpose() << "\n";
  }
  std::cout << "\nWhat would leave this school: " << vector->size()
            << " whole numbers, masked by secure aggregation so that only "
               "their sum over all participating schools can be read. In "
               "readable form"
            << (f.all ? "" : " (entries that are 0 left out)") << ":\n";
  for (size_t i = 0; i < vector->size(); ++i) {
    if ((*vector)[i] == 0 && !f.all) continue;
    std::cout << "  " << layout.Describe(i) << " = " << (*vector)[i] << "\n";
  }
  if (!f.all && zeros > 0) {
    std::cout << "  (" << zeros << " entries are 0; --all lists them too)\n";
  }
  std::cout << "\nThis school's own figures. They stay here: the "
               "coordinator sees only sums over schools, and releases only "
               "cells that pass disclosure control.\n\n"
            << mine.ToText();
  return kExitOk;
}

struct EnrollFlags {
  std::string coordinator = "127.0.0.1:7443";
  std::string code;
  std::string ca;
  bool insecure_loopback = false;
  std::vector<std::string> approver_keys;
  std::vector<std::string> municipality_keys;
  uint32_t approvals_required = 1;
};

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(
    const std::string& address, const std::string& ca, bool insecure_loopback) {
  if (ca.empty() && !insecure_loopback) {
    return absl::InvalidArgumentError(
        "give the coordinator's CA certificate with --ca (plaintext needs "
        "--insecure-loopback and a loopback address)");
  }
  api::ChannelOptions o;
  o.address = address;
  o.ca_file = ca;
  o.insecure_loopback = insecure_loopback;
  o.names = {.address = "--coordinator",
             .ca_file = "--ca",
             .insecure_loopback = "--insecure-loopback"};
  return api::MakeChannel(o);
}

// Registers this node's identity with the coordinator using a one-time
// code and writes node.yaml.
int RunEnroll(const Common& c, const EnrollFlags& f) {
  const std::filesystem::path dir = c.data_dir;
  if (std::filesystem::exists(dir / "node.yaml")) {
    return Fail(absl::AlreadyExistsError(
        StrCat("this node is already enrolled (", (dir / "node.yaml").string(),
               " exists)")));
  }
  auto store = OpenStore(c);
  if (!store.ok()) return Fail(store.status());
  auto audit = OpenAudit(c, *store, /*new_store=*/false);
  if (!audit.ok()) return Fail(audit.status());
  NodeConfig config;
  config.coordinator = f.coordinator;
  config.tls_ca = f.ca;
  config.insecure_loopback = f.ca.empty() && f.insecure_loopback;
  config.approvals_required = f.approvals_required;
  for (const std::string& k : f.approver_keys) {
    auto pub = crypto::IdentityPublicKey::FromFileOrText(k);
    if (!pub.ok()) {
      return Fail(
          absl::InvalidArgumentError(StrCat("--approver-key ", k,
                                            " is neither a public key file nor "
                                            "a kring-ed25519-public-v1 key")));
    }
    config.approvers.push_back(*pub);
  }
  for (const std::string& k : f.municipality_keys) {
    auto pub = crypto::IdentityPublicKey::FromFileOrText(k);
    if (!pub.ok()) {
      return Fail(absl::InvalidArgumentError(
          StrCat("--municipality-key ", k,
                 " is neither a public key file nor a key")));
    }
    config.municipality_keys.push_back(*pub);
  }
  if (config.approvers.size() < config.approvals_required) {
    return Fail(absl::InvalidArgumentError(StrCat(
        "--approvals-required ", config.approvals_required, " but only ",
        config.approvers.size(), " approver key(s) given (--approver-key)")));
  }
  const std::filesystem::path key_path = dir / config.identity_key;
  std::optional<crypto::IdentityKeyPair> identity;
  if (std::filesystem::exists(key_path)) {
    auto loaded = crypto::IdentityKeyPair::LoadPrivateKeyFile(key_path);
    if (!loaded.ok()) return Fail(loaded.status());
    identity.emplace(*std::move(loaded));
  } else {
    identity.emplace(crypto::IdentityKeyPair::Generate());
    if (auto s = identity->SavePrivateKeyFile(key_path); !s.ok()) {
      return Fail(s);
    }
  }
  auto channel = Connect(f.coordinator, f.ca, f.insecure_loopback);
  if (!channel.ok()) return Fail(channel.status());
  auto stub = v1::Coordinator::NewStub(*channel);
  v1::EnrollRequest request;
  request.set_code(f.code);
  request.set_identity_public_key(std::string(identity->public_key().bytes()));
  request.set_version("kring-node 0.1");
  v1::EnrollResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  grpc::Status status = stub->Enroll(&context, request, &response);
  if (!status.ok()) {
    absl::Status s =
        api::FromGrpcStatus(status, f.coordinator,
                            {.address = "--coordinator",
                             .ca_file = "--ca",
                             .insecure_loopback = "--insecure-loopback"});
    return Fail(absl::Status(
        s.code(), StrCat("enrollment failed: ", ToStd(s.message()))));
  }
  config.school_id = response.school_id();
  config.municipality = response.municipality();
  std::ofstream out(dir / "node.yaml");
  out << "# kring node configuration, written by `kring-node enroll`.\n"
      << config.ToYaml();
  if (!out) return Fail(absl::InternalError("cannot write node.yaml"));
  out.close();
  if (int rc =
          Audited(*audit, "enrolled",
                  StrCat("Enrolled with the coordinator as ",
                         response.school_id(), " (", response.school_name(),
                         ", ", response.municipality(), ")"),
                  {{"school_id", response.school_id()},
                   {"fingerprint", response.fingerprint()}});
      rc != kExitOk) {
    return rc;
  }
  std::cout << "Enrolled " << response.school_name() << " (" << response.brin()
            << ", " << response.municipality() << ") as "
            << response.school_id() << ".\n"
            << "Read this fingerprint to the coordinator's operator to "
               "confirm it is this server's key:\n  "
            << response.fingerprint() << "\n"
            << "Settings: " << (dir / "node.yaml").string()
            << " (approvers this school trusts, local policy).\n"
            << "Start taking part in queries with `kring-node run`.\n";
  return kExitOk;
}

std::atomic<Agent*> running_agent{nullptr};

extern "C" void StopAgent(int) {
  if (Agent* a = running_agent.load()) a->Stop();
}

// Connects to the coordinator and takes part in queries until stopped.
int RunAgent(const Common& c) {
  auto config =
      NodeConfig::Load(std::filesystem::path(c.data_dir) / "node.yaml");
  if (!config.ok()) return Fail(config.status());
  auto store = OpenStore(c);
  if (!store.ok()) return Fail(store.status());
  auto audit = OpenAudit(c, *store, /*new_store=*/false);
  if (!audit.ok()) return Fail(audit.status());
  AgentOptions options;
  options.data_dir = c.data_dir;
  options.config = *config;
  auto agent = Agent::Create(std::move(options), &*store, &*audit);
  if (!agent.ok()) return Fail(agent.status());
  running_agent = agent->get();
  std::signal(SIGINT, StopAgent);
  std::signal(SIGTERM, StopAgent);
  std::cerr << "kring-node: school " << config->school_id << " connecting to "
            << config->coordinator << " (stop with Ctrl-C)\n";
  (*agent)->Run();
  running_agent = nullptr;
  std::cerr << "kring-node: stopped\n";
  return kExitOk;
}

// Tasks waiting for school IT (policy.manual_accept in node.yaml).
int RunPending(const Common& c, bool json) {
  auto pending = ListPending(c.data_dir);
  if (!pending.ok()) return Fail(pending.status());
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const PendingTask& p : *pending) {
      out.push_back({{"query_id", p.query_id},
                     {"summary", p.summary},
                     {"requester", p.requester},
                     {"respond_by_unix_millis", p.respond_by_unix_millis}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (pending->empty()) {
    std::cout << "No queries are waiting for your decision.\n";
    return kExitOk;
  }
  for (const PendingTask& p : *pending) {
    std::cout << p.query_id << "  from " << p.requester << "\n  " << p.summary
              << "\n";
  }
  std::cout << "\nAccept with `kring-node accept ID`, or decline with "
               "`kring-node decline ID --reason ...`. See exactly what would "
               "leave the school first with `kring-node preview`.\n";
  return kExitOk;
}

int RunDecide(const Common& c, const std::string& id, bool accept,
              const std::string& reason) {
  if (auto s = DecidePending(c.data_dir, id, accept, OneLine(reason));
      !s.ok()) {
    return Fail(s);
  }
  std::cout << (accept ? "Accepted " : "Declined ") << id
            << "; the running node passes it on (kring-node run).\n";
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
  if (auto s = ValidateWave(f.wave); !s.ok()) return Fail(s);
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

int Main(int argc, char** argv) {
  CLI::App app{
      "kring-node keeps your school's sense-of-belonging survey data on this "
      "server, encrypted, and takes part in kring queries without any "
      "pupil's answers leaving the school.\n\n"
      "Start with `kring-node init`, then `kring-node import EXPORT.csv`. "
      "The passphrase comes from KRING_NODE_PASSPHRASE or is asked for; "
      "use --key-file to protect the data with a key file instead."};
  app.require_subcommand(1);
  Common c;
  const char* env_dir = std::getenv("KRING_NODE_DATA_DIR");
  c.data_dir = env_dir != nullptr ? env_dir : "kring-node-data";
  auto add_common = [&](CLI::App* sub, bool with_key, bool with_instrument) {
    sub->add_option("--data-dir", c.data_dir,
                    "Directory holding the encrypted store (default: "
                    "$KRING_NODE_DATA_DIR or ./kring-node-data)");
    if (with_key) {
      sub->add_option("--key-file", c.key_file,
                      "Key file protecting the store instead of a passphrase "
                      "(created by init; mode 0600)");
    }
    if (with_instrument) {
      sub->add_option("--instrument", c.instrument_file,
                      "Your own instrument file (YAML, see "
                      "docs/instruments.md); default: kring-belonging-v1");
    }
  };

  bool special = false;
  auto* init = app.add_subcommand(
      "init", "Create the encrypted store for this school (once).");
  add_common(init, true, false);
  init->add_flag("--special-categories", special,
                 "Also store migration background and financial strain "
                 "(special-category data; only with your privacy officer's "
                 "approval)");

  ImportFlags imp;
  auto* import = app.add_subcommand(
      "import",
      "Import a survey export (CSV from LimeSurvey, Microsoft Forms, "
      "Qualtrics or the kring template). Columns that identify pupils are "
      "dropped; a file with any invalid row imports nothing.");
  add_common(import, true, true);
  import->add_option("file", imp.file, "The export (CSV)")->required();
  import->add_option("--format", imp.format, "Export layout")
      ->check(CLI::IsMember(
          {"auto", "kring", "limesurvey", "msforms", "qualtrics"}));
  import->add_option("--mapping", imp.mapping,
                     "Mapping file for other layouts (docs/import.md)");
  import->add_option("--wave", imp.wave,
                     "School year when the export has no wave column, "
                     "e.g. 2025-26");
  import->add_option("--month", imp.month,
                     "Survey month when the export has none (1-12 or a "
                     "month name)");
  import->add_option("--sector", imp.sector,
                     "Sector when the export has none (po, vo, mbo, so, vso)");
  import->add_flag("--replace", imp.replace,
                   "Replace the records of an earlier import of this file");
  import->add_flag("--json", imp.json, "Machine-readable summary");

  bool status_json = false;
  auto* status = app.add_subcommand(
      "status",
      "Show how many records are stored per wave, grade and track "
      "(never individual rows).");
  add_common(status, true, false);
  status->add_flag("--json", status_json, "Machine-readable output");

  std::string erase_pupil, erase_wave;
  bool erase_yes = false;
  auto* erase = app.add_subcommand(
      "erase",
      "Erase records: one pupil's (right to erasure) or a whole "
      "wave's (retention). Erased data cannot be recovered.");
  add_common(erase, true, false);
  erase->add_option("--pupil", erase_pupil, "Pupil number to erase");
  erase->add_option("--wave", erase_wave, "Wave to erase, e.g. 2023-24");
  erase->add_flag("--yes", erase_yes, "Do not ask for confirmation");
  std::string readmit_pupil;
  auto* readmit = app.add_subcommand(
      "readmit",
      "Lift a pupil's erasure, so that later imports take the pupil in "
      "again (for example after new consent). Nothing erased is restored.");
  add_common(readmit, true, false);
  readmit->add_option("--pupil", readmit_pupil, "Pupil number to readmit")
      ->required();

  std::string new_key_file;
  auto* rotate = app.add_subcommand(
      "rotate-key",
      "Protect the data key with a new passphrase "
      "(KRING_NODE_NEW_PASSPHRASE or prompt) or a new key file.");
  add_common(rotate, true, false);
  rotate->add_option("--new-key-file", new_key_file,
                     "Switch to a new key file (created, mode 0600)");

  SynthFlags syn;
  auto* synth = app.add_subcommand(
      "synth",
      "Write a realistic synthetic export for demos and tests (no "
      "real pupils).");
  add_common(synth, false, true);
  synth->add_option("--out", syn.out, "Output file, or - for stdout")
      ->required();
  synth->add_option("--format", syn.format, "Export layout")
      ->check(CLI::IsMember({"kring", "limesurvey", "msforms", "qualtrics"}));
  synth->add_option("--rows", syn.rows, "Number of pupils")
      ->check(CLI::Range(size_t{1}, size_t{10000000}));
  synth->add_option("--seed", syn.seed, "Seed (same seed, same file)");
  synth->add_option("--wave", syn.wave, "School year, e.g. 2025-26");
  synth->add_option("--month", syn.month, "Survey month (1-12)")
      ->check(CLI::Range(1u, 12u));
  synth->add_option("--delimiter", syn.delimiter, "comma, semicolon or tab")
      ->check(CLI::IsMember({"comma", "semicolon", "tab"}));
  synth->add_flag("--bom", syn.bom, "Start with a UTF-8 byte order mark");
  synth->add_flag("--crlf", syn.crlf, "Windows line endings");
  synth->add_flag("--special-categories", syn.special,
                  "Include migration background and financial strain");

  PreviewFlags prev;
  auto* preview = app.add_subcommand(
      "preview",
      "Show exactly what this school would contribute to a query (SPEC.json, "
      "a kring query spec) and this school's own figures, locally.");
  add_common(preview, true, true);
  preview->add_option("spec", prev.spec_file, "The query spec (JSON)")
      ->required();
  preview->add_option("--municipality", prev.municipality,
                      "This school's municipality code (CBS), e.g. GM0363; "
                      "needed when the query selects or groups by "
                      "municipality");
  preview->add_flag("--all", prev.all, "Also list the entries that are 0");
  preview->add_flag("--json", prev.json, "Machine-readable output");

  bool audit_json = false;
  auto* audit = app.add_subcommand(
      "audit",
      "Show the audit log in plain words: every change to the school's data "
      "and, once the node takes part in queries, every task, decision and "
      "what left the school.");
  add_common(audit, true, false);
  audit->add_flag("--json", audit_json, "Machine-readable output");
  audit->require_subcommand(0, 1);
  auto* audit_verify = audit->add_subcommand(
      "verify",
      "Check that no entry of the audit log was edited, removed, inserted "
      "or reordered (exit code 1 if one was).");
  add_common(audit_verify, true, false);

  EnrollFlags enr;
  auto* enroll = app.add_subcommand(
      "enroll",
      "Register this node with the coordinator using the one-time code from "
      "its operator; writes node.yaml (after `init`).");
  add_common(enroll, true, false);
  enroll->add_option("--coordinator", enr.coordinator,
                     "Coordinator address, host:port");
  enroll->add_option("--code", enr.code, "One-time enrollment code")
      ->required();
  enroll->add_option("--ca", enr.ca,
                     "The coordinator's CA certificate (PEM), for TLS");
  enroll->add_flag("--insecure-loopback", enr.insecure_loopback,
                   "Plaintext, only to a coordinator on this machine");
  enroll
      ->add_option("--approver-key", enr.approver_keys,
                   "Public key (file or text) of an approver this school "
                   "trusts; repeat for each")
      ->required();
  enroll->add_option("--municipality-key", enr.municipality_keys,
                     "Key of your municipality's user whose own approval is "
                     "enough for its queries about your municipality only "
                     "(pre-approval); repeat for each");
  enroll
      ->add_option("--approvals-required", enr.approvals_required,
                   "How many of those approvers must sign a query")
      ->check(CLI::Range(1u, 100u));

  bool pending_json = false;
  auto* pending = app.add_subcommand(
      "pending", "List queries waiting for your decision (manual_accept).");
  add_common(pending, false, false);
  pending->add_flag("--json", pending_json, "Machine-readable output");
  std::string decide_id, decline_reason;
  auto* accept = app.add_subcommand("accept", "Take part in a waiting query.");
  add_common(accept, false, false);
  accept->add_option("id", decide_id, "Query id (see `pending`)")->required();
  auto* decline = app.add_subcommand(
      "decline", "Decline a waiting query; the reason goes to the requester.");
  add_common(decline, false, false);
  decline->add_option("id", decide_id, "Query id (see `pending`)")->required();
  decline->add_option("--reason", decline_reason, "Why (one line)");

  auto* run = app.add_subcommand(
      "run",
      "Connect to the coordinator and take part in approved queries that "
      "this school's policy allows (node.yaml). Runs until stopped.");
  add_common(run, true, false);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; usage errors exit 2.
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  if (*init) return RunInit(c, special);
  if (*import) return RunImport(c, imp);
  if (*status) return RunStatus(c, status_json);
  if (*erase) return RunErase(c, erase_pupil, erase_wave, erase_yes);
  if (*readmit) return RunReadmit(c, readmit_pupil);
  if (*rotate) return RunRotate(c, new_key_file);
  if (*synth) return RunSynth(c, syn);
  if (*preview) return RunPreview(c, prev);
  if (*enroll) return RunEnroll(c, enr);
  if (*run) return RunAgent(c);
  if (*pending) return RunPending(c, pending_json);
  if (*accept) return RunDecide(c, decide_id, true, "");
  if (*decline) return RunDecide(c, decide_id, false, decline_reason);
  if (*audit)
    return RunAudit(c, audit_json, /*verify_only=*/audit_verify->parsed());
  return kExitUsage;
}

}  // namespace
}  // namespace kring::node

int main(int argc, char** argv) { return kring::node::Main(argc, argv); }
