// `kring-coordinator serve`: the coordinator service.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "cli/support.h"
#include "cli/systemd.h"
#include "coordinator/cli/commands.h"
#include "coordinator/db.h"
#include "coordinator/db_lease.h"
#include "coordinator/server.h"
#include "query/release.h"
#include "storage/database.h"
#include "util/file.h"
#include "util/str_cat.h"

namespace kring::coordinator {
namespace {

using cli::kExitOk;

extern "C" void StopServer(int) {
  // Shutdown from a signal handler is not safe; let Wait() return by
  // exiting the process after a short grace (the database is in WAL mode
  // and every change is committed).
  std::_Exit(0);
}

struct ServeFlags {
  ServerOptions server;
  EngineOptions engine;
  std::string policy_file;
  std::string port_file;
  double decision_seconds = 20;
  double round_seconds = 30;
  double hello_seconds = 10;
  double keepalive_seconds = 30;
  uint32_t approvals = 1;
  double failover_poll_seconds = 0.5;
  bool check_config = false;
};

// The server's options as the flags give them.
ServerOptions ServerOptionsFor(const ServeFlags& f) {
  ServerOptions server = f.server;
  server.hello_deadline =
      std::chrono::milliseconds(static_cast<int64_t>(f.hello_seconds * 1000));
  server.keepalive_time = std::chrono::milliseconds(
      static_cast<int64_t>(f.keepalive_seconds * 1000));
  server.keepalive_timeout =
      std::min(server.keepalive_time, server.keepalive_timeout);
  return server;
}

// The engine's options as the flags give them (reading --policy).
absl::StatusOr<EngineOptions> EngineOptionsFor(const ServeFlags& f) {
  EngineOptions engine = f.engine;
  engine.approvals_required = f.approvals;
  engine.decision_window = std::chrono::milliseconds(
      static_cast<int64_t>(f.decision_seconds * 1000));
  engine.round_deadline =
      std::chrono::milliseconds(static_cast<int64_t>(f.round_seconds * 1000));
  if (!f.policy_file.empty()) {
    auto text = ReadFileToString(f.policy_file);
    if (!text.ok()) return text.status();
    auto policy = query::ParsePolicyJson(*text);
    if (!policy.ok()) return policy.status();
    engine.policy = *policy;
  }
  return engine;
}

// Takes the data directory's serve lock for the life of the process: one
// `serve` per directory, and only the holder recovers interrupted runs.
// The descriptor is left open on purpose (the lock ends with the process).
absl::Status TakeServeLock(const std::string& data_dir) {
  const std::string path = data_dir + "/serve.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return absl::FailedPreconditionError(
        StrCat("another kring-coordinator serve is running on ", data_dir,
               "; stop it first (offline commands such as add-user and "
               "enroll-code may run beside it)"));
  }
  return absl::OkStatus();
}

// Runs the engine over `db` and serves until stopped.
int ServeOn(std::unique_ptr<CoordinatorDb> db, const ServeFlags& f,
            const ServeHook& hook) {
  auto options = EngineOptionsFor(f);
  if (!options.ok()) return Fail(options.status());
  auto eng = Engine::Create(std::move(db), *std::move(options));
  if (!eng.ok()) return Fail(eng.status());
  ServerOptions server = ServerOptionsFor(f);
  if (hook) hook(**eng, server);
  auto s = Server::Start(eng->get(), server);
  if (!s.ok()) return Fail(s.status());
  if (!f.port_file.empty()) {
    std::ofstream(f.port_file) << (*s)->port() << "\n";
  }
  std::cerr << "kring-coordinator: serving on port " << (*s)->port()
            << (server.tls_cert_file.empty() ? " (plaintext, loopback)"
                                             : " (TLS)")
            << "\n";
  std::signal(SIGINT, StopServer);
  std::signal(SIGTERM, StopServer);
  // Under systemd (Type=notify): ready once it listens.
  cli::NotifyReady(StrCat("serving on port ", (*s)->port()));
  auto watchdog = cli::Watchdog::Start([] { return true; });
  (*s)->Wait();
  return kExitOk;
}

// With PostgreSQL: waits (as the standby) until this process holds the
// active coordinator's lock, then watches it for the life of the process;
// losing it ends the process (exit code 1) so that two coordinators are
// never active for longer than a watch interval.
absl::Status BecomeActive(const Common& c, const ServeFlags& f) {
  if (absl::Status s = TakeServeLock(c.data_dir); !s.ok()) return s;
  const std::string where = storage::RedactConnectionString(c.database);
  auto lease = ActiveLease::Acquire(
      c.database,
      std::chrono::milliseconds(
          static_cast<int64_t>(f.failover_poll_seconds * 1000)),
      [&] {
        std::cerr << "kring-coordinator: standby: another coordinator is "
                     "active on "
                  << where << "; taking over when it stops\n";
      });
  if (!lease.ok()) return lease.status();
  std::cerr << "kring-coordinator: active on " << where << "\n";
  std::thread([lease = std::shared_ptr<ActiveLease>(*std::move(lease))] {
    for (;;) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      if (absl::Status s = lease->Check(); !s.ok()) {
        std::cerr << "kring-coordinator: " << s.message()
                  << "; stopping (restart it to become the standby)\n";
        std::_Exit(1);
      }
    }
  }).detach();
  return absl::OkStatus();
}

