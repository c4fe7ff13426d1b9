#ifndef KRING_CRYPTO_INTERNAL_ENCODING_H_
#define KRING_CRYPTO_INTERNAL_ENCODING_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"

namespace kring::crypto::internal {

// Lower-case hex and standard (padded) base64, via libsodium's
// constant-time codecs.
std::string HexEncode(std::string_view bytes);
absl::StatusOr<std::string> HexDecode(std::string_view hex);
std::string Base64Encode(std::string_view bytes);
absl::StatusOr<std::string> Base64Decode(std::string_view text);
absl::StatusOr<SecretBytes> Base64DecodeSecret(std::string_view text);

// Unambiguous encodings for hashing contexts: fixed-width little-endian
// integers, and byte strings prefixed with their u32 length.
void AppendU32(std::string& out, uint32_t v);
void AppendU64(std::string& out, uint64_t v);
void AppendLengthPrefixed(std::string& out, std::string_view bytes);

}  // namespace kring::crypto::internal

#endif  // KRING_CRYPTO_INTERNAL_ENCODING_H_
