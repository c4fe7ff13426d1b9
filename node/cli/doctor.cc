// `kring-node doctor`: one command school IT runs when something is wrong,
// and `kring-node check-config`, which the service runs before it starts
// (ExecStartPre). Each check prints one line, "OK ..." or what to do.

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/auth.h"
#include "cli/support.h"
#include "crypto/identity.h"
#include "nlohmann/json.hpp"
#include "node/cli/commands.h"
#include "node/cli/probe.h"
#include "node/config.h"
#include "util/str_cat.h"

namespace kring::node {
namespace {

// doctor's exit codes, for monitoring.
enum DoctorExit : int { kAllOk = 0, kWarnings = 1, kErrors = 2 };

// Free space on the data directory's file system below which doctor warns,
// and below which imports and the audit log may fail.
constexpr uintmax_t kDiskWarnBytes = uintmax_t{1} << 30;
constexpr uintmax_t kDiskErrorBytes = uintmax_t{100} << 20;
// A clock further off than this from the coordinator's is worth fixing
// before it reaches api::kMaxClockSkewMillis, where hellos are refused.
constexpr int64_t kClockWarnMillis = 30'000;

class Report {
 public:
  enum class Level { kOk, kWarning, kError };
  void Ok(std::string check, std::string text) {
    Add(Level::kOk, std::move(check), std::move(text));
  }
  void Warn(std::string check, std::string text) {
    Add(Level::kWarning, std::move(check), std::move(text));
  }
  void Error(std::string check, std::string text) {
    Add(Level::kError, std::move(check), std::move(text));
  }
  int ExitCode() const {
    int code = kAllOk;
    for (const Line& l : lines_) {
      if (l.level == Level::kError) return kErrors;
      if (l.level == Level::kWarning) code = kWarnings;
    }
    return code;
  }
  void Print(bool json) const;

