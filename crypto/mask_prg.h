#ifndef KRING_CRYPTO_MASK_PRG_H_
#define KRING_CRYPTO_MASK_PRG_H_

#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"

namespace kring::crypto {

// The ring Z_{2^m} for 1 <= m <= 64, elements held in uint64_t. Value type.
class RingModulus {
 public:
  static absl::StatusOr<RingModulus> Create(int bits);
  // The smallest ring that represents every value in [0, max_value].
  static RingModulus ForMaxValue(uint64_t max_value);

  int bits() const { return bits_; }
  // 2^m - 1.
  uint64_t mask() const { return mask_; }
  uint64_t Reduce(uint64_t v) const { return v & mask_; }
  friend bool operator==(RingModulus, RingModulus) = default;

 private:
  explicit RingModulus(int bits)
      : bits_(bits),
        mask_(bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1) {}
  int bits_;
  uint64_t mask_;
};

// Expands a 32-byte seed into a pseudo-random vector over Z_{2^m}, as used
// for the self masks and pairwise masks of secure aggregation.
//
// Construction: subkey = DeriveKey(seed, "kring-mask-prg-v1", context);
// the stream is libsodium's ChaCha20 (RFC 8439, crypto_stream_chacha20_ietf)
// under the subkey with an all-zero nonce, starting at block 0. Element i is
// the little-endian word at stream bytes [i*w, (i+1)*w), w = 4 when m <= 32
// and w = 8 otherwise, reduced mod 2^m (exactly uniform, since 2^m divides
// 2^(8w)). So the same seed and context give the same mask on every machine.
//
// Move-only; const methods are thread-safe and never allocate.
class MaskPrg {
 public:
  static constexpr size_t kSeedBytes = 32;

  // `seed` must be 32 bytes; `context` is public (query, purpose, ...).
  static absl::StatusOr<MaskPrg> Create(const SecretBytes& seed,
                                        std::string_view context);

  // out[i] = mask[i].
  void Expand(RingModulus ring, std::span<uint64_t> out) const;
  // acc[i] = acc[i] + mask[i] mod 2^m. `acc` must already be reduced.
  void AddTo(RingModulus ring, std::span<uint64_t> acc) const;
  // acc[i] = acc[i] - mask[i] mod 2^m.
  void SubtractFrom(RingModulus ring, std::span<uint64_t> acc) const;

 private:
  enum class Op { kSet, kAdd, kSubtract };
  explicit MaskPrg(SecretBytes key) : key_(std::move(key)) {}
  void Apply(Op op, RingModulus ring, std::span<uint64_t> acc) const;

  SecretBytes key_;  // 32-byte ChaCha20 key
};

}  // namespace kring::crypto

#endif  // KRING_CRYPTO_MASK_PRG_H_
