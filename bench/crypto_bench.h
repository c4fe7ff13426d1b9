#ifndef KRING_BENCH_CRYPTO_BENCH_H_
#define KRING_BENCH_CRYPTO_BENCH_H_

#include <cstddef>

#include "nlohmann/json.hpp"

namespace kring::bench {

struct CryptoBenchOptions {
  size_t mask_elements = size_t{1} << 20;  // per repetition
  int repetitions = 15;
};

// Measures the crypto layer and returns the figures as JSON: mask PRG
// throughput against libsodium's raw ChaCha20 keystream (same run,
// interleaved), AEAD, signatures, key agreement and Shamir sharing.
nlohmann::json RunCryptoBench(const CryptoBenchOptions& options);

}  // namespace kring::bench

#endif  // KRING_BENCH_CRYPTO_BENCH_H_
