// kring-bench: benchmark drivers that print one JSON object per run.
//
//   kring-bench crypto [--elements N] [--repetitions R]

#include <iostream>

#include "CLI/CLI.hpp"
#include "bench/crypto_bench.h"

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

  CLI11_PARSE(app, argc, argv);
  return 0;
}