// `serve --check-config` (the units' ExecStartPre): what serve reads before
// it starts — the database, the policy, the TLS files and the transport
// rules — without taking the serve lock, recovering runs or listening.
int CheckServeConfig(const Common& c, const ServeFlags& f) {
  auto db = OpenDb(c, /*create=*/false);
  if (!db.ok()) return Fail(db.status());
  auto options = EngineOptionsFor(f);
  if (!options.ok()) return Fail(options.status());
  if (absl::Status s = Server::CheckOptions(ServerOptionsFor(f)); !s.ok()) {
    return Fail(s);
  }
  std::cout << "kring-coordinator: the configuration is fine (data "
            << c.data_dir << ", listen " << f.server.listen << ", "
            << (f.server.tls_cert_file.empty() ? "plaintext on loopback"
                                               : "TLS")
            << ")\n";
  return kExitOk;
}

int RunServe(const Common& c, const ServeFlags& f, const ServeHook& hook) {
  if (f.check_config) return CheckServeConfig(c, f);
  if (c.database.empty()) {
    auto db = OpenDb(c, /*create=*/false);
    if (!db.ok()) return Fail(db.status());
    if (absl::Status s = TakeServeLock(c.data_dir); !s.ok()) return Fail(s);
    return ServeOn(*std::move(db), f, hook);
  }
  std::error_code ec;
  if (!std::filesystem::exists(c.data_dir + "/audit.key", ec)) {
    return Fail(absl::NotFoundError(StrCat(
        "no audit.key in ", c.data_dir,
        ": run `kring-coordinator init --data-dir ... --database ...` for a "
        "new coordinator, or copy the data directory (audit.key) of the "
        "first coordinator on this database for a standby")));
  }
  if (absl::Status s = BecomeActive(c, f); !s.ok()) return Fail(s);
  auto db = OpenDb(c, /*create=*/false);
  if (!db.ok()) return Fail(db.status());
  return ServeOn(*std::move(db), f, hook);
}

}  // namespace

void AddServeCommand(CLI::App& app, Common& c, cli::Command& chosen,
                     ServeHook hook) {
  auto f = std::make_shared<ServeFlags>();
  auto* serve = app.add_subcommand("serve", "Run the coordinator service.");
  AddCommonOptions(*serve, c);
  serve->add_option("--listen", f->server.listen, "host:port to listen on");
  serve->add_option("--tls-cert", f->server.tls_cert_file,
                    "Server certificate (PEM), e.g. from deploy/dev-ca.sh");
  serve->add_option("--tls-key", f->server.tls_key_file, "Server key (PEM)");
  serve->add_flag("--insecure-loopback", f->server.insecure_loopback,
                  "Plaintext on a loopback address (tests and demos only)");
  serve
      ->add_option("--approvals-required", f->approvals,
                   "Approver signatures each query needs")
      ->check(CLI::Range(1u, 100u));
  serve->add_flag("--municipality-preapproval",
                  f->engine.municipality_preapproval,
                  "A municipality's query about its own municipalities runs "
                  "on its own signature (`kring query approve` by the "
                  "municipality); schools must trust its key");
  serve->add_option("--policy", f->policy_file,
                    "Disclosure policy (JSON; can only tighten the "
                    "defaults of 10 respondents, 3 schools, base 5)");
  serve
      ->add_option("--hello-seconds", f->hello_seconds,
                   "A node stream without a valid hello by then is closed")
      ->check(CLI::Range(0.1, 3600.0));
  serve
      ->add_option("--keepalive-seconds", f->keepalive_seconds,
                   "Ping each connection after this much silence; one that "
                   "does not answer (within 10 s at most) is closed, and its "
                   "school may connect again")
      ->check(CLI::Range(1.0, 3600.0));
  serve->add_option("--decision-seconds", f->decision_seconds,
                    "How long schools have to accept or decline a query");
  serve
      ->add_option("--round-seconds", f->round_seconds,
                   "Deadline of each secure-aggregation round (at most 300: "
                   "a school keeps a run it lost touch with for 10 minutes)")
      ->check(CLI::Range(0.1, 300.0));
  serve
      ->add_option("--failover-poll-seconds", f->failover_poll_seconds,
                   "With --database postgresql://...: how often a standby "
                   "asks whether the active coordinator's lock is free")
      ->check(CLI::Range(0.05, 60.0));
  serve->add_option("--port-file", f->port_file,
                    "Write the port actually bound to this file");
  serve->add_flag("--check-config", f->check_config,
                  "Only check what serve would read (database, policy, TLS "
                  "files, listen address) and exit: 0 when it would start");
  serve->callback([&c, f, &chosen, hook] {
    chosen = [&c, f, hook] { return RunServe(c, *f, hook); };
  });
}

}  // namespace kring::coordinator
