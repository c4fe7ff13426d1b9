// kring-bench: benchmark drivers that print one JSON object per run.
//
//   kring-bench crypto [--elements N] [--repetitions R]
//   kring-bench import [--rows N]
//   kring-bench secagg --nodes N --dims D --dropout P
//                      [--graph auto|complete|sparse] [--json]
//   kring-bench e2e --nodes N [--rows R] [--repetitions K]
//   kring-bench dp [--samples N] [--repetitions R]

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "bench/crypto_bench.h"
#include "bench/dp_bench.h"
#include "bench/e2e_bench.h"
#include "bench/import_bench.h"
#include "bench/secagg_bench.h"

namespace {

// The flags of `e2e` and of its internal node process `e2e-node`.
struct E2eFlags {
  kring::bench::E2eBenchOptions options;
  bool json = true;
  std::string node_data_dir;
  std::string node_key_file;
};

// Adds `e2e` and the internal `e2e-node` to `app`; `f` must outlive
// parsing.
void AddE2eCommands(CLI::App& app, E2eFlags& f) {
  CLI::App* e2e = app.add_subcommand(
      "e2e",
      "A coordinator process (kring-coordinator-bench, found next to "
      "kring-bench) and N node processes on loopback: the same query with "
      "secure aggregation and with a benchmark-only plaintext sum, latency "
      "from approval to release of both, their ratio and the CPU time used.");
  e2e->add_option("--nodes", f.options.nodes, "Node processes")
      ->check(CLI::Range(3, 500));
  e2e->add_option("--rows", f.options.rows, "Synthetic pupils per school");
  e2e->add_option("--repetitions", f.options.repetitions,
                  "Runs of each mode (medians are reported)")
      ->check(CLI::Range(1, 50));
  e2e->add_flag("--progress", f.options.progress,
                "Progress notes and each run's time on stderr");
  e2e->add_flag("--json", f.json, "JSON output (the default)");
  e2e->callback([&f] {
    std::string self = std::filesystem::canonical("/proc/self/exe").string();
    std::cout << kring::bench::RunE2eBench(f.options, self).dump(2) << "\n";
  });
  CLI::App* node = app.add_subcommand("e2e-node", "");
  node->group("");  // internal: a node process of `e2e`
  node->add_option("--data-dir", f.node_data_dir)->required();
  node->add_option("--key-file", f.node_key_file)->required();
  node->callback([&f] {
    std::exit(kring::bench::RunE2eNode(f.node_data_dir, f.node_key_file));
  });
}

// `kring-bench dp`; `opts` must outlive parsing.
void AddDpCommand(CLI::App& app, kring::bench::DpBenchOptions& opts) {
  CLI::App* dp = app.add_subcommand(
      "dp",
      "Differential privacy: discrete Gaussian sampler throughput (one sample "
      "per call and whole vectors) at sigma2 "
      "1, 100, 1e6 and 1e10 (samples/s, random bytes per sample) against "
      "libsodium's randombytes_buf in the same run.");
  dp->add_option("--samples", opts.samples, "Draws per sigma2 and repetition")
      ->check(CLI::Range(1000, 100000000));
  dp->add_option("--repetitions", opts.repetitions,
                 "Timed repetitions per figure (median is reported)")
      ->check(CLI::Range(1, 1000));
  dp->callback(
      [&] { std::cout << kring::bench::RunDpBench(opts).dump(2) << "\n"; });
}

// `kring-bench secagg`; `opts` and `json` must outlive parsing.
void AddSecAggCommand(CLI::App& app, kring::bench::SecAggBenchOptions& opts,
                      bool& json) {
  CLI::App* secagg = app.add_subcommand(
      "secagg",
      "Simulates one secure aggregation in process (every node and the "
      "coordinator, real cryptography, random dropouts) and reports per-node "
      "and coordinator time, bytes sent and whether the sum is exact.");
  secagg->add_option("--nodes", opts.nodes, "Number of school nodes")
      ->check(CLI::Range(3u, 1000000u));
  secagg->add_option("--dims", opts.dims, "Vector length")
      ->check(CLI::Range(1u, 10000000u));
  secagg
      ->add_option("--dropout", opts.dropout,
                   "Fraction of nodes that drop out, at random rounds")
      ->check(CLI::Range(0.0, 0.9));
  secagg
      ->add_option("--graph", opts.graph,
                   "Neighbour graph: auto (complete up to 100 nodes), "
                   "complete, or sparse (SecAgg+ Harary graph)")
      ->check(CLI::IsMember({"auto", "complete", "sparse"}));
  secagg->add_option("--bound", opts.input_bound,
                     "Largest value of an input element (sets the modulus)");
  secagg
      ->add_option("--corrupt-fraction", opts.corrupt_fraction,
                   "Fraction of nodes assumed to collude with the "
                   "coordinator when choosing k and t")
      ->check(CLI::Range(0.0, 0.5));
  secagg
      ->add_option("--max-dropout", opts.max_dropout,
                   "Dropout fraction k and t must tolerate (at least "
                   "--dropout)")
      ->check(CLI::Range(0.0, 0.9));
  secagg->add_option("--seed", opts.seed, "Seed for inputs, keys and dropouts");
  secagg
      ->add_option("--threads", opts.threads,
                   "Threads simulating nodes in parallel")
      ->check(CLI::Range(1, 256));
  secagg
      ->add_option("--coordinator-threads", opts.coordinator_threads,
                   "Coordinator worker threads (signature checks, "
                   "unmasking); 0 = one per core")
      ->check(CLI::Range(0, 256));
  secagg->add_flag("--json", json, "Print one JSON object");
  secagg->add_flag("--progress", opts.progress, "Progress notes on stderr");
  secagg->callback([&] {
    nlohmann::json j = kring::bench::RunSecAggBench(opts);
    if (json) {
      std::cout << j.dump() << "\n";
      return;
    }
    for (const auto& [k, v] : j.items()) {
      std::cout << k << ": " << v.dump() << "\n";
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "kring-bench: measures kring's building blocks and prints the figures "
      "as JSON on standard output."};
  app.require_subcommand(1);

  kring::bench::CryptoBenchOptions crypto_opts;
  CLI::App* crypto = app.add_subcommand(
      "crypto",
      "Mask PRG throughput versus libsodium's raw ChaCha20 keystream (same "
      "run), AEAD, signatures, key agreement and Shamir sharing.");
  crypto
      ->add_option("--elements", crypto_opts.mask_elements,
                   "Ring elements per mask expansion")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 26));
  crypto
      ->add_option("--repetitions", crypto_opts.repetitions,
                   "Timed repetitions per figure (median is reported)")
      ->check(CLI::Range(1, 1000));
  crypto->callback([&] {
    std::cout << kring::bench::RunCryptoBench(crypto_opts).dump(2) << "\n";
  });

  kring::bench::DpBenchOptions dp_opts;
  AddDpCommand(app, dp_opts);

  kring::bench::SecAggBenchOptions sa;
  bool sa_json = false;
  AddSecAggCommand(app, sa, sa_json);

  kring::bench::ImportBenchOptions imp;
  CLI::App* import = app.add_subcommand(
      "import",
      "Imports the same synthetic export with `sqlite3 .import` (plain "
      "table) and with kring-node (encrypted store), side by side.");
  import->add_option("--rows", imp.rows, "Rows in the synthetic export")
      ->check(CLI::Range(size_t{1}, size_t{10000000}));
  import->add_option("--seed", imp.seed, "Seed of the synthetic export");
  import
      ->add_option("--repetitions", imp.repetitions,
                   "Repetitions (medians are reported)")
      ->check(CLI::Range(1, 100));
  import->callback([&] {
    std::cout << kring::bench::RunImportBench(imp).dump(2) << "\n";
});

E2eFlags e2e;
AddE2eCommands(app, e2e);

CLI11_PARSE(app, argc, argv);
return 0;
}
