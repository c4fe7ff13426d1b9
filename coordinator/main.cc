// kring-coordinator: the service that schools' nodes connect to and
// requesters query. It never sees a school's numbers: it relays encrypted
// secure-aggregation messages and decodes only sums over schools, which it
// checks for disclosure before releasing them to the requester.

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>

#include "CLI/CLI.hpp"
#include "coordinator/db.h"
#include "coordinator/engine.h"
#include "coordinator/server.h"
#include "crypto/identity.h"
#include "query/release.h"
#include "util/file.h"
#include "util/str_cat.h"

namespace kring::coordinator {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitProblem = 1;

int Fail(const absl::Status& s) {
  std::cerr << "kring-coordinator: " << ToStd(s.message()) << "\n";
  return kExitProblem;
}

std::atomic<Server*> running{nullptr};
extern "C" void StopServer(int) {
  // Shutdown from a signal handler is not safe; let Wait() return by
  // exiting the process after a short grace (the database is in WAL mode
  // and every change is committed).
  std::_Exit(0);
}

v1::Role ParseRole(const std::string& r) {
  if (r == "researcher") return v1::ROLE_RESEARCHER;
  if (r == "municipality") return v1::ROLE_MUNICIPALITY;
  if (r == "approver") return v1::ROLE_APPROVER;
  if (r == "admin") return v1::ROLE_ADMIN;
  return v1::ROLE_UNSPECIFIED;
}

int Main(int argc, char** argv) {
  CLI::App app{
      "kring-coordinator runs kring's coordinator: school nodes connect to "
      "it, requesters submit queries, approvers approve them, and it "
      "computes results by secure aggregation over the schools, releasing "
      "only disclosure-checked sums. Start with `init`, register an admin "
      "with `add-user`, then `serve`."};
  app.require_subcommand(1);
  std::string data_dir = "kring-coordinator-data";
  auto dir_option = [&](CLI::App* sub) {
    sub->add_option("--data-dir", data_dir,
                    "Directory holding coordinator.db (default "
                    "./kring-coordinator-data)");
  };

  auto* init = app.add_subcommand("init", "Create a new coordinator.");
  dir_option(init);

  std::string user_id, role, public_key;
  std::vector<std::string> municipalities;
  auto* add_user = app.add_subcommand(
      "add-user",
      "Register a user (researcher, municipality, approver, admin) directly "
      "in the database, e.g. the first admin.");
  dir_option(add_user);
  add_user->add_option("--id", user_id, "User id")->required();
  add_user->add_option("--role", role, "Role")
      ->required()
      ->check(
          CLI::IsMember({"researcher", "municipality", "approver", "admin"}));
  add_user
      ->add_option("--public-key", public_key,
                   "The user's public key: file (from `kring keygen`) "
                   "or text")
      ->required();
  add_user->add_option("--municipality", municipalities,
                       "For municipality users: their CBS codes");

  std::string brin, name, municipality;
  auto* code = app.add_subcommand(
      "enroll-code", "Create a one-time enrollment code for a school.");
  dir_option(code);
  code->add_option("--brin", brin, "The school's BRIN code")->required();
  code->add_option("--name", name, "The school's name")->required();
  code->add_option("--municipality", municipality, "CBS code, e.g. GM0363")
      ->required();

  ServerOptions server;
  EngineOptions engine;
  std::string policy_file, port_file;
  double decision_seconds = 20, round_seconds = 30;
  uint32_t approvals = 1;
  auto* serve = app.add_subcommand("serve", "Run the coordinator service.");
  dir_option(serve);
  serve->add_option("--listen", server.listen, "host:port to listen on");
  serve->add_option("--tls-cert", server.tls_cert_file,
                    "Server certificate (PEM), e.g. from deploy/dev-ca.sh");
  serve->add_option("--tls-key", server.tls_key_file, "Server key (PEM)");
  serve->add_flag("--insecure-loopback", server.insecure_loopback,
                  "Plaintext on a loopback address (tests and demos only)");
  serve
      ->add_option("--approvals-required", approvals,
                   "Approver signatures each query needs")
      ->check(CLI::Range(1u, 100u));
  serve->add_flag("--municipality-preapproval", engine.municipality_preapproval,
                  "A municipality's query about its own municipalities runs "
                  "on its own signature (`kring query approve` by the "
                  "municipality); schools must trust its key");
  serve->add_option("--policy", policy_file,
                    "Disclosure policy (JSON; can only tighten the "
                    "defaults of 10 respondents, 3 schools, base 5)");
  serve->add_option("--decision-seconds", decision_seconds,
                    "How long schools have to accept or decline a query");
  serve
      ->add_option("--round-seconds", round_seconds,
                   "Deadline of each secure-aggregation round (at most 300: "
                   "a school keeps a run it lost touch with for 10 minutes)")
      ->check(CLI::Range(0.1, 300.0));
  serve->add_option("--port-file", port_file,
                    "Write the port actually bound to this file");

  bool verify = false;
  auto* audit =
      app.add_subcommand("audit", "Show the coordinator's audit log.");
  dir_option(audit);
  audit->add_flag("--verify", verify, "Check the log's hash chain");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; usage errors exit 2.
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (*init) {
    auto db = CoordinatorDb::Open(data_dir, /*create=*/true);
    if (!db.ok()) return Fail(db.status());
    (void)(*db)->Audit("init", "coordinator created");
    std::cout << "Created a kring coordinator in " << data_dir
              << ".\nNext: `kring keygen` for the first admin, then "
                 "`kring-coordinator add-user --role admin ...`.\n";
    return kExitOk;
  }
  auto db = CoordinatorDb::Open(data_dir, /*create=*/false);
  if (!db.ok()) return Fail(db.status());
  engine.approvals_required = approvals;
  engine.decision_window =
      std::chrono::milliseconds(static_cast<int64_t>(decision_seconds * 1000));
  engine.round_deadline =
      std::chrono::milliseconds(static_cast<int64_t>(round_seconds * 1000));
  if (!policy_file.empty()) {
    auto text = ReadFileToString(policy_file);
    if (!text.ok()) return Fail(text.status());
    auto policy = query::ParsePolicyJson(*text);
    if (!policy.ok()) return Fail(policy.status());
    engine.policy = *policy;
  }
  auto e = Engine::Create(*std::move(db), engine);
  if (!e.ok()) return Fail(e.status());
  Engine& eng = **e;

  if (*add_user) {
    User u;
    u.user_id = user_id;
    u.role = ParseRole(role);
    auto key = crypto::IdentityPublicKey::FromFileOrText(public_key);
    if (!key.ok()) {
      return Fail(absl::InvalidArgumentError(
          "--public-key is neither a public key file nor key text"));
    }
    u.public_key = std::string(key->bytes());
    u.municipalities = municipalities;
    User operator_user{"(operator)", v1::ROLE_ADMIN, {}, {}};
    auto fp = eng.RegisterUser(operator_user, u);
    if (!fp.ok()) return Fail(fp.status());
    std::cout << "Registered " << role << " " << user_id << "; key fingerprint "
              << *fp << "\n";
    return kExitOk;
  }
  if (*code) {
    School s;
    s.brin = brin;
    s.name = name;
    s.municipality = municipality;
    auto c = eng.NewEnrollmentCode(s);
    if (!c.ok()) return Fail(c.status());
    std::cout << c->code() << "\n";
    std::cerr << "One-time enrollment code for " << name << " (" << brin << ", "
              << municipality
              << "). Give it to the school's IT; it is used with "
                 "`kring-node enroll --code ...`.\n";
    return kExitOk;
  }
  if (*audit) {
    if (verify) {
      if (auto s = eng.db().VerifyAudit(); !s.ok()) return Fail(s);
      std::cout << "The coordinator's audit log is intact.\n";
      return kExitOk;
    }
    auto log = eng.db().AuditLog();
    if (!log.ok()) return Fail(log.status());
    for (const AuditRecord& r : *log) {
      std::cout << r.seq << "  " << r.kind << "  " << r.summary << "\n";
    }
    return kExitOk;
  }
  if (*serve) {
    auto s = Server::Start(&eng, server);
    if (!s.ok()) return Fail(s.status());
    if (!port_file.empty()) {
      std::ofstream(port_file) << (*s)->port() << "\n";
    }
    std::cerr << "kring-coordinator: serving on port " << (*s)->port()
              << (server.tls_cert_file.empty() ? " (plaintext, loopback)"
                                               : " (TLS)")
              << "\n";
    running = s->get();
    std::signal(SIGINT, StopServer);
    std::signal(SIGTERM, StopServer);
    (*s)->Wait();
    return kExitOk;
  }
  return kExitOk;
}

}  // namespace
}  // namespace kring::coordinator

int main(int argc, char** argv) { return kring::coordinator::Main(argc, argv); }
