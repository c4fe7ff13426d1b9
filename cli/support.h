#ifndef KRING_CLI_SUPPORT_H_
#define KRING_CLI_SUPPORT_H_

// Support shared by kring's command lines (kring, kring-node,
// kring-coordinator): exit codes, errors on stderr, text safe for a
// terminal, time formatting and environment variables. Options that may
// also come from the environment should use CLI11's
// `->envname("KRING_...")`, which `--help` shows; GetEnv is for values
// that are not options (passphrases).
//
// kring (client/cli/), kring-node (node/cli/) and kring-coordinator
// (coordinator/cli/) use these instead of copies of their own; parsing a
// command line and running the chosen command is in cli/run.h.
//
// Thread-compatible: the functions keep no state of their own.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace kring::cli {

// Exit codes of every kring binary.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,  // the request or command ran into a problem
  kExitUsage = 2,   // wrong usage (the parser, or a check of the flags)
};

// Prints "PROGRAM: MESSAGE" on stderr (the status's message only, not its
// code; control characters other than line feeds and tabs, as OneLine, become
// '?') and returns kExitFailed.
int Fail(std::string_view program, const absl::Status& status);

// Prints "PROGRAM: MESSAGE" on stderr and returns kExitUsage.
int Usage(std::string_view program, std::string_view message);

// `text` as a terminal prints it on one line: control characters (below
// 0x20, 0x7f, and the C1 controls U+0080-U+009F) become '?'. Other bytes,
// UTF-8 included, stay.
std::string OneLine(std::string_view text);

// Local time to the minute, "2026-03-14 09:05"; "never" when
// `unix_millis` <= 0.
std::string LocalMinute(int64_t unix_millis);

// Local time as ISO 8601 with the offset, "2026-03-14T09:05:00+01:00";
// "@SECONDS" when the time cannot be represented.
std::string LocalTimestamp(int64_t unix_seconds);

// UTC as ISO 8601, "2026-03-14T08:05:00Z" (for machine-readable output).
std::string UtcTimestamp(int64_t unix_millis);

// The value of environment variable `name`; nullopt when it is unset or
// empty.
std::optional<std::string> GetEnv(const char* name);

}  // namespace kring::cli

#endif  // KRING_CLI_SUPPORT_H_
