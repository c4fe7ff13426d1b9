// kring-coordinator-bench: kring-coordinator's commands, built for
// `kring-bench e2e` only (never installed, never for schools). Its `serve`
// has two benchmark options that the shipped kring-coordinator lacks:
// --benchmark-plaintext (runs that ask nodes for their vectors in the
// clear, to measure what secure aggregation costs) and
// --requests-per-second (so that the benchmark can watch a query's state
// every few milliseconds).

#include <memory>

#include "CLI/CLI.hpp"
#include "cli/run.h"
#include "coordinator/cli/commands.h"
#include "coordinator/cli/session.h"

namespace kring::coordinator {
namespace {

constexpr const char* kDescription =
    "kring-coordinator-bench is kring-coordinator built for `kring-bench "
    "e2e` only: the same commands, plus two options of `serve` for the "
    "benchmark. With --benchmark-plaintext, queries run without secure "
    "aggregation: nodes are asked for their vectors in the clear. Real "
    "kring-node refuses such runs; only kring-bench's own node process "
    "answers them. It is not installed; do not run it for schools.";

struct BenchFlags {
  bool plaintext = false;
  double requests_per_second = 0;  // 0: kring-coordinator's limits
};

// Adds the benchmark options to `serve`, stored in `f`.
void AddBenchOptions(CLI::App& serve, BenchFlags& f) {
  serve.add_flag("--benchmark-plaintext", f.plaintext,
                 "Run queries as a plaintext sum instead of secure "
                 "aggregation (kring-bench e2e only; kring-node refuses "
                 "such runs)");
  serve
      .add_option("--requests-per-second", f.requests_per_second,
                  "Requests per second (and burst) allowed per user, "
                  "address and node instead of kring-coordinator's 20 "
                  "(burst 60)")
      ->check(CLI::Range(1.0, 1e9));
}

// Applies `f` to the engine and the server's options before serving.
void ApplyBenchFlags(const BenchFlags& f, Engine& engine,
                     ServerOptions& server) {
  engine.SetBenchmarkPlaintext(f.plaintext);
  if (f.requests_per_second > 0) {
    server.requests_per_second = f.requests_per_second;
    server.burst = f.requests_per_second;
  }
}

int Main(int argc, char** argv) {
  CLI::App app{kDescription};
  app.require_subcommand(1);
  Common c;
  cli::Command chosen;
  AddAdminCommands(app, c, chosen);
  auto bench = std::make_shared<BenchFlags>();
  AddServeCommand(app, c, chosen, [bench](Engine& e, ServerOptions& s) {
    ApplyBenchFlags(*bench, e, s);
  });
  AddBenchOptions(*app.get_subcommand("serve"), *bench);
  AddAuditCommand(app, c, chosen);
  return cli::ParseAndRun(app, argc, argv, chosen);
}

}  // namespace
}  // namespace kring::coordinator

int main(int argc, char** argv) { return kring::coordinator::Main(argc, argv); }
