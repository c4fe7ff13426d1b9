#include "crypto/mask_prg.h"

#include <sodium.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "absl/status/status.h"
#include "crypto/key_agreement.h"
#include "util/str_cat.h"

namespace kring::crypto {
namespace {

constexpr size_t kChunkBytes = 8192;  // keystream generated per libsodium call
constexpr size_t kBlockBytes = 64;    // ChaCha20 block

static_assert(std::endian::native == std::endian::little,
              "the mask PRG reads keystream words in native order");

}  // namespace

absl::StatusOr<RingModulus> RingModulus::Create(int bits) {
  if (bits < 1 || bits > 64) {
    return absl::InvalidArgumentError(
        StrCat("ring modulus must be 2^m with 1 <= m <= 64, got m = ", bits));
  }
  return RingModulus(bits);
}

RingModulus RingModulus::ForMaxValue(uint64_t max_value) {
  return RingModulus(std::max(1, static_cast<int>(std::bit_width(max_value))));
}

absl::StatusOr<MaskPrg> MaskPrg::Create(const SecretBytes& seed,
                                        std::string_view context) {
  if (seed.size() != kSeedBytes) {
    return absl::InvalidArgumentError(
        StrCat("a mask seed is 32 bytes, got ", seed.size()));
  }
  auto key = DeriveKey(seed, "kring-mask-prg-v1", context,
                       crypto_stream_chacha20_ietf_KEYBYTES);
  if (!key.ok()) return key.status();
  return MaskPrg(*std::move(key));
}

void MaskPrg::Expand(RingModulus ring, std::span<uint64_t> out) const {
  Apply(Op::kSet, ring, out);
}
void MaskPrg::AddTo(RingModulus ring, std::span<uint64_t> acc) const {
  Apply(Op::kAdd, ring, acc);
}
void MaskPrg::SubtractFrom(RingModulus ring, std::span<uint64_t> acc) const {
  Apply(Op::kSubtract, ring, acc);
}

namespace {

template <typename Word>
void ApplyWords(int op, uint64_t mask, const Word* ks, uint64_t* acc,
                size_t n) {
  switch (op) {
    case 0:
      for (size_t i = 0; i < n; ++i) acc[i] = ks[i] & mask;
      break;
    case 1:
      for (size_t i = 0; i < n; ++i) acc[i] = (acc[i] + ks[i]) & mask;
      break;
    default:
      for (size_t i = 0; i < n; ++i) acc[i] = (acc[i] - ks[i]) & mask;
      break;
  }
}

// Generates the keystream chunk by chunk into a typed buffer (libsodium
// writes it through unsigned char*, which may alias any object) and
// combines it word by word with the accumulator.
template <typename Word>
void ApplyStream(int op, uint64_t mask, const uint8_t* key,
                 std::span<uint64_t> acc) {
  static const uint8_t kZeroNonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};
  static const uint8_t kZeros[kChunkBytes] = {};
  constexpr size_t kPerChunk = kChunkBytes / sizeof(Word);
  alignas(64) Word ks[kPerChunk];
  uint32_t counter = 0;
  for (size_t done = 0; done < acc.size(); done += kPerChunk) {
    size_t n = std::min(kPerChunk, acc.size() - done);
    crypto_stream_chacha20_ietf_xor_ic(reinterpret_cast<uint8_t*>(ks), kZeros,
                                       n * sizeof(Word), kZeroNonce, counter,
                                       key);
    counter += static_cast<uint32_t>(kChunkBytes / kBlockBytes);
    ApplyWords(op, mask, ks, acc.data() + done, n);
  }
  sodium_memzero(ks, sizeof ks);
}

}  // namespace

void MaskPrg::Apply(Op op, RingModulus ring, std::span<uint64_t> acc) const {
  if (ring.bits() <= 32) {
    ApplyStream<uint32_t>(static_cast<int>(op), ring.mask(), key_.data(), acc);
  } else {
    ApplyStream<uint64_t>(static_cast<int>(op), ring.mask(), key_.data(), acc);
  }
}

}  // namespace kring::crypto
