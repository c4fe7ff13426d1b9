#include "node/cli/session.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "cli/support.h"
#include "util/str_cat.h"

namespace kring::node {
namespace {

using crypto::SecretBytes;

constexpr std::string_view kProgram = "kring-node";

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

void AddOptions(CLI::App& sub, Common& c, bool with_key, bool with_instrument,
                bool from_env) {
  CLI::Option* data_dir = sub.add_option(
      "--data-dir", c.data_dir,
      from_env ? "Directory holding the encrypted store (default: "
                 "./kring-node-data)"
               : "Directory holding the encrypted store (default: "
                 "$KRING_NODE_DATA_DIR or ./kring-node-data)");
  if (from_env) data_dir->envname("KRING_NODE_DATA_DIR");
  if (with_key) {
    sub.add_option("--key-file", c.key_file,
                   "Key file protecting the store instead of a passphrase "
                   "(created by init; mode 0600)");
  }
  if (with_instrument) {
    sub.add_option("--instrument", c.instrument_file,
                   "Your own instrument file (YAML, see "
                   "docs/instruments.md); default: kring-belonging-v1");
  }
}

}  // namespace

std::shared_ptr<Common> AddCommonOptions(CLI::App& sub, bool with_key,
                                         bool with_instrument) {
  auto c = std::make_shared<Common>();
  AddOptions(sub, *c, with_key, with_instrument, /*from_env=*/true);
  return c;
}

void AddNestedCommonOptions(CLI::App& sub, Common& c, bool with_key,
                            bool with_instrument) {
  AddOptions(sub, c, with_key, with_instrument, /*from_env=*/false);
}

int Fail(const absl::Status& s) { return cli::Fail(kProgram, s); }

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
  if (std::optional<std::string> v = cli::GetEnv(env)) {
    return check(SecretBytes::CopyFrom(std::string_view(*v)));
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

absl::StatusOr<KeySource> KeyFor(const Common& c, bool confirm) {
  if (!c.key_file.empty()) return KeySource::KeyFile(c.key_file);
  if (std::optional<std::filesystem::path> k = CredentialKeyFile()) {
    return KeySource::KeyFile(*k);
  }
  auto pass = Passphrase("KRING_NODE_PASSPHRASE", confirm,
                         "Passphrase for the school's data: ");
  if (!pass.ok()) return pass.status();
  return KeySource::Passphrase(*std::move(pass));
}

std::optional<std::filesystem::path> CredentialKeyFile() {
  std::optional<std::string> dir = cli::GetEnv("CREDENTIALS_DIRECTORY");
  if (!dir) return std::nullopt;
  std::filesystem::path file =
      std::filesystem::path(*dir) / kStoreKeyCredential;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return std::nullopt;
  return file;
}

absl::StatusOr<Store> OpenStore(const Common& c) {
  auto key = KeyFor(c, /*confirm=*/false);
  if (!key.ok()) return key.status();
  return Store::Open(c.data_dir, *key);
}

std::filesystem::path AuditPath(const Common& c) {
  return std::filesystem::path(c.data_dir) / AuditLog::kFileName;
}

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

int Audited(AuditLog& log, std::string_view kind, std::string_view summary,
            AuditFields fields) {
  for (auto& [name, value] : fields) value = cli::OneLine(value);
  if (auto s = log.Append(kind, cli::OneLine(summary), std::move(fields));
      !s.ok()) {
    std::cerr << "kring-node: the change was made, but writing it to the "
                 "audit log failed: "
              << ToStd(s.message()) << "\n";
    return cli::kExitFailed;
  }
  return cli::kExitOk;
}

std::string Records(size_t n) {
  return StrCat(n, n == 1 ? " record" : " records");
}

absl::StatusOr<survey::Instrument> LoadInstrument(const Common& c) {
  if (c.instrument_file.empty()) return survey::Instrument::BelongingV1();
  return survey::Instrument::LoadFile(c.instrument_file);
}

}  // namespace kring::node
