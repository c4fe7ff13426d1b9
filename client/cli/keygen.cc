// `kring keygen`: the user's key pair.

#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/support.h"
#include "client/cli/commands.h"
#include "crypto/identity.h"
#include "util/str_cat.h"

namespace kring::client {
namespace {

int RunKeygen(const std::string& out) {
  const std::filesystem::path priv(out);
  const std::filesystem::path pub(out + ".pub");
  std::error_code ec;
  if (std::filesystem::exists(priv, ec) || std::filesystem::exists(pub, ec)) {
    return Fail(absl::AlreadyExistsError(
        StrCat(out, " or ", pub.string(),
               " already exists; kring never overwrites a key. Choose "
               "another --out, or move the old files away first")));
  }
  crypto::IdentityKeyPair key = crypto::IdentityKeyPair::Generate();
  if (absl::Status s = key.SavePrivateKeyFile(priv); !s.ok()) return Fail(s);
  if (absl::Status s = key.public_key().SaveFile(pub); !s.ok()) return Fail(s);
  std::cout << "Wrote your private key to " << out
            << " (mode 0600: keep it, never send it to anyone)\n"
            << "and your public key to " << pub.string() << ".\n\n"
            << "Give your coordinator's administrator the user id you want "
               "and this public key:\n  "
            << key.public_key().ToText() << "\n"
            << "Fingerprint, to confirm by phone once you are registered:\n  "
            << key.public_key().Fingerprint() << "\n\n"
            << "Then sign in with --user ID --key " << out
            << " (or set KRING_USER and KRING_KEY).\n";
  return cli::kExitOk;
}

}  // namespace

void AddKeygenCommand(CLI::App& app, Command& chosen) {
  auto out = std::make_shared<std::string>();
  auto* keygen = app.add_subcommand(
      "keygen",
      "Make your key pair: the private key (FILE, only you can read it) and "
      "FILE.pub; prints the public key and fingerprint for your "
      "administrator.");
  keygen->add_option("--out", *out, "Private key file to create")->required();
  keygen->callback(
      [out, &chosen] { chosen = [out] { return RunKeygen(*out); }; });
}

}  // namespace kring::client
