#include "cli/run.h"

#include "cli/support.h"

namespace kring::cli {

int ParseAndRun(CLI::App& app, int argc, const char* const* argv,
                const Command& chosen) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; usage errors exit 2.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  return chosen ? chosen() : kExitUsage;
}

}  // namespace kring::cli
