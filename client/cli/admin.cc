// `kring admin enroll-code|add-user|nodes|grant`: the coordinator
// administrator's commands.

#include <iostream>
#include <memory>
#include <optional>

#include "cli/support.h"
#include "client/cli/commands.h"
#include "client/cli/output.h"
#include "crypto/identity.h"
#include "util/str_cat.h"

namespace kring::client {
namespace {

using cli::kExitOk;
using cli::LocalMinute;
using cli::OneLine;
using cli::UtcTimestamp;

int RunEnrollCode(const Global& g, const std::string& brin,
                  const std::string& name, const std::string& municipality,
                  bool json) {
  std::optional<Connection> conn;
  if (int rc = SignIn(g, conn); rc != kExitOk) return rc;
  v1::CreateEnrollmentCodeRequest req;
  req.set_brin(brin);
  req.set_school_name(name);
  req.set_municipality(municipality);
  auto resp = conn->Call(&Stub::CreateEnrollmentCode, std::move(req));
  if (!resp.ok()) return Fail(resp.status());
  if (json) {
    PrintJson({{"code", resp->code()},
               {"expires", UtcTimestamp(resp->expires_unix_millis())}});
    return kExitOk;
  }
  std::cout << "Enrollment code for " << OneLine(name) << " (" << OneLine(brin)
            << ", " << OneLine(municipality) << "):\n  "
            << OneLine(resp->code()) << "\n"
            << "It works once, until "
            << LocalMinute(resp->expires_unix_millis())
            << ". Give it to the school's IT over a channel you trust; they "
               "enroll their node with it, and you confirm the node's key "
               "fingerprint with them by phone (`kring admin nodes`).\n";
  return kExitOk;
}

struct AddUserFlags {
  std::string id;
  std::string role;
  std::string public_key;
  std::vector<std::string> municipalities;
};

int RunAddUser(const Global& g, const AddUserFlags& f) {
  const v1::Role role = f.role == "researcher"     ? v1::ROLE_RESEARCHER
                        : f.role == "municipality" ? v1::ROLE_MUNICIPALITY
                        : f.role == "approver"     ? v1::ROLE_APPROVER
                                                   : v1::ROLE_ADMIN;
  if (role == v1::ROLE_MUNICIPALITY && f.municipalities.empty()) {
    return Usage(
        "a municipality user needs its municipalities: --municipality "
        "GMxxxx (once per code)");
  }
  if (role != v1::ROLE_MUNICIPALITY && !f.municipalities.empty()) {
    return Usage("--municipality is only for --role municipality");
  }
  auto key = crypto::IdentityPublicKey::FromFileOrText(f.public_key);
  if (!key.ok()) {
    return Fail(absl::InvalidArgumentError(StrCat(
        "--public-key ", f.public_key, ": ", ToStd(key.status().message()),
        " (give the .pub file or the text `kring keygen` printed)")));
  }
  std::optional<Connection> conn;
  if (int rc = SignIn(g, conn); rc != kExitOk) return rc;
  v1::RegisterUserRequest req;
  req.set_user_id(f.id);
  req.set_role(role);
  req.set_public_key(std::string(key->bytes()));
  for (const auto& m : f.municipalities) req.add_municipalities(m);
  auto resp = conn->Call(&Stub::RegisterUser, std::move(req));
  if (!resp.ok()) return Fail(resp.status());
  if (resp->fingerprint() != key->Fingerprint()) {
    return Fail(absl::InternalError(StrCat(
        "registered ", f.id, ", but the coordinator reports key fingerprint ",
        resp->fingerprint(), " instead of ", key->Fingerprint(),
        "; tell the coordinator's operator")));
  }
  std::cout << "Registered " << OneLine(f.id) << " as " << f.role;
  for (const auto& m : f.municipalities) std::cout << " " << OneLine(m);
  std::cout << ".\nKey fingerprint: " << key->Fingerprint()
            << "\nConfirm it with " << OneLine(f.id)
            << " (by phone or in person) before they rely on it.\n";
  return kExitOk;
}

nlohmann::ordered_json NodeJson(const v1::NodeInfo& n) {
  nlohmann::ordered_json events = nlohmann::ordered_json::array();
  for (const v1::NodeEvent& e : n.events()) {
    events.push_back(
        {{"at", UtcTimestamp(e.unix_millis())}, {"what", e.what()}});
  }
  return {{"school_id", n.school_id()},
          {"brin", n.brin()},
          {"school_name", n.school_name()},
          {"municipality", n.municipality()},
          {"connected", n.connected()},
          {"last_seen",
           n.last_seen_unix_millis() > 0
               ? nlohmann::ordered_json(UtcTimestamp(n.last_seen_unix_millis()))
               : nlohmann::ordered_json(nullptr)},
          {"version", n.version()},
          {"fingerprint", n.fingerprint()},
          {"events", events}};
}

// The newest event about a school's link or runs, e.g. "14:02 disconnected".
std::string LastEvent(const v1::NodeInfo& n) {
  if (n.events().empty()) return "";
  const v1::NodeEvent& e = *n.events().rbegin();
  return StrCat(LocalMinute(e.unix_millis()), " ", e.what());
}

int RunNodes(const Global& g, bool json) {
  std::optional<Connection> conn;
  if (int rc = SignIn(g, conn); rc != kExitOk) return rc;
  auto resp = conn->Call(&Stub::ListNodes, v1::ListNodesRequest());
  if (!resp.ok()) return Fail(resp.status());
  if (json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& n : resp->nodes()) list.push_back(NodeJson(n));
    PrintJson(list);
    return kExitOk;
  }
  if (resp->nodes().empty()) {
    std::cout << "No schools enrolled yet (`kring admin enroll-code`).\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"SCHOOL", "BRIN", "NAME", "MUNICIPALITY", "CONNECTED", "LAST SEEN",
       "VERSION", "FINGERPRINT", "LAST EVENT"}};
  int connected = 0;
  for (const auto& n : resp->nodes()) {
    connected += n.connected();
    rows.push_back({n.school_id(), n.brin(), n.school_name(), n.municipality(),
                    n.connected() ? "yes" : "no",
                    LocalMinute(n.last_seen_unix_millis()), n.version(),
                    n.fingerprint(), LastEvent(n)});
  }
  PrintTable(rows);
  std::cout << Schools(resp->nodes_size()) << ", " << connected
            << " connected now.\n";
  return kExitOk;
}

