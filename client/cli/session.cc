#include "client/cli/session.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/support.h"
#include "crypto/identity.h"
#include "util/str_cat.h"

namespace kring::client {

constexpr std::string_view kProgram = "kring";

void AddGlobalOptions(CLI::App& app, Global& g) {
  app.add_option("--coordinator", g.coordinator,
                 "The coordinator's address, HOST:PORT (default "
                 "127.0.0.1:7443)")
      ->envname("KRING_COORDINATOR");
  app.add_option("--user", g.user,
                 "Your user id, as your administrator registered it")
      ->envname("KRING_USER");
  app.add_option("--key", g.key_file,
                 "Your private key file, from `kring keygen`")
      ->envname("KRING_KEY");
  app.add_option("--ca", g.ca_file,
                 "CA certificate (PEM) the coordinator's TLS certificate is "
                 "signed by; default: the system's CAs")
      ->envname("KRING_CA");
  app.add_flag("--insecure-loopback", g.insecure_loopback,
               "No TLS; only for a coordinator on this machine "
               "(127.0.0.1, [::1], localhost), e.g. a demo");
}

int Fail(const absl::Status& s) { return cli::Fail(kProgram, s); }

int Usage(std::string_view message) { return cli::Usage(kProgram, message); }

int SignIn(const Global& g, std::optional<Connection>& out) {
  if (g.user.empty()) {
    return Usage("who are you? give --user ID or set KRING_USER");
  }
  if (g.key_file.empty()) {
    return Usage(
        "no key: give --key FILE or set KRING_KEY (make one with "
        "`kring keygen --out FILE`)");
  }
  api::ChannelOptions options;
  options.address = g.coordinator;
  options.ca_file = g.ca_file;
  options.insecure_loopback = g.insecure_loopback;
  if (absl::Status s = api::CheckTransportPolicy(options); !s.ok()) {
    return Usage(ToStd(s.message()));
  }
  auto key = crypto::IdentityKeyPair::LoadPrivateKeyFile(g.key_file);
  if (!key.ok()) return Fail(key.status());
  auto conn = Connection::Open(options, g.user, *std::move(key));
  if (!conn.ok()) return Fail(conn.status());
  out.emplace(*std::move(conn));
  return cli::kExitOk;
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  std::ostringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot read ", path));
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace kring::client
