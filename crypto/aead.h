#ifndef KRING_CRYPTO_AEAD_H_
#define KRING_CRYPTO_AEAD_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"

namespace kring::crypto {

// Authenticated encryption with XChaCha20-Poly1305 (IETF). The library
// draws a fresh random 192-bit nonce for every message, so callers never
// handle nonces. Sealed format: nonce (24) || ciphertext || tag (16).
// Immutable after creation; thread-safe.
class Aead {
 public:
  static constexpr size_t kKeyBytes = 32;
  static constexpr size_t kNonceBytes = 24;
  static constexpr size_t kTagBytes = 16;
  static constexpr size_t kOverheadBytes = kNonceBytes + kTagBytes;

  // `key` must be 32 bytes.
  static absl::StatusOr<Aead> Create(SecretBytes key);
  // A fresh random key.
  static Aead Generate();

  // Encrypts `plaintext`. `associated_data` states what the ciphertext
  // belongs to (e.g. query, round, sender, recipient) and must not be
  // empty; Open must be given the same bytes.
  absl::StatusOr<std::string> Seal(std::string_view plaintext,
                                   std::string_view associated_data) const;

  // Decrypts and authenticates. Any tampering, truncation, wrong key or
  // wrong associated data yields DATA_LOSS; never crashes.
  absl::StatusOr<SecretBytes> Open(std::string_view sealed,
                                   std::string_view associated_data) const;

 private:
  explicit Aead(SecretBytes key) : key_(std::move(key)) {}
  SecretBytes key_;
};

}  // namespace kring::crypto

#endif  // KRING_CRYPTO_AEAD_H_
