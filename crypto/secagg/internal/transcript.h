#ifndef KRING_CRYPTO_SECAGG_INTERNAL_TRANSCRIPT_H_
#define KRING_CRYPTO_SECAGG_INTERNAL_TRANSCRIPT_H_

// The exact bytes that secure-aggregation signatures and AEAD associated
// data cover. Every encoding starts with the session (the BLAKE2b digest of
// the run's whole config, SecAggSetup::session()) and the round, and is
// built from length-prefixed fields, so no two messages share signed bytes
// and nothing carries over between runs.

#include <cstdint>
#include <string>
#include <string_view>

#include "kring/v1/secagg.pb.h"

namespace kring::crypto::secagg::internal {

inline constexpr std::string_view kAdvertiseContext = "secagg/advertise-keys";
inline constexpr std::string_view kShareKeysContext = "secagg/share-keys";
inline constexpr std::string_view kMaskedInputContext = "secagg/masked-input";
inline constexpr std::string_view kConsistencyContext = "secagg/consistency";
inline constexpr std::string_view kUnmaskContext = "secagg/unmask";

inline constexpr uint32_t kRoundAdvertise = 0;
inline constexpr uint32_t kRoundShareKeys = 1;
inline constexpr uint32_t kRoundMaskedInput = 2;
inline constexpr uint32_t kRoundConsistency = 3;
inline constexpr uint32_t kRoundUnmask = 4;

// 32-byte BLAKE2b of `bytes`.
std::string Hash32(std::string_view bytes);

std::string AdvertiseBytes(std::string_view session,
                           const v1::AdvertiseKeys& m);
std::string ShareKeysBytes(std::string_view session, const v1::ShareKeys& m);
std::string MaskedInputBytes(std::string_view session,
                             const v1::MaskedInput& m);
// `keys_hash` is KeysHash() of the signer's advertisement.
std::string ConsistencyBytes(std::string_view session, uint32_t sender,
                             std::string_view bitmap_hash,
                             std::string_view keys_hash);
std::string UnmaskBytes(std::string_view session, const v1::UnmaskResponse& m);
// Associated data of the encrypted share from `sender` to `recipient`.
std::string ShareAssociatedData(std::string_view session, uint32_t sender,
                                uint32_t recipient);
// BLAKE2b over a node's two advertised public keys.
std::string KeysHash(std::string_view cipher_public_key,
                     std::string_view mask_public_key);
// The commitment to a self-mask seed b sent in ShareKeys.
std::string SelfMaskCommitment(std::string_view session, std::string_view b);

}  // namespace kring::crypto::secagg::internal

#endif  // KRING_CRYPTO_SECAGG_INTERNAL_TRANSCRIPT_H_
