#include "crypto/secagg/internal/masks.h"

#include "absl/status/status.h"
#include "crypto/secagg/internal/transcript.h"
#include "util/str_cat.h"

namespace kring::crypto::secagg::internal {

absl::StatusOr<MaskPrg> SelfMask(const SecretBytes& seed,
                                 std::string_view session) {
  return MaskPrg::Create(seed, StrCat("secagg/self-mask/", session));
}

absl::StatusOr<MaskPrg> PairwiseMask(const X25519KeyPair& mine,
                                     std::string_view my_id,
                                     std::string_view their_mask_public_key,
                                     std::string_view their_id,
                                     std::string_view session) {
  auto key = mine.Agree(my_id, their_mask_public_key, their_id,
                        {"secagg/pairwise-mask", session, kRoundMaskedInput});
  if (!key.ok()) return key.status();
  return MaskPrg::Create(*key, "secagg/pairwise-mask");
}

absl::StatusOr<SecretBytes> ShareChannelKey(
    const X25519KeyPair& mine, std::string_view my_id,
    std::string_view their_cipher_public_key, std::string_view their_id,
    std::string_view session) {
  return mine.Agree(my_id, their_cipher_public_key, their_id,
                    {"secagg/share-encryption", session, kRoundShareKeys});
}

size_t BitmapBytes(uint32_t n) { return (static_cast<size_t>(n) + 7) / 8; }

absl::Status ValidateBitmap(std::string_view bitmap, uint32_t n) {
  if (bitmap.size() != BitmapBytes(n)) {
    return absl::InvalidArgumentError(
        StrCat("survivor bitmap is ", bitmap.size(), " bytes, expected ",
               BitmapBytes(n), " for ", n, " nodes"));
  }
  if (n % 8 != 0 && (static_cast<uint8_t>(bitmap.back()) >> (n % 8)) != 0) {
    return absl::InvalidArgumentError(
        "survivor bitmap marks nodes beyond the roster");
  }
  return absl::OkStatus();
}

}  // namespace kring::crypto::secagg::internal
