// `kring-node audit` and `audit verify`: the node's audit log in plain
// words, and the check that nobody changed it.

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/support.h"
#include "nlohmann/json.hpp"
#include "node/cli/commands.h"
#include "util/str_cat.h"

namespace kring::node {
namespace {

using cli::kExitFailed;
using cli::kExitOk;
using cli::LocalTimestamp;
using cli::OneLine;

constexpr const char* kTamperAdvice =
    "Keep audit.db as it is (it is evidence), compare it with a backup, and "
    "find out who could write to the data directory.\n";

std::string IntactLine(const std::vector<AuditEntry>& entries) {
  if (entries.empty()) return "The audit log is intact: no entries yet.";
  return StrCat("The audit log is intact: ", entries.size(),
                entries.size() == 1 ? " entry" : " entries", ", the last on ",
                LocalTimestamp(entries.back().unix_time), ".");
}

// Says on stderr that the log does not verify; returns kExitFailed.
int NotIntact(const absl::Status& verified) {
  std::cerr << "kring-node: the audit log is NOT intact: "
            << ToStd(verified.message()) << "\n"
            << kTamperAdvice;
  return kExitFailed;
}

int PrintAuditJson(const AuditLog& log, const std::vector<AuditEntry>& entries,
                   const absl::Status& verified) {
  nlohmann::ordered_json out;
  out["audit_log"] = log.path().string();
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const AuditEntry& e : entries) {
    nlohmann::ordered_json fields = nlohmann::ordered_json::object();
    for (const auto& [name, value] : e.fields) fields[name] = value;
    list.push_back({{"seq", e.seq},
                    {"time", LocalTimestamp(e.unix_time)},
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
  return verified.ok() ? kExitOk : kExitFailed;
}

int PrintAuditText(const Common& c, const std::vector<AuditEntry>& entries,
                   const absl::Status& verified) {
  std::cout << "Audit log of the kring node store in " << c.data_dir
            << " (times are local):\n";
  for (const AuditEntry& e : entries) {
    std::cout << "\n#" << e.seq << "  " << LocalTimestamp(e.unix_time) << "  "
              << OneLine(e.summary) << "\n";
    for (const auto& [name, value] : e.fields) {
      std::cout << "      " << OneLine(name) << ": " << OneLine(value) << "\n";
    }
  }
  std::cout << "\n";
  if (!verified.ok()) return NotIntact(verified);
  std::cout << IntactLine(entries) << "\n";
  return kExitOk;
}

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
  if (verify_only) {
    if (!verified.ok()) return NotIntact(verified);
    std::cout << IntactLine(*entries) << "\n";
    return kExitOk;
  }
  if (json) return PrintAuditJson(*log, *entries, verified);
  return PrintAuditText(c, *entries, verified);
}

}  // namespace

void AddAuditCommand(CLI::App& app, cli::Command& chosen) {
  auto json = std::make_shared<bool>(false);
  auto* audit = app.add_subcommand(
      "audit",
      "Show the audit log in plain words: every change to the school's data "
      "and, once the node takes part in queries, every task, decision and "
      "what left the school.");
  auto c =
      AddCommonOptions(*audit, /*with_key=*/true, /*with_instrument=*/false);
  audit->add_flag("--json", *json, "Machine-readable output");
  audit->require_subcommand(0, 1);
  auto* verify = audit->add_subcommand(
      "verify",
      "Check that no entry of the audit log was edited, removed, inserted "
      "or reordered (exit code 1 if one was).");
  AddNestedCommonOptions(*verify, *c, /*with_key=*/true,
                         /*with_instrument=*/false);
  // `verify` has no callback of its own: `audit`'s runs after it was parsed.
  audit->callback([c, json, verify, &chosen] {
    chosen = [c, json, verify_only = verify->parsed()] {
      return RunAudit(*c, *json, verify_only);
    };
  });
}

}  // namespace kring::node