int RunGrant(const Global& g, const std::string& query_id,
             const std::string& user_id) {
  std::optional<Connection> conn;
  if (int rc = SignIn(g, conn); rc != kExitOk) return rc;
  v1::GrantResultRequest req;
  req.set_query_id(query_id);
  req.set_user_id(user_id);
  auto resp = conn->Call(&Stub::GrantResult, std::move(req));
  if (!resp.ok()) return Fail(resp.status());
  std::cout << OneLine(user_id) << " may now read the results of "
            << OneLine(query_id) << ".\n";
  return kExitOk;
}

// ---- Registration ----------------------------------------------------------

void AddEnrollCode(CLI::App& admin, const Global& g, Command& chosen) {
  struct Flags {
    std::string brin, name, municipality;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  auto* enroll = admin.add_subcommand(
      "enroll-code", "A one-time code with which a school's node enrolls.");
  enroll->add_option("--brin", f->brin, "The school's BRIN, e.g. 00AA")
      ->required();
  enroll->add_option("--name", f->name, "The school's name")->required();
  enroll
      ->add_option("--municipality", f->municipality,
                   "The school's municipality (CBS code), e.g. GM0363")
      ->required();
  enroll->add_flag("--json", f->json, "Machine-readable output");
  enroll->callback([f, &g, &chosen] {
    chosen = [f, &g] {
      return RunEnrollCode(g, f->brin, f->name, f->municipality, f->json);
    };
  });
}

void AddAddUser(CLI::App& admin, const Global& g, Command& chosen) {
  auto f = std::make_shared<AddUserFlags>();
  auto* add_user = admin.add_subcommand(
      "add-user", "Register a user with a role and their public key.");
  add_user->add_option("--id", f->id, "The new user's id")->required();
  add_user
      ->add_option("--role", f->role,
                   "researcher, municipality, approver or admin")
      ->required()
      ->check(
          CLI::IsMember({"researcher", "municipality", "approver", "admin"}));
  add_user
      ->add_option("--public-key", f->public_key,
                   "Their FILE.pub from `kring keygen`, or the key text "
                   "(kring-ed25519-public-v1:...)")
      ->required();
  add_user->add_option("--municipality", f->municipalities,
                       "For --role municipality: a municipality (CBS code) "
                       "it may query; repeat for several");
  add_user->callback(
      [f, &g, &chosen] { chosen = [f, &g] { return RunAddUser(g, *f); }; });
}

void AddNodesGrant(CLI::App& admin, const Global& g, Command& chosen) {
  struct Flags {
    bool nodes_json = false;
    std::string grant_query, grant_user;
  };
  auto f = std::make_shared<Flags>();
  auto* nodes = admin.add_subcommand(
      "nodes",
      "The enrolled schools' nodes: connected, last seen, key "
      "fingerprint.");
  nodes->add_flag("--json", f->nodes_json, "Machine-readable output");
  nodes->callback([f, &g, &chosen] {
    chosen = [f, &g] { return RunNodes(g, f->nodes_json); };
  });

  auto* grant = admin.add_subcommand(
      "grant", "Let another user read the results of a query.");
  grant->add_option("--query", f->grant_query, "Query id")->required();
  grant
      ->add_option("--user", f->grant_user,
                   "The user who may read them (your own id goes before "
                   "`admin`: kring --user ME admin grant ...)")
      ->required();
  grant->callback([f, &g, &chosen] {
    chosen = [f, &g] { return RunGrant(g, f->grant_query, f->grant_user); };
  });
}

}  // namespace

void AddAdminCommands(CLI::App& app, const Global& g, Command& chosen) {
  auto* admin = app.add_subcommand(
      "admin", "Coordinator administrators: schools, users and access.");
  admin->require_subcommand(1);
  AddEnrollCode(*admin, g, chosen);
  AddAddUser(*admin, g, chosen);
  AddNodesGrant(*admin, g, chosen);
}

}  // namespace kring::client
