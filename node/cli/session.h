#ifndef KRING_NODE_CLI_SESSION_H_
#define KRING_NODE_CLI_SESSION_H_

// What the `kring-node` commands share: the flags every command has
// (--data-dir, --key-file, --instrument), unlocking the store with the
// passphrase or key file, the audit log next to it, and errors printed as
// "kring-node: ...".

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"
#include "node/audit.h"
#include "node/store.h"
#include "survey/instrument.h"

namespace kring::node {

// The flags every command shares (not every command has all of them).
struct Common {
  std::string data_dir = "kring-node-data";
  std::string key_file;
  std::string instrument_file;
};

// Adds --data-dir (also read from KRING_NODE_DATA_DIR) to `sub`, and
// --key-file and --instrument when asked, stored in a Common of `sub`'s own
// (which it returns). Subcommands must not share one: CLI11 reads the
// environment for every subcommand's options, chosen or not.
std::shared_ptr<Common> AddCommonOptions(CLI::App& sub, bool with_key,
                                         bool with_instrument);

// For a subcommand of a subcommand (`audit verify`): adds the same flags to
// `sub`, stored in its parent's `c`, so that they may come before or after
// its name. The parent's --data-dir reads KRING_NODE_DATA_DIR already.
void AddNestedCommonOptions(CLI::App& sub, Common& c, bool with_key,
                            bool with_instrument);

// Prints "kring-node: MESSAGE" on stderr; returns cli::kExitFailed.
int Fail(const absl::Status& s);

// A passphrase from environment variable `env` or, when it is unset, typed
// on the terminal after `question` (without echo). A new passphrase
// (`is_new`) must have at least 8 characters and, typed, is asked twice.
absl::StatusOr<crypto::SecretBytes> Passphrase(const char* env, bool is_new,
                                               const char* question);

// The name of the systemd credential holding the store's key file
// (LoadCredential=store-key:... in kring-node.service).
inline constexpr std::string_view kStoreKeyCredential = "store-key";

// $CREDENTIALS_DIRECTORY/store-key when systemd passed that credential
// (the service), otherwise nullopt.
std::optional<std::filesystem::path> CredentialKeyFile();

// The key that unlocks the store: c.key_file if given, otherwise the
// systemd credential (CredentialKeyFile), otherwise the passphrase
// (KRING_NODE_PASSPHRASE or the prompt; asked twice when `confirm`).
absl::StatusOr<KeySource> KeyFor(const Common& c, bool confirm);

// Unlocks the node's store with the passphrase or key file.
absl::StatusOr<Store> OpenStore(const Common& c);

// The purpose the audit log's key is derived under from the store's key.
inline constexpr std::string_view kAuditPurpose = "audit-log-v1";

// Where the audit log (audit.db) sits: next to the store.
std::filesystem::path AuditPath(const Common& c);

// Opens the audit log for a command that changes data, before the change,
// so that a log that cannot be opened stops the command first. A log
// started for an existing store (`new_store` false: from an older
// kring-node, or after audit.db was removed) begins with an entry that
// says so.
absl::StatusOr<AuditLog> OpenAudit(const Common& c, const Store& store,
                                   bool new_store);

using AuditFields = std::vector<std::pair<std::string, std::string>>;

// Writes what a command changed to the audit log (text through
// cli::OneLine); returns the exit code, after saying on stderr that the
// change was made when writing fails. Entries never hold pupil numbers or
// other pupil data.
int Audited(AuditLog& log, std::string_view kind, std::string_view summary,
            AuditFields fields = {});

// "1 record", "2 records".
std::string Records(size_t n);

// The instrument of --instrument, or kring-belonging-v1 without it.
absl::StatusOr<survey::Instrument> LoadInstrument(const Common& c);

}  // namespace kring::node

#endif  // KRING_NODE_CLI_SESSION_H_