 private:
  struct Line {
    Level level;
    std::string check;
    std::string text;
  };
  void Add(Level level, std::string check, std::string text) {
    lines_.push_back({level, std::move(check), cli::OneLine(text)});
  }
  static const char* Word(Level l) {
    return l == Level::kOk ? "OK" : l == Level::kWarning ? "WARNING" : "ERROR";
  }
  std::vector<Line> lines_;
};

void Report::Print(bool json) const {
  if (!json) {
    for (const Line& l : lines_) {
      std::cout << Word(l.level) << (l.level == Level::kOk ? "      " : " ")
                << l.check << ": " << l.text << "\n";
    }
    return;
  }
  nlohmann::ordered_json out;
  out["exit_code"] = ExitCode();
  out["checks"] = nlohmann::ordered_json::array();
  for (const Line& l : lines_) {
    out["checks"].push_back(
        {{"check", l.check}, {"level", Word(l.level)}, {"text", l.text}});
  }
  std::cout << out.dump(2, ' ', false,
                        nlohmann::ordered_json::error_handler_t::replace)
            << "\n";
}

std::optional<NodeConfig> CheckConfiguration(const Common& c, Report& r) {
  const auto file = std::filesystem::path(c.data_dir) / "node.yaml";
  auto config = NodeConfig::Load(file);
  if (config.ok()) {
    r.Ok("configuration",
         StrCat(file.string(), " is valid (school ", config->school_id,
                ", coordinator ", config->coordinator, ")"));
    return *std::move(config);
  }
  if (absl::IsNotFound(config.status())) {
    r.Error("configuration",
            StrCat("this node is not enrolled (no ", file.string(),
                   "): ask the coordinator's operator for an enrollment "
                   "code and run `kring-node enroll`"));
  } else {
    r.Error("configuration",
            StrCat(ToStd(config.status().message()),
                   " — fix node.yaml (docs/install.md shows one), then run "
                   "`kring-node check-config`"));
  }
  return std::nullopt;
}

std::optional<crypto::IdentityKeyPair> CheckIdentity(const Common& c,
                                                     const NodeConfig& config,
                                                     Report& r) {
  const auto file = std::filesystem::path(c.data_dir) / config.identity_key;
  auto identity = crypto::IdentityKeyPair::LoadPrivateKeyFile(file);
  if (!identity.ok()) {
    r.Error("identity",
            StrCat("cannot load the node's identity key: ",
                   ToStd(identity.status().message()),
                   " — restore it from a backup, or enroll again with a new "
                   "code from the coordinator's operator"));
    return std::nullopt;
  }
  r.Ok("identity", StrCat("key ", file.string(), ", fingerprint ",
                          identity->public_key().Fingerprint()));
  return *std::move(identity);
}

std::optional<Store> CheckStore(const Common& c, Report& r) {
  auto store = OpenStore(c);
  if (!store.ok()) {
    r.Error("store",
            StrCat("cannot unlock the store in ", c.data_dir, ": ",
                   ToStd(store.status().message()),
                   " — give the right --key-file (the service gets it as "
                   "the store-key credential) or passphrase"));
    return std::nullopt;
  }
  auto count = store->Count();
  r.Ok("store", StrCat("unlocked ", c.data_dir, " (",
                       count.ok() ? Records(*count) : "records not counted",
                       ", schema ", Store::kSchemaVersion, ")"));
  return *std::move(store);
}

void CheckDisk(const Common& c, Report& r) {
  std::error_code ec;
  const auto space = std::filesystem::space(c.data_dir, ec);
  if (ec) {
    r.Warn("disk", StrCat("cannot tell the free space of ", c.data_dir, ": ",
                          ec.message()));
    return;
  }
  const std::string free = StrCat(space.available >> 20,
                                  " MiB free on the "
                                  "data directory's file system");
  if (space.available < kDiskErrorBytes) {
    r.Error("disk", StrCat("only ", free,
                           ": imports and the audit log will fail; free "
                           "space or move the data directory"));
  } else if (space.available < kDiskWarnBytes) {
    r.Warn("disk", StrCat(free, ": free some space soon"));
  } else {
    r.Ok("disk", free);
  }
}

// The audit log's chain, and the last query it records.
void CheckAudit(const Common& c, const Store& store, Report& r) {
  if (!std::filesystem::exists(AuditPath(c))) {
    r.Warn("audit", StrCat("there is no audit log (", AuditPath(c).string(),
                           "); the next change starts one, but changes "
                           "before it are unrecorded — was audit.db "
                           "removed?"));
    return;
  }
  auto log = AuditLog::Open(c.data_dir, store.DeriveSubkey(kAuditPurpose));
  absl::Status verified = log.ok() ? log->Verify() : log.status();
  auto entries = log.ok() ? log->Entries() : log.status();
  if (verified.ok() && !entries.ok()) verified = entries.status();
  if (!verified.ok()) {
    r.Error("audit",
            StrCat("the audit log is NOT intact: ", ToStd(verified.message()),
                   " — keep audit.db as it is (evidence), compare "
                   "it with a backup and find out who could write "
                   "to the data directory"));
    return;
  }
  r.Ok("audit", StrCat("the audit chain verifies (", entries->size(),
                       entries->size() == 1 ? " entry)" : " entries)"));
  for (auto it = entries->rbegin(); it != entries->rend(); ++it) {
    if (it->kind != "task") continue;
    r.Ok("last query",
         StrCat(cli::LocalTimestamp(it->unix_time), ": ", it->summary));
    return;
  }
  r.Ok("last query", "none offered to this node yet");
}

void ReportClock(const CoordinatorProbe& p, Report& r) {
  if (!p.skew_millis) {
    r.Warn("clock",
           "the coordinator did not report its clock (an older "
           "kring-coordinator); keep this server's clock synced "
           "(timedatectl)");
    return;
  }
  const int64_t off = *p.skew_millis < 0 ? -*p.skew_millis : *p.skew_millis;
  const std::string text =
      StrCat("this server's clock is ", off, " ms ",
             *p.skew_millis > 0 ? "behind" : "ahead of",
             " the coordinator's (±", p.skew_uncertainty_millis, " ms)");
  if (off > api::kMaxClockSkewMillis) {
    r.Error("clock", StrCat(text,
                            ": the coordinator refuses this node's "
                            "hellos; turn on time sync (timedatectl "
                            "set-ntp true)"));
  } else if (off > kClockWarnMillis) {
    r.Warn("clock", StrCat(text,
                           ": turn on time sync (timedatectl "
                           "set-ntp true)"));
  } else {
    r.Ok("clock", text);
  }
}

void ReportIdentityAtCoordinator(const NodeConfig& config,
                                 const CoordinatorProbe& p, Report& r) {
  using grpc::StatusCode;
  const StatusCode code = p.call.error_code();
  if (code == StatusCode::ALREADY_EXISTS) {
    r.Ok("enrolled", StrCat("the coordinator accepts school ", config.school_id,
                            "'s identity, and its kring-node run is "
                            "connected"));
  } else if (code == StatusCode::OK) {
    r.Ok("enrolled", StrCat("the coordinator accepts school ", config.school_id,
                            "'s identity"));
    r.Warn("connected",
           "no kring-node run of this school is connected: "
           "start it (systemctl start kring-node) and see "
           "`journalctl -u kring-node`");
  } else if (code == StatusCode::UNAUTHENTICATED) {
    r.Error("enrolled",
            StrCat("the coordinator refuses this node's hello: ",
                   p.call.error_message(),
                   " — if the clock is right, this server's identity is not "
                   "the enrolled one: ask the operator for a new enrollment "
                   "code, move node.yaml away and run `kring-node enroll`"));
  } else {
    r.Error("enrolled", StrCat("the coordinator ended the check: ",
                               p.call.error_message()));
  }
}

void CheckCoordinator(const Common& c, const NodeConfig& config,
                      const crypto::IdentityKeyPair& identity,
                      std::chrono::milliseconds timeout, Report& r) {
  const CoordinatorProbe p =
      ProbeCoordinator(config, c.data_dir, identity, timeout);
  if (!p.tcp.ok()) {
    r.Warn("coordinator",
           StrCat(ToStd(p.tcp.message()),
                  " — check the network and firewall (outgoing TCP to ",
                  config.coordinator,
                  "), or ask the operator whether the coordinator is down; "
                  "kring-node run reconnects by itself"));
    return;
  }
  if (!p.stream_opened) {
    r.Error("tls",
            StrCat("TCP reaches ", config.coordinator,
                   " but the secure connection fails: ", p.call.error_message(),
                   " — tls_ca in node.yaml must be the coordinator's "
                   "CA certificate, and the address's host name must "
                   "be in its certificate"));
    return;
  }
  r.Ok("tls", config.insecure_loopback
                  ? StrCat("plaintext to ", config.coordinator,
                           " (insecure_loopback: tests and demos only)")
                  : StrCat("TLS handshake with ", config.coordinator, " ok"));
  ReportClock(p, r);
  ReportIdentityAtCoordinator(config, p, r);
}

struct DoctorFlags {
  bool json = false;
  double timeout_seconds = 10;
};

int RunDoctor(const Common& c, const DoctorFlags& f) {
  Report r;
  std::optional<NodeConfig> config = CheckConfiguration(c, r);
  std::optional<crypto::IdentityKeyPair> identity;
  if (config) identity = CheckIdentity(c, *config, r);
  std::optional<Store> store = CheckStore(c, r);
  CheckDisk(c, r);
  if (store) CheckAudit(c, *store, r);
  if (config && identity) {
    CheckCoordinator(c, *config, *identity,
                     std::chrono::milliseconds(
                         static_cast<int64_t>(f.timeout_seconds * 1000)),
                     r);
  }
  r.Print(f.json);
  return r.ExitCode();
}

// What `kring-node run` needs before it starts: node.yaml, the identity
// and the key that unlocks the store. 0 when it would start, else 2.
int RunCheckConfig(const Common& c) {
  Report r;
  std::optional<NodeConfig> config = CheckConfiguration(c, r);
  if (config) CheckIdentity(c, *config, r);
  CheckStore(c, r);
  r.Print(/*json=*/false);
  return r.ExitCode() == kErrors ? kErrors : kAllOk;
}

}  // namespace

void AddDoctorCommands(CLI::App& app, cli::Command& chosen) {
  auto f = std::make_shared<DoctorFlags>();
  auto* doctor = app.add_subcommand(
      "doctor",
      "Check everything a working node needs: store and key, node.yaml, "
      "disk space, the audit chain, the last query, and at the coordinator "
      "the TLS handshake, the clock and this node's enrolled identity. One "
      "line per check, OK or what to do. Exit code 0 all OK, 1 warnings, 2 "
      "errors (for monitoring).");
  auto c = AddCommonOptions(*doctor, /*with_key=*/true,
                            /*with_instrument=*/false);
  doctor->add_flag("--json", f->json, "Machine-readable output");
  doctor
      ->add_option("--timeout-seconds", f->timeout_seconds,
                   "How long to wait for the coordinator")
      ->check(CLI::Range(0.1, 300.0));
  doctor->callback(
      [c, f, &chosen] { chosen = [c, f] { return RunDoctor(*c, *f); }; });

  auto* check = app.add_subcommand(
      "check-config",
      "Check that `kring-node run` would start: node.yaml, the identity "
      "key and the store's key (the service runs this first). Exit code 0 "
      "or 2.");
  auto cc =
      AddCommonOptions(*check, /*with_key=*/true, /*with_instrument=*/false);
  check->callback(
      [cc, &chosen] { chosen = [cc] { return RunCheckConfig(*cc); }; });
}

}  // namespace kring::node
