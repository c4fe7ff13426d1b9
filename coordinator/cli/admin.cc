// `kring-coordinator init`, `add-user` and `enroll-code`: setting up the
// coordinator on its own machine (the first admin, schools' codes).

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/support.h"
#include "coordinator/cli/commands.h"
#include "coordinator/db.h"
#include "crypto/identity.h"

namespace kring::coordinator {
namespace {

using cli::kExitOk;

int RunInit(const Common& c) {
  auto db = OpenDb(c, /*create=*/true);
  if (!db.ok()) return Fail(db.status());
  (void)(*db)->Audit("init", "coordinator created");
  std::cout << "Created a kring coordinator in " << c.data_dir
            << ".\nNext: `kring keygen` for the first admin, then "
               "`kring-coordinator add-user --role admin ...`.\n";
  return kExitOk;
}

v1::Role ParseRole(const std::string& r) {
  if (r == "researcher") return v1::ROLE_RESEARCHER;
  if (r == "municipality") return v1::ROLE_MUNICIPALITY;
  if (r == "approver") return v1::ROLE_APPROVER;
  if (r == "admin") return v1::ROLE_ADMIN;
  return v1::ROLE_UNSPECIFIED;
}

struct AddUserFlags {
  std::string id;
  std::string role;
  std::string public_key;
  std::vector<std::string> municipalities;
};

int RunAddUser(const Common& c, const AddUserFlags& f) {
  auto engine = OpenEngine(c);
  if (!engine.ok()) return Fail(engine.status());
  User u;
  u.user_id = f.id;
  u.role = ParseRole(f.role);
  auto key = crypto::IdentityPublicKey::FromFileOrText(f.public_key);
  if (!key.ok()) {
    return Fail(absl::InvalidArgumentError(
        "--public-key is neither a public key file nor key text"));
  }
  u.public_key = std::string(key->bytes());
  u.municipalities = f.municipalities;
  User operator_user{"(operator)", v1::ROLE_ADMIN, {}, {}};
  auto fp = (*engine)->RegisterUser(operator_user, u);
  if (!fp.ok()) return Fail(fp.status());
  std::cout << "Registered " << f.role << " " << f.id << "; key fingerprint "
            << *fp << "\n";
  return kExitOk;
}

int RunEnrollCode(const Common& c, const School& s) {
  auto engine = OpenEngine(c);
  if (!engine.ok()) return Fail(engine.status());
  auto code = (*engine)->NewEnrollmentCode(s);
  if (!code.ok()) return Fail(code.status());
  std::cout << code->code() << "\n";
  std::cerr << "One-time enrollment code for " << s.name << " (" << s.brin
            << ", " << s.municipality
            << "). Give it to the school's IT; it is used with "
               "`kring-node enroll --code ...`.\n";
  return kExitOk;
}

void AddAddUserCommand(CLI::App& app, Common& c, cli::Command& chosen) {
  auto f = std::make_shared<AddUserFlags>();
  auto* add_user = app.add_subcommand(
      "add-user",
      "Register a user (researcher, municipality, approver, admin) directly "
      "in the database, e.g. the first admin.");
  AddCommonOptions(*add_user, c);
  add_user->add_option("--id", f->id, "User id")->required();
  add_user->add_option("--role", f->role, "Role")
      ->required()
      ->check(
          CLI::IsMember({"researcher", "municipality", "approver", "admin"}));
  add_user
      ->add_option("--public-key", f->public_key,
                   "The user's public key: file (from `kring keygen`) "
                   "or text")
      ->required();
  add_user->add_option("--municipality", f->municipalities,
                       "For municipality users: their CBS codes");
  add_user->callback(
      [&c, f, &chosen] { chosen = [&c, f] { return RunAddUser(c, *f); }; });
}

void AddEnrollCodeCommand(CLI::App& app, Common& c, cli::Command& chosen) {
  auto s = std::make_shared<School>();
  auto* code = app.add_subcommand(
      "enroll-code", "Create a one-time enrollment code for a school.");
  AddCommonOptions(*code, c);
  code->add_option("--brin", s->brin, "The school's BRIN code")->required();
  code->add_option("--name", s->name, "The school's name")->required();
  code->add_option("--municipality", s->municipality, "CBS code, e.g. GM0363")
      ->required();
  code->callback(
      [&c, s, &chosen] { chosen = [&c, s] { return RunEnrollCode(c, *s); }; });
}

}  // namespace

void AddAdminCommands(CLI::App& app, Common& c, cli::Command& chosen) {
  auto* init = app.add_subcommand("init", "Create a new coordinator.");
  AddCommonOptions(*init, c);
  init->callback([&c, &chosen] { chosen = [&c] { return RunInit(c); }; });
  AddAddUserCommand(app, c, chosen);
  AddEnrollCodeCommand(app, c, chosen);
}

}  // namespace kring::coordinator
