#ifndef KRING_CRYPTO_IDENTITY_H_
#define KRING_CRYPTO_IDENTITY_H_

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"

namespace kring::crypto {

inline constexpr size_t kIdentityPublicKeyBytes = 32;
inline constexpr size_t kIdentitySeedBytes = 32;
inline constexpr size_t kSignatureBytes = 64;

// Signatures are made over a domain-separated message:
//   "kring-sig-v1" || 0x00 || u8(len(context)) || context || message
// so a signature made for one message type (context) never verifies as
// another. A context is 1..64 characters from [a-z0-9._/-], e.g.
// "secagg/advertise-keys".
absl::Status ValidateSigningContext(std::string_view context);

// The long-term Ed25519 public key of a school node, user or approver.
// Immutable value type; thread-safe.
class IdentityPublicKey {
 public:
  // Accepts exactly 32 bytes encoding a canonical Ed25519 point that is not
  // of small order.
  static absl::StatusOr<IdentityPublicKey> FromBytes(std::string_view bytes);
  // Parses the one-line text form produced by ToText().
  static absl::StatusOr<IdentityPublicKey> FromText(std::string_view text);
  static absl::StatusOr<IdentityPublicKey> LoadFile(
      const std::filesystem::path& path);
  // The text form when `file_or_text` starts with the text prefix
  // ("kring-ed25519-public-v1:"), else the file of that name.
  static absl::StatusOr<IdentityPublicKey> FromFileOrText(
      std::string_view file_or_text);

  // "kring-ed25519-public-v1:<base64>".
  std::string ToText() const;
  // Writes ToText() plus a newline (mode 0644). Overwrites an existing file.
  absl::Status SaveFile(const std::filesystem::path& path) const;

  // A human-checkable fingerprint for reading aloud over the phone: 128 bits
  // of BLAKE2b over the key, as 8 groups of 4 upper-case hex digits,
  // e.g. "3F2A-9C1B-0D4E-77A1-52B0-C3D9-1E6F-A804".
  std::string Fingerprint() const;

  // OK iff `signature` is a valid signature of `message` under `context`.
  absl::Status Verify(std::string_view context, std::string_view message,
                      std::string_view signature) const;

  std::string_view bytes() const {
    return {reinterpret_cast<const char*>(key_.data()), key_.size()};
  }
  friend bool operator==(const IdentityPublicKey&,
                         const IdentityPublicKey&) = default;

 private:
  friend class IdentityKeyPair;
  explicit IdentityPublicKey(const std::array<uint8_t, 32>& key) : key_(key) {}
  std::array<uint8_t, 32> key_;
};

// An Ed25519 identity key pair. Move-only; the secret key is wiped on
// destruction. Const methods are thread-safe.
class IdentityKeyPair {
 public:
  static IdentityKeyPair Generate();
  // Deterministic key pair from a 32-byte seed (RFC 8032 "secret key").
  static absl::StatusOr<IdentityKeyPair> FromSeed(const SecretBytes& seed);

  // Loads a private key file written by SavePrivateKeyFile. Refuses files
  // that the group or others can read or write, with a message telling the
  // operator how to fix the permissions.
  static absl::StatusOr<IdentityKeyPair> LoadPrivateKeyFile(
      const std::filesystem::path& path);
  // Writes the private key with mode 0600, atomically (temporary file +
  // rename). Refuses to overwrite an existing file so a key is never lost.
  absl::Status SavePrivateKeyFile(const std::filesystem::path& path) const;

  const IdentityPublicKey& public_key() const { return public_key_; }

  // Signs `message` under `context` (see ValidateSigningContext). Returns a
  // 64-byte signature.
  absl::StatusOr<std::string> Sign(std::string_view context,
                                   std::string_view message) const;

 private:
  IdentityKeyPair(SecretBytes seed, SecretBytes secret_key,
                  IdentityPublicKey public_key)
      : seed_(std::move(seed)),
        secret_key_(std::move(secret_key)),
        public_key_(public_key) {}

  SecretBytes seed_;        // 32 bytes
  SecretBytes secret_key_;  // libsodium's 64-byte expanded form
  IdentityPublicKey public_key_;
};

}  // namespace kring::crypto

#endif  // KRING_CRYPTO_IDENTITY_H_
