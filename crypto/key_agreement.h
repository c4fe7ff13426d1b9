#ifndef KRING_CRYPTO_KEY_AGREEMENT_H_
#define KRING_CRYPTO_KEY_AGREEMENT_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/random.h"
#include "crypto/secret_bytes.h"

namespace kring::crypto {

inline constexpr size_t kX25519PublicKeyBytes = 32;
inline constexpr size_t kX25519SecretKeyBytes = 32;
inline constexpr size_t kAgreedKeyBytes = 32;

// What an agreed key is for. The derived key is bound to every field, so a
// key derived for one purpose, query, round or pair of parties is unrelated
// to any other.
struct KeyAgreementContext {
  std::string_view label;     // purpose, e.g. "secagg/share-encryption"
  std::string_view query_id;  // public query identifier
  uint32_t round = 0;         // protocol round
};

// An ephemeral X25519 key pair. Move-only; the secret is wiped on
// destruction. Const methods are thread-safe.
class X25519KeyPair {
 public:
  static X25519KeyPair Generate();
  static X25519KeyPair Generate(RandomSource& source);
  // From a given 32-byte secret scalar (for known-answer tests and
  // deterministic simulations).
  static absl::StatusOr<X25519KeyPair> FromSecret(SecretBytes secret);

  // The secret scalar, e.g. to Shamir-share it in secure aggregation.
  const SecretBytes& secret_key() const { return secret_; }

  std::string_view public_key() const {
    return {reinterpret_cast<const char*>(public_.data()), public_.size()};
  }

  // Derives a 32-byte key shared with the party `their_id` who holds
  // `their_public_key`:
  //   K = BLAKE2b-256(key = X25519(mine, theirs),
  //                   "kring-kdf-v1" || lp(label) || lp(query_id) ||
  //                   u32(round) || lp(id_lo) || lp(pk_lo) || lp(id_hi) ||
  //                   lp(pk_hi))
  // where (id_lo, pk_lo) and (id_hi, pk_hi) are the two parties ordered by
  // id and lp() is a u32 length prefix, so both parties derive the same key.
  // Errors if the ids are equal or empty, the peer key is malformed, or the
  // DH output is all zero (small-order peer key).
  absl::StatusOr<SecretBytes> Agree(std::string_view my_id,
                                    std::string_view their_public_key,
                                    std::string_view their_id,
                                    const KeyAgreementContext& context) const;

 private:
  X25519KeyPair(SecretBytes secret, const std::array<uint8_t, 32>& pub)
      : secret_(std::move(secret)), public_(pub) {}

  SecretBytes secret_;
  std::array<uint8_t, 32> public_;
};

// OK iff `public_key` is a usable X25519 public key: 32 bytes and not of
// small order (agreeing with it would give an all-zero secret). Costs one
// scalar multiplication.
absl::Status ValidateX25519PublicKey(std::string_view public_key);

// Derives `out_bytes` (16..64) bytes from a secret key and a public context
// with keyed BLAKE2b: BLAKE2b-(out_bytes)(key = ikm, "kring-derive-v1" ||
// lp(label) || lp(context)). `ikm` must be 16..64 bytes.
absl::StatusOr<SecretBytes> DeriveKey(const SecretBytes& ikm,
                                      std::string_view label,
                                      std::string_view context,
                                      size_t out_bytes = 32);

}  // namespace kring::crypto

#endif  // KRING_CRYPTO_KEY_AGREEMENT_H_
