#ifndef KRING_CRYPTO_INTERNAL_RAW_H_
#define KRING_CRYPTO_INTERNAL_RAW_H_

// Thin, explicit-nonce wrappers over the libsodium calls kring composes.
// Only for kring::crypto's own implementation and its known-answer tests:
// they let the tests feed published vectors (fixed nonces, raw messages)
// through exactly the calls the public API makes. Never use them elsewhere.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kring::crypto::internal {

// Ed25519 signature of `message` by the 64-byte libsodium secret key.
absl::StatusOr<std::string> Ed25519Sign(std::string_view secret_key,
                                        std::string_view message);
bool Ed25519Verify(std::string_view public_key, std::string_view message,
                   std::string_view signature);

// X25519(scalar, u). Error if the result is all zero (small-order input).
absl::StatusOr<std::string> X25519(std::string_view scalar,
                                   std::string_view u_coordinate);

// XChaCha20-Poly1305 (IETF): returns ciphertext || tag.
absl::StatusOr<std::string> XChaChaSeal(std::string_view key,
                                        std::string_view nonce,
                                        std::string_view plaintext,
                                        std::string_view ad);
absl::StatusOr<std::string> XChaChaOpen(std::string_view key,
                                        std::string_view nonce,
                                        std::string_view ciphertext_and_tag,
                                        std::string_view ad);

// RFC 8439 ChaCha20 keystream XOR `input`, starting at block `counter`.
absl::StatusOr<std::string> ChaCha20Xor(std::string_view key,
                                        std::string_view nonce,
                                        uint32_t counter,
                                        std::string_view input);

}  // namespace kring::crypto::internal

#endif  // KRING_CRYPTO_INTERNAL_RAW_H_
