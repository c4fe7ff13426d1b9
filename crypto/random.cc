#include "crypto/random.h"

#include <sodium.h>

#include <algorithm>

#include "crypto/init.h"

namespace kring::crypto {
namespace {

class SodiumRandom final : public RandomSource {
 public:
  void Fill(std::span<uint8_t> out) override {
    if (!out.empty()) randombytes_buf(out.data(), out.size());
  }
};

}  // namespace

RandomSource& SystemRandom() {
  (void)Init();
  static SodiumRandom* const kRandom = new SodiumRandom();
  return *kRandom;
}

DeterministicRandom::DeterministicRandom(uint64_t seed) {
  (void)Init();
  uint8_t in[8];
  for (int i = 0; i < 8; ++i) in[i] = static_cast<uint8_t>(seed >> (8 * i));
  static constexpr char kLabel[] = "kring-deterministic-random-v1";
  crypto_generichash(key_, sizeof key_, in, sizeof in,
                     reinterpret_cast<const uint8_t*>(kLabel),
                     sizeof kLabel - 1);
}

void DeterministicRandom::Fill(std::span<uint8_t> out) {
  static const uint8_t kZeroNonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};
  // Generate whole 64-byte blocks from the current block, then copy the
  // requested window, so the stream is the same however it is split.
  size_t pos = 0;
  while (pos < out.size()) {
    uint8_t block[64];
    static const uint8_t kZeros[64] = {};
    uint64_t block_index = offset_ / 64;
    size_t skip = offset_ % 64;
    crypto_stream_chacha20_ietf_xor_ic(block, kZeros, sizeof block, kZeroNonce,
                                       static_cast<uint32_t>(block_index),
                                       key_);
    size_t n = std::min(out.size() - pos, sizeof block - skip);
    std::copy(block + skip, block + skip + n, out.data() + pos);
    pos += n;
    offset_ += n;
  }
}

}  // namespace kring::crypto
