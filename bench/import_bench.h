#ifndef KRING_BENCH_IMPORT_BENCH_H_
#define KRING_BENCH_IMPORT_BENCH_H_

#include <cstddef>
#include <cstdint>

#include "nlohmann/json.hpp"

namespace kring::bench {

struct ImportBenchOptions {
  size_t rows = 100000;
  uint64_t seed = 1;
  int repetitions = 3;
};

// Imports the same synthetic export (kring template) with `sqlite3 .import`
// into a plain table and with kring-node's import into an encrypted store,
// side by side, and reports both times and their ratio. The one-time
// passphrase unlock (Argon2id) is measured and reported separately.
nlohmann::json RunImportBench(const ImportBenchOptions& options);

}  // namespace kring::bench

#endif  // KRING_BENCH_IMPORT_BENCH_H_
