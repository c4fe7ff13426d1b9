#ifndef KRING_CRYPTO_RANDOM_H_
#define KRING_CRYPTO_RANDOM_H_

#include <cstdint>
#include <span>

namespace kring::crypto {

// A source of random bytes, injectable so tests and simulations can fix the
// randomness of some parties while others stay random.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual void Fill(std::span<uint8_t> out) = 0;
};

// libsodium's CSPRNG (randombytes_buf). Thread-safe. The only source
// production code may use.
RandomSource& SystemRandom();

// A reproducible stream for tests and simulations only: the ChaCha20
// keystream (libsodium) under a key derived from `seed`. Not thread-safe.
class DeterministicRandom final : public RandomSource {
 public:
  explicit DeterministicRandom(uint64_t seed);
  void Fill(std::span<uint8_t> out) override;

 private:
  uint8_t key_[32];
  uint64_t offset_ = 0;  // keystream bytes consumed so far
};

}  // namespace kring::crypto

#endif  // KRING_CRYPTO_RANDOM_H_
