#ifndef KRING_CLI_RUN_H_
#define KRING_CLI_RUN_H_

// Parsing a kring command line and running the command it chose, the same
// way in every kring binary: each subcommand's CLI11 callback stores the
// function that runs it in a Command; ParseAndRun parses, then runs it.

#include <functional>

#include "CLI/CLI.hpp"

namespace kring::cli {

// The command chosen on the command line, run after parsing; returns the
// exit code (cli::ExitCode).
using Command = std::function<int()>;

// Parses `argv` with `app`, then runs `chosen`. Returns kExitOk after
// --help (printed on stdout), kExitUsage after a parse error (printed on
// stderr by CLI11) or when parsing chose no command, and otherwise what
// `chosen` returns. `chosen` is read after parsing, so the callbacks may set
// it.
int ParseAndRun(CLI::App& app, int argc, const char* const* argv,
                const Command& chosen);

}  // namespace kring::cli

#endif  // KRING_CLI_RUN_H_
