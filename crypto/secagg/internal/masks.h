#ifndef KRING_CRYPTO_SECAGG_INTERNAL_MASKS_H_
#define KRING_CRYPTO_SECAGG_INTERNAL_MASKS_H_

// Mask derivations and survivor bitmaps shared by node and coordinator.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/key_agreement.h"
#include "crypto/mask_prg.h"
#include "crypto/secret_bytes.h"

namespace kring::crypto::secagg::internal {

// PRG(b): the self mask of a node with seed b.
absl::StatusOr<MaskPrg> SelfMask(const SecretBytes& seed,
                                 std::string_view session);

// PRG(s_uv): the pairwise mask between u (holding `mine`) and v.
absl::StatusOr<MaskPrg> PairwiseMask(const X25519KeyPair& mine,
                                     std::string_view my_id,
                                     std::string_view their_mask_public_key,
                                     std::string_view their_id,
                                     std::string_view session);

// The key that encrypts shares between u (holding `mine`) and v.
absl::StatusOr<SecretBytes> ShareChannelKey(
    const X25519KeyPair& mine, std::string_view my_id,
    std::string_view their_cipher_public_key, std::string_view their_id,
    std::string_view session);

// Bitmaps over roster indices: bit i of byte i/8.
size_t BitmapBytes(uint32_t n);
inline bool BitmapHas(std::string_view bitmap, uint32_t i) {
  return (static_cast<uint8_t>(bitmap[i / 8]) >> (i % 8)) & 1;
}
inline void BitmapSet(std::string& bitmap, uint32_t i) {
  bitmap[i / 8] = static_cast<char>(bitmap[i / 8] | (1 << (i % 8)));
}
// Exact length and zero padding.
absl::Status ValidateBitmap(std::string_view bitmap, uint32_t n);

}  // namespace kring::crypto::secagg::internal

#endif  // KRING_CRYPTO_SECAGG_INTERNAL_MASKS_H_
